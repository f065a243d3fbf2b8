"""The person's own data through its functions (docs/privacy.md), on moto's DynamoDB and SSM
with the Telnyx emulator: the export and the deletion behind the step-up (another account's
reauth token is no step-up), the export holding the payments and no secret, and after a
deletion no token, flow or code of the account working, and its email and phone free for a
new account. Every function reads one frozen clock."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import pytest

from devtools.telnyx_emulator import TelnyxEmulator
from phoneverify.domain.models import User
from phoneverify.domain.passwords import PasswordHasher
from tests.support.fakes import FakeClock
from tests.support.function_stack import FunctionStack, function_stack

PHONE = "+14155550123"
PASSWORD = "correct horse battery staple"
OWNER = "leaving-user"
EMAIL = "leaving@example.com"
OTHER = "staying-user"
OTHER_PHONE = "+14155550124"
SMALL = {"amount": "5.00", "currency": "USD", "recipient": "Acme Supplies"}
LARGE = {"amount": "250.00", "currency": "USD", "recipient": "Acme Supplies"}
FUNCTIONS = [
    "account_delete",
    "account_export",
    "account_reauth_start",
    "account_reauth_verify",
    "account_get",
    "login",
    "login_verify",
    "logout",
    "register_start",
    "register_verify",
    "payments_initiate",
    "payments_confirm",
]


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch, emulator: TelnyxEmulator) -> Iterator[FunctionStack]:
    with function_stack(monkeypatch, emulator, FUNCTIONS, {"BCRYPT_COST": "10"}) as running:
        clock = FakeClock(float(int(time.time())))
        for function in running.functions.values():
            function.runtime.clock = clock
        hasher = PasswordHasher(cost=4)
        accounts = [(OWNER, EMAIL, PHONE), (OTHER, "other@example.com", OTHER_PHONE)]
        for user_id, email, phone in accounts:
            running.users.put_user(
                User(user_id, email, hasher.hash(PASSWORD), phone, name="Ada"),
                phone_verified_at=0,
            )
        yield running


def stepped_up(stack: FunctionStack, user: str = OWNER, phone: str = PHONE) -> dict[str, str]:
    status, started, _ = stack.call_as(user, "account_reauth_start", {"password": PASSWORD})
    assert status == 200, started
    body = {"flow_id": started["flow_id"], "code": stack.code_for(phone)}
    status, granted, _ = stack.call_as(user, "account_reauth_verify", body)
    assert status == 200, granted
    return {"Reauth-Token": str(granted["reauth_token"])}


def export(stack: FunctionStack, headers: dict[str, str] | None) -> tuple[int, dict[str, Any]]:
    status, body, _ = stack.call_as(OWNER, "account_export", None, headers, method="GET")
    return status, body


def users_items(stack: FunctionStack) -> list[str]:
    return [item["pk"]["S"] for item in stack.scan("USERS_TABLE")]


def test_export_and_deletion_need_this_accounts_step_up(stack: FunctionStack) -> None:
    # Attack: without fresh authentication, then with another account's reauth token.
    others = stepped_up(stack, OTHER, OTHER_PHONE)
    for headers in (None, {"Reauth-Token": "not-a-token"}, others):
        status, body = export(stack, headers)
        assert (status, body["code"]) == (401, "reauth_required"), body
        status, body, _ = stack.call_as(OWNER, "account_delete", {}, headers)
        assert (status, body["code"]) == (401, "reauth_required"), body
    # The other account's own token, in another session, is no step-up for it either.
    status, body, _ = stack.call_as(OTHER, "account_delete", {}, others, session="f" * 32)
    assert (status, body["code"]) == (401, "reauth_required"), body
    assert f"USER#{OWNER}" in users_items(stack) and f"USER#{OTHER}" in users_items(stack)


def test_the_export_holds_the_payment_and_no_secret(stack: FunctionStack) -> None:
    status, paid, _ = stack.call_as(OWNER, "payments_initiate", SMALL)
    assert status == 200 and paid["status"] == "completed", paid
    status, body = export(stack, stepped_up(stack))
    assert status == 200, body
    assert body["profile"]["email"] == EMAIL and body["profile"]["name"] == "Ada"
    assert body["phone"]["phone_number"] == PHONE
    assert body["factors"]["kinds"] == ["sms"]
    assert [p["payment_id"] for p in body["payments"]] == [paid["payment_id"]]
    assert body["payments"][0]["status"] == "completed"
    events = {event["event"] for event in body["audit_events"]}
    assert {"reauth_granted", "password_accepted"} <= events, events
    text = json.dumps(body)
    assert "password_hash" not in text and "$2b$" not in text
    assert OTHER not in text and OTHER_PHONE not in text


def test_after_deletion_nothing_of_the_account_works_and_its_email_and_phone_are_free(
    stack: FunctionStack, emulator: TelnyxEmulator
) -> None:
    token = stack.sign_in(EMAIL, PASSWORD, PHONE)
    status, pending, _ = stack.call_as(OWNER, "payments_initiate", LARGE)
    assert status == 200 and pending["status"] == "pending", pending
    payment_code = stack.code_for(PHONE)
    status, login, _ = stack.call("login", {"email": EMAIL, "password": PASSWORD})
    assert status == 200 and "flow_id" in login, login
    login_code = stack.code_for(PHONE)
    reauth = stepped_up(stack)

    status, body, _ = stack.call_as(OWNER, "account_delete", {}, reauth)
    assert (status, body) == (200, {"deleted": True})

    # No token, reauth token, flow or code of the account works.
    assert stack.call_as(OWNER, "account_get", None, method="GET")[0] == 401
    assert export(stack, reauth)[0] == 401
    assert stack.call_as(OWNER, "account_delete", {}, reauth)[0] == 401
    logout = stack.call("logout", {}, headers={"Authorization": f"Bearer {token}"})
    assert logout[0] == 401, logout
    status, body, _ = stack.call("login_verify", {"flow_id": login["flow_id"], "code": login_code})
    assert status in (400, 401) and "token" not in body, body
    confirm = {"payment_id": pending["payment_id"], "code": payment_code}
    status, body, _ = stack.call_as(OWNER, "payments_confirm", confirm)
    assert status != 200 and "transaction_id" not in body, body
    payments = {i["payment_id"]["S"]: i for i in stack.scan("PAYMENTS_TABLE")}
    assert payments[pending["payment_id"]]["status"]["S"] == "cancelled"
    status, body, _ = stack.call("login", {"email": EMAIL, "password": PASSWORD})
    assert (status, body["code"]) == (401, "invalid_credentials"), body
    left = users_items(stack)
    assert not [pk for pk in left if OWNER in pk or EMAIL in pk or PHONE in pk], left
    # The last notice waits in the outbox for the number, and the email went.
    outbox = [item["event"]["S"] for item in stack.scan("NOTICES_OUTBOX_TABLE")]
    assert "account_deleted" in outbox, outbox

    # Signing up again with the same email and phone makes a new account.
    form = {"name": "Ada", "email": EMAIL, "phone_number": PHONE, "password": PASSWORD}
    status, started, _ = stack.call("register_start", form)
    assert status == 200, started
    body = {
        "flow_id": started["flow_id"],
        "code": stack.code_for(PHONE),
        "email_code": stack.email_code_for(EMAIL),
    }
    status, registered, _ = stack.call("register_verify", body)
    assert status == 201 and registered["token"], registered
    again = stack.users.find_by_email(EMAIL)
    assert again is not None and again.user_id != OWNER and again.phone_number == PHONE


class Crash(BaseException):
    """The function's process dying: nothing after it runs (not an error it answers)."""


