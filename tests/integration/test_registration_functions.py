"""The three registration functions as Lambda runs them (with the login functions beside them),
on moto, with codes sent through the Telnyx emulator."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from devtools.aws_resources import LOCAL_ORIGIN
from devtools.telnyx_emulator import TelnyxEmulator
from phoneverify.domain.models import User
from phoneverify.domain.passwords import PasswordHasher
from phoneverify.flows.engine.any_flow import flow_key
from phoneverify.flows.registration import PHONE_HAS_ACCOUNT
from tests.support.function_stack import FunctionStack, function_stack
from tests.support.lambda_env import ROOT, invoke

DEMO_PHONE = "+14155550123"
NEW_PHONE = "+14155550199"
PASSWORD = "analytical engine notes"
FORM = {
    "name": "Ada Lovelace",
    "email": "Ada@Example.com",
    "phone_number": "(415) 555-0199",
    "password": PASSWORD,
}
REGISTRATION = ["register_start", "register_verify", "register_resend"]


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch, emulator: TelnyxEmulator) -> Iterator[FunctionStack]:
    directories = [*REGISTRATION, "login", "login_verify"]
    with function_stack(monkeypatch, emulator, directories, {"BCRYPT_COST": "10"}) as running:
        hasher = PasswordHasher(cost=4)
        running.users.put_user(
            User(
                "u-demo",
                "demo@example.com",
                hasher.hash("correct horse battery staple"),
                DEMO_PHONE,
            ),
            phone_verified_at=0,
        )
        yield running


def codes(
    stack: FunctionStack, flow_id: str, phone: str = NEW_PHONE, email: str = "ada@example.com"
) -> dict[str, str]:
    """A sign-up's verify body: the SMS code to `phone` and the email code to `email`."""
    return {
        "flow_id": flow_id,
        "code": stack.code_for(phone),
        "email_code": stack.email_code_for(email),
    }


def start(stack: FunctionStack, **changes: str) -> str:
    status, body, _ = stack.call("register_start", {**FORM, **changes})
    assert status == 200, body
    flow_id: str = body["flow_id"]
    return flow_id


