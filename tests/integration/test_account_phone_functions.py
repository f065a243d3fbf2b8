"""The account phone and step-up functions as Lambda runs them, on moto, with codes sent
through the Telnyx emulator. API Gateway's part (the authorizer's user and session in
requestContext.authorizer) is done here by hand, as for the payment functions;
tests/security/test_phone_change.py goes through the local gateway."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from devtools.telnyx_emulator import TelnyxEmulator
from phoneverify.domain.models import User
from phoneverify.domain.passwords import PasswordHasher
from tests.support.function_stack import FunctionStack, function_stack
from tests.support.lambda_env import ROOT, api_event, invoke

PHONE = "+14155550123"
NEW_PHONE = "+14155550188"
PASSWORD = "correct horse battery staple"
OWNER = "demo-user"  # the id of the demo account, as in the sample events
NO_PHONE = "demo-no-phone"
SESSION = "0123456789abcdef0123456789abcdef"  # the jti of the caller's access token
FUNCTIONS = ["account_phone_start", "account_phone_verify", "account_phone_resend"]
REAUTH = ["account_reauth_start", "account_reauth_verify", "account_reauth_resend"]


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch, emulator: TelnyxEmulator) -> Iterator[FunctionStack]:
    directories = [*FUNCTIONS, *REAUTH, "login", "login_verify"]
    # No resend cooldown: a resend is tested, not the wait before it.
    env = {"BCRYPT_COST": "10", "RESEND_COOLDOWN_SECS": "0"}
    with function_stack(monkeypatch, emulator, directories, env) as running:
        hasher = PasswordHasher(cost=4)
        running.users.put_user(
            User(OWNER, "demo@example.com", hasher.hash(PASSWORD), PHONE), phone_verified_at=0
        )
        running.users.put_user(User(NO_PHONE, "nophone@example.com", hasher.hash(PASSWORD)))
        yield running


def as_user(
    stack: FunctionStack,
    name: str,
    body: object,
    user: str | None = OWNER,
    *,
    reauth: str | None = None,
    session: str = SESSION,
) -> tuple[int, dict[str, Any], dict[str, str]]:
    """Call a function as API Gateway does after the authorizer allowed `user` in `session`,
    with `reauth` as the Reauth-Token header."""
    headers = {"Reauth-Token": reauth} if reauth else None
    event = api_event(stack.paths[name], body, headers=headers)
    if user is not None:
        event["requestContext"]["authorizer"] = {
            "principalId": user,
            "user_id": user,
            "jti": session,
        }
    return invoke(stack.functions[name], event)


def stepped_up(stack: FunctionStack, user: str = OWNER, session: str = SESSION) -> str:
    """A reauth token through the step-up functions: the password, then the phone's code."""
    status, started, _ = as_user(
        stack, "account_reauth_start", {"password": PASSWORD}, user, session=session
    )
    assert status == 200, started
    if "reauth_token" in started:
        return str(started["reauth_token"])
    body = {"flow_id": started["flow_id"], "code": stack.code_for(PHONE)}
    status, granted, _ = as_user(stack, "account_reauth_verify", body, user, session=session)
    assert status == 200, granted
    return str(granted["reauth_token"])


def start_change(
    stack: FunctionStack, body: dict[str, str]
) -> tuple[int, dict[str, Any], dict[str, str]]:
    """The demo account's phone change start, after its step-up."""
    return as_user(stack, "account_phone_start", body, reauth=stepped_up(stack))


def test_the_step_up_goes_through_its_three_functions(stack: FunctionStack) -> None:
    # When the password is given
    status, started, _ = as_user(stack, "account_reauth_start", {"password": PASSWORD})
    # Then a code went to the account's phone
    assert status == 200, started
    assert set(started) == {
        "flow_id",
        "factors",
        "phone_hint",
        "timeout_secs",
        "code_length",
        "resend_after_secs",
        "channel",
        "channels",
    }
    assert (started["factors"], started["phone_hint"]) == (["sms"], "+1******0123")
    # and a fresh one on asking, the last one counting
    status, resent, _ = as_user(stack, "account_reauth_resend", {"flow_id": started["flow_id"]})
    assert (status, resent["message"]) == (200, "Code resent"), resent
    # When the code comes back
    body = {"flow_id": started["flow_id"], "code": stack.code_for(PHONE)}
    status, granted, _ = as_user(stack, "account_reauth_verify", body)
    # Then a reauth token of this account and session, for five minutes
    assert (status, set(granted), granted["expires_in"]) == (
        200,
        {"reauth_token", "expires_in", "factors"},
        300,
    ), granted
    assert '"sid":' not in granted["reauth_token"]  # a JWT, not JSON: its claims are signed