def audit_of(stack: FunctionStack, subject: str) -> list[dict[str, Any]]:
    return [item for item in stack.scan("AUDIT_TABLE") if item["subject"]["S"] == subject]


PERSONAL = ("masked_phone", "source_ip", "user_agent")


def test_a_crash_after_the_transaction_loses_no_notice_and_the_cleanup_is_finished_later(
    stack: FunctionStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    from phoneverify.flows.account_deletion import finish_deletions

    status, pending, _ = stack.call_as(OWNER, "payments_initiate", LARGE)
    assert status == 200 and pending["status"] == "pending", pending
    reauth = stepped_up(stack)
    runtime = stack.functions["account_delete"].runtime
    cleanup = runtime.account_data._cleanup

    def crash(*_: object) -> None:
        raise Crash()

    monkeypatch.setattr(cleanup, "finish", crash)
    with pytest.raises(Crash):
        stack.call_as(OWNER, "account_delete", {}, reauth)

    # The account is gone; the phone's notice waits in the outbox; the marker remains.
    assert f"USER#{OWNER}" not in users_items(stack)
    outbox = [(i["event"]["S"], i["status"]["S"]) for i in stack.scan("NOTICES_OUTBOX_TABLE")]
    assert ("account_deleted", "pending") in outbox, outbox
    markers = [i for i in stack.scan("USERS_TABLE") if i["pk"]["S"] == f"DELETED#{OWNER}"]
    assert len(markers) == 1
    assert EMAIL not in json.dumps(markers) and PHONE not in json.dumps(markers)
    payments = {i["payment_id"]["S"]: i for i in stack.scan("PAYMENTS_TABLE")}
    assert payments[pending["payment_id"]]["status"]["S"] == "pending"
    assert [r for r in audit_of(stack, OWNER) if "source_ip" in r]  # not yet pseudonymised

    # The export of a deleted account is impossible.
    assert export(stack, reauth)[0] == 401

    adapters = runtime.deletion_cleanup_adapters
    assert finish_deletions(**adapters) == 0  # still its request's own to finish
    adapters["clock"].advance(600)
    assert finish_deletions(**adapters) == 1
    assert finish_deletions(**adapters) == 0  # done: nothing left, nothing written again

    payments = {i["payment_id"]["S"]: i for i in stack.scan("PAYMENTS_TABLE")}
    assert payments[pending["payment_id"]]["status"]["S"] == "cancelled"
    assert not [p for p in payments if p == f"exempt#{OWNER}"]
    assert not [i for i in stack.scan("USERS_TABLE") if i["pk"]["S"].startswith("DELETED#")]
    records = audit_of(stack, OWNER)
    assert records and not [r for r in records if any(f in r for f in PERSONAL)], records


def test_after_deletion_the_audit_records_of_the_person_are_pseudonymised(
    stack: FunctionStack,
) -> None:
    status, body, _ = stack.call_as(OWNER, "account_delete", {}, stepped_up(stack))
    assert (status, body) == (200, {"deleted": True})

    records = audit_of(stack, OWNER)
    events = {r["event"]["S"] for r in records}
    assert {"reauth_granted", "account_deleted"} <= events, events
    assert not [r for r in records if any(f in r for f in PERSONAL)], records
    assert not [i for i in stack.scan("USERS_TABLE") if i["pk"]["S"].startswith("DELETED#")]
    # Another person's records keep what they held.
    stepped_up(stack, OTHER, OTHER_PHONE)
    assert all("source_ip" in r for r in audit_of(stack, OTHER))