def test_sign_up_with_the_code_from_the_outbox_creates_the_account(stack: FunctionStack) -> None:
    # Given
    status, started, _ = stack.call("register_start", FORM)
    assert status == 200, started
    assert started["verification_sent"] is True
    assert started["phone_hint"] == "+1******0199"
    assert (started["timeout_secs"], started["code_length"], started["resend_after_secs"]) == (
        600,
        6,
        30,
    )
    # When
    status, body, headers = stack.call(
        "register_verify",
        codes(stack, started["flow_id"]),
        {"Origin": LOCAL_ORIGIN},
    )
    # Then
    assert status == 201, body
    assert set(body) == {"user_id", "token", "token_type", "expires_in"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert stack.decode(body["token"])["sub"] == body["user_id"]
    assert headers.get("Access-Control-Allow-Origin") == LOCAL_ORIGIN
    # and the account holds its email (lower case) and its verified phone
    (item,) = [i for i in stack.scan("USERS_TABLE") if i["pk"]["S"] == f"USER#{body['user_id']}"]
    assert item["email"]["S"] == "ada@example.com"
    assert item["phone_number"]["S"] == NEW_PHONE
    assert item["phone_verified"]["BOOL"] is True
    assert int(item["phone_verified_at"]["N"]) > 0
    keys = {i["pk"]["S"] for i in stack.scan("USERS_TABLE")}
    assert {"EMAIL#ada@example.com", f"PHONE#{NEW_PHONE}"} <= keys
    # and the pending registration kept no password, and keeps no hash now
    (pending,) = stack.scan("VERIFICATIONS_TABLE")
    assert PASSWORD not in json.dumps(pending)
    assert "data" not in pending and pending["status"]["S"] == "verified"
    # and the flow is single use
    status, again, _ = stack.call("register_verify", codes(stack, started["flow_id"]))
    assert (status, again["error"]) == (400, "No pending verification. Start registration again.")


def test_the_new_account_logs_in_with_a_second_factor_on_its_phone(stack: FunctionStack) -> None:
    # Given a registered account
    flow_id = start(stack)
    status, registered, _ = stack.call("register_verify", codes(stack, flow_id))
    assert status == 201, registered
    # When it logs in
    status, login, _ = stack.call("login", {"email": "ada@example.com", "password": PASSWORD})
    # Then a code goes to its new phone, and that code gives a token for it
    assert status == 200, login
    assert login["requires_2fa"] is True and login["phone_hint"] == "+1******0199"
    status, token, _ = stack.call(
        "login_verify", {"flow_id": login["flow_id"], "code": stack.code_for(NEW_PHONE)}
    )
    assert status == 200, token
    assert stack.decode(token["token"])["sub"] == registered["user_id"]


def test_the_code_stays_valid_at_telnyx_for_the_ten_minutes(stack: FunctionStack) -> None:
    # Given a registration whose code is 8 minutes old (login codes last 5)
    flow_id = start(stack)
    stack.emulator.advance_clock(480)
    # When
    status, body, _ = stack.call("register_verify", codes(stack, flow_id))
    # Then
    assert status == 201, body


def test_a_taken_phone_is_told_only_once_both_codes_are_proven(stack: FunctionStack) -> None:
    # Given a fresh sign-up's answer as the reference
    status, fresh, _ = stack.call(
        "register_start", {**FORM, "email": "grace@example.com", "phone_number": "+14155550177"}
    )
    assert status == 200, fresh
    # When a sign-up names a phone that already has an account
    status, started, _ = stack.call("register_start", {**FORM, "phone_number": "+1 415-555-0123"})
    # Then start answers as it did for the fresh one, and the code goes out
    assert status == 200, started
    assert set(started) == set(fresh)
    assert len(stack.emulator.messages(DEMO_PHONE)) == 1
    # When both codes are entered
    status, body, _ = stack.call("register_verify", codes(stack, started["flow_id"], DEMO_PHONE))
    # Then the 409 says the phone is taken, and no account was written
    assert (status, body) == (
        409,
        {"error": PHONE_HAS_ACCOUNT, "code": "phone_taken", "field": "phone_number"},
    )
    users = {i["pk"]["S"]: i["user_id"]["S"] for i in stack.scan("USERS_TABLE")}
    assert users[f"PHONE#{DEMO_PHONE}"] == "u-demo"
    assert "EMAIL#ada@example.com" not in users


def test_a_taken_email_fails_as_a_wrong_email_code_and_its_owner_is_told(
    stack: FunctionStack,
) -> None:
    # Given a sign-up with the demo account's email and a phone of the registrant's
    started = start(stack, email="DEMO@example.com")
    # When the registrant enters the SMS code and a guess of the email code they never got
    status, body, _ = stack.call(
        "register_verify",
        {"flow_id": started, "code": stack.code_for(NEW_PHONE), "email_code": "123456"},
    )
    # Then it is a wrong code, as with any address, and nothing says the email is taken
    assert (status, body["code"], body["attempts_remaining"]) == (401, "invalid_code", 4)
    # and the owner got the "someone tried" notice, without a code
    sent = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages
    (notice,) = [m for m in sent if "demo@example.com" in m.destinations["ToAddresses"]]
    assert "someone tried" in notice.subject and "code is" not in str(notice.body)
    users = {i["pk"]["S"]: i["user_id"]["S"] for i in stack.scan("USERS_TABLE")}
    assert users["EMAIL#demo@example.com"] == "u-demo" and f"PHONE#{NEW_PHONE}" not in users


def test_a_registration_flow_id_is_refused_by_login_verify(stack: FunctionStack) -> None:
    flow_id = start(stack)
    status, body, _ = stack.call(
        "login_verify", {"flow_id": flow_id, "code": stack.code_for(NEW_PHONE)}
    )
    assert (status, body["error"]) == (400, "No pending verification. Start login again.")
    assert not [i for i in stack.scan("USERS_TABLE") if i["pk"]["S"] == f"PHONE#{NEW_PHONE}"]


def test_wrong_codes_then_lockout_with_the_registration_wording(stack: FunctionStack) -> None:
    # Given
    flow_id = start(stack)
    code = stack.code_for(NEW_PHONE)
    wrong = str((int(code) + 1) % 1_000_000).zfill(6)
    # When
    body = {**codes(stack, flow_id), "code": wrong}
    answers = [stack.call("register_verify", body) for _ in range(5)]
    # Then
    assert [(s, b.get("attempts_remaining")) for s, b, _ in answers[:4]] == [
        (401, 4),
        (401, 3),
        (401, 2),
        (401, 1),
    ]
    status, body, headers = answers[4]
    assert (status, headers["Retry-After"]) == (429, "0")
    assert body["error"] == "Too many attempts. Please start the registration again."
    (pending,) = stack.scan("VERIFICATIONS_TABLE")
    assert "data" not in pending


def test_resend_respects_the_cooldown(stack: FunctionStack) -> None:
    flow_id = start(stack)
    status, body, headers = stack.call("register_resend", {"flow_id": flow_id})
    assert status == 429 and body["code"] == "resend_cooldown"
    assert 1 <= int(headers["Retry-After"]) <= 30


def test_telnyx_down_gives_502_and_writes_nothing(stack: FunctionStack) -> None:
    stack.emulator.add_fault(endpoint="send", status=503, count=1)
    status, body, _ = stack.call("register_start", FORM)
    assert (status, body["error"]) == (502, "Failed to send verification code")
    assert stack.scan("VERIFICATIONS_TABLE") == []


@pytest.mark.parametrize(
    ("body", "field", "error"),
    [
        ({}, "name", "All fields required"),
        ({"name": "Ada"}, "email", "All fields required"),
        ({**FORM, "phone_number": ""}, "phone_number", "All fields required"),
        ({**FORM, "password": None}, "password", "All fields required"),
        ({**FORM, "email": "ada@example"}, "email", "Invalid email address"),
        ({**FORM, "phone_number": "+1 800 555 0123"}, "phone_number", None),
        ({**FORM, "password": "password1"}, "password", None),
        ({**FORM, "password": "x" * 1025}, "password", None),
        ({**FORM, "email": 5}, "email", None),
        ({**FORM, "admin": True}, "admin", None),
    ],
)
def test_bad_input_is_a_400_naming_the_field(
    stack: FunctionStack, body: dict[str, object], field: str, error: str | None
) -> None:
    status, answer, _ = stack.call("register_start", body)
    assert status == 400, answer
    assert answer["code"] == "invalid_request" and answer["field"] == field
    if error is not None:
        assert answer["error"] == error
    assert stack.emulator.messages() == []


@pytest.mark.parametrize("name", REGISTRATION)
def test_every_sample_event_is_understood_by_its_handler(stack: FunctionStack, name: str) -> None:
    # The committed events feed `sam local invoke`; they must stay valid requests.
    event = json.loads((ROOT / "events" / f"{name}.json").read_text())
    status, body, _ = invoke(stack.functions[name], event)
    assert status == (200 if name == "register_start" else 400), body
    if name != "register_start":
        assert body["code"] == "no_pending_verification"


def test_the_pending_registration_is_stored_under_a_hash_of_its_flow_id(
    stack: FunctionStack,
) -> None:
    flow_id = start(stack)
    (pending,) = stack.scan("VERIFICATIONS_TABLE")
    assert pending["pk"]["S"] == flow_key(flow_id)
    assert flow_id not in json.dumps(pending)
    assert pending["kind"]["S"] == "registration"
    assert set(pending["data"]["M"]) == {"name", "email", "password_hash", "email_code"}
    assert stack.email_code_for("ada@example.com") not in json.dumps(pending)