def test_a_wrong_password_is_a_401_naming_it_and_sends_nothing(stack: FunctionStack) -> None:
    before = len(stack.emulator.messages(PHONE, include_undelivered=True))
    status, answer, _ = as_user(stack, "account_reauth_start", {"password": "not it"})
    assert (status, answer["code"], answer["field"]) == (401, "invalid_credentials", "password")
    assert len(stack.emulator.messages(PHONE, include_undelivered=True)) == before


def test_an_account_without_a_phone_gets_the_reauth_token_at_once(stack: FunctionStack) -> None:
    status, granted, _ = as_user(stack, "account_reauth_start", {"password": PASSWORD}, NO_PHONE)
    assert (status, granted["factors"], granted["expires_in"]) == (200, [], 300), granted
    body = {"phone_number": NEW_PHONE}
    status, started, _ = as_user(
        stack, "account_phone_start", body, NO_PHONE, reauth=granted["reauth_token"]
    )
    assert status == 200, started


def test_the_password_alone_cannot_start_a_change_of_an_existing_phone(
    stack: FunctionStack,
) -> None:
    body = {"phone_number": NEW_PHONE, "password": PASSWORD}
    status, answer, _ = as_user(stack, "account_phone_start", body)
    assert (status, answer["code"], answer["field"]) == (401, "reauth_required", "Reauth-Token")
    # nor a reauth token of another session of the same account
    token = stepped_up(stack, session="another-session-jti")
    status, answer, _ = as_user(stack, "account_phone_start", body, reauth=token)
    assert (status, answer["code"]) == (401, "reauth_required")
    assert stack.emulator.messages(NEW_PHONE, include_undelivered=True) == []


def test_the_phone_is_changed_through_the_three_functions(stack: FunctionStack) -> None:
    # Given
    status, started, _ = start_change(stack, {"phone_number": "(415) 555-0188"})
    assert status == 200, started
    assert set(started) == {
        "flow_id",
        "phone_hint",
        "timeout_secs",
        "code_length",
        "resend_after_secs",
        "channel",
        "channels",
    }
    assert (started["timeout_secs"], started["channel"]) == (300, "sms")
    # When
    status, changed, _ = as_user(
        stack,
        "account_phone_verify",
        {"flow_id": started["flow_id"], "code": stack.code_for(NEW_PHONE)},
    )
    # Then every earlier token ended with the change, and the caller has a fresh one
    assert status == 200, changed
    assert changed == {
        "phone_changed": True,
        "phone_hint": "+1******0188",
        "added": False,
        "token": changed["token"],
        "token_type": "Bearer",
        "expires_in": 3600,
    }
    account = stack.users.get(OWNER)
    assert account is not None
    assert (account.phone_number, account.phone_generation) == (NEW_PHONE, 1)
    assert account.token_generation == 1
    assert stack.decode(changed["token"])["gen"] == 1
    assert stack.users.find_by_phone(PHONE) is None
    # and the old number is told (once the outbox is swept), by a notice that holds no code,
    # number or link
    assert stack.emulator.notices(PHONE) == []  # the request only kept it
    stack.deliver_notices()
    [notice] = stack.emulator.notices(PHONE)
    assert "code" not in notice
    assert not any(ch.isdigit() for ch in notice["text"])
    assert stack.emulator.notices(NEW_PHONE) == []


def test_start_and_resend_take_the_channel_asked_for(stack: FunctionStack) -> None:
    # Given a change started by a call
    body = {"phone_number": NEW_PHONE, "channel": "call"}
    status, started, _ = start_change(stack, body)
    assert (status, started.get("channel")) == (200, "call"), started
    # When the code is asked for again by SMS
    status, resent, _ = as_user(
        stack, "account_phone_resend", {"flow_id": started["flow_id"], "channel": "sms"}
    )
    # Then each went by the channel asked for, and the SMS code is the one that counts
    assert (status, resent.get("channel")) == (200, "sms"), resent
    sent = stack.emulator.messages(NEW_PHONE, kind="code")
    assert [m["channel"] for m in sent] == ["sms", "call"]  # newest first
    verify = {"flow_id": started["flow_id"], "code": stack.code_for(NEW_PHONE)}
    assert as_user(stack, "account_phone_verify", verify)[0] == 200


def test_without_the_authorizers_user_every_function_answers_401(stack: FunctionStack) -> None:
    bodies = {
        "account_phone_start": {"phone_number": NEW_PHONE, "password": PASSWORD},
        "account_phone_verify": {"flow_id": "f" * 43, "code": "123456"},
        "account_phone_resend": {"flow_id": "f" * 43},
        "account_reauth_start": {"password": PASSWORD},
        "account_reauth_verify": {"flow_id": "f" * 43, "code": "123456"},
        "account_reauth_resend": {"flow_id": "f" * 43},
    }
    for name, body in bodies.items():
        status, answer, _ = as_user(stack, name, body, user=None)
        assert (status, answer["code"]) == (401, "unauthorized"), name


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"password": PASSWORD}, "phone_number"),
        ({"phone_number": NEW_PHONE}, "password"),
        ({"phone_number": "12", "password": PASSWORD}, "phone_number"),
        ({"phone_number": NEW_PHONE, "password": PASSWORD, "user_id": OWNER}, "user_id"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(
    stack: FunctionStack, body: dict[str, str], field: str
) -> None:
    # (an account without a phone: the password form is its own)
    status, answer, _ = as_user(stack, "account_phone_start", body, NO_PHONE)
    assert (status, answer.get("field")) == (400, field), answer
    assert stack.emulator.messages(NEW_PHONE, include_undelivered=True) == []


@pytest.mark.parametrize("name", [*FUNCTIONS, *REAUTH])
def test_every_sample_event_is_understood_by_its_handler(stack: FunctionStack, name: str) -> None:
    # The committed events feed `sam local invoke`; they must stay valid requests.
    event = json.loads((ROOT / "events" / f"{name}.json").read_text())
    status, body, _ = invoke(stack.functions[name], event)
    expected = {
        "account_phone_start": (200, None),
        "account_phone_verify": (400, "no_pending_verification"),
        "account_phone_resend": (400, "no_pending_verification"),
        "account_reauth_start": (200, None),
        "account_reauth_verify": (400, "no_pending_verification"),
        "account_reauth_resend": (400, "no_pending_verification"),
    }[name]
    assert (status, body.get("code")) == expected, body


def test_dynamodb_round_trips_of_a_verified_change(stack: FunctionStack) -> None:
    # Given every DynamoDB call of the verify function recorded
    calls: list[tuple[str, tuple[str, ...]]] = []
    batched: list[str] = []  # PutRequest / DeleteRequest of each batched write

    def record(model: Any, params: dict[str, Any], **_: Any) -> None:
        if "TransactItems" in params:
            tables = {next(iter(i.values()))["TableName"] for i in params["TransactItems"]}
        elif "RequestItems" in params:
            tables = set(params["RequestItems"])
            batched.extend(next(iter(w)) for ws in params["RequestItems"].values() for w in ws)
        else:
            tables = {params.get("TableName", "")}
        calls.append((model.name, tuple(sorted(str(t) for t in tables))))

    _, started, _ = start_change(stack, {"phone_number": NEW_PHONE})
    client = stack.functions["account_phone_verify"].runtime.dynamodb
    client.meta.events.register("before-parameter-build.dynamodb.*", record)
    # When
    body = {"flow_id": started["flow_id"], "code": stack.code_for(NEW_PHONE)}
    assert as_user(stack, "account_phone_verify", body)[0] == 200
    # Then: the attempt counted (the write answers with the flow: no read before it), the
    # account's wrong codes counted in advance, the flow verified with the phone generation
    # checked (one transaction), the code counted as entered for the new number's prefix (the
    # fraud guard), the swap (one transaction), the old number's notice kept in the outbox
    # (one conditional PutItem: its budget, send and audit are functions/notices_deliver's),
    # and, as the request ends, one batch of the wrong codes cleared and the audit events
    # (accepted, phone_changed)
    settings = stack.functions["account_phone_verify"].runtime.settings.model_dump()
    names = {value: key.upper() for key, value in settings.items() if key.endswith("_table")}
    named = [(op, ",".join(sorted(names.get(t, t) for t in tables))) for op, tables in calls]
    assert named == [
        ("UpdateItem", "VERIFICATIONS_TABLE"),
        ("UpdateItem", "RATE_LIMITS_TABLE"),
        ("TransactWriteItems", "USERS_TABLE,VERIFICATIONS_TABLE"),
        ("UpdateItem", "RATE_LIMITS_TABLE"),
        ("TransactWriteItems", "USERS_TABLE"),
        ("PutItem", "NOTICES_OUTBOX_TABLE"),
        ("BatchWriteItem", "AUDIT_TABLE,RATE_LIMITS_TABLE"),
    ]
    assert sorted(batched) == ["DeleteRequest"] + ["PutRequest"] * 2
