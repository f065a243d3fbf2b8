"""The account's passkey functions as Lambda runs them, on moto, with a software authenticator
checked by the real `webauthn` library (docs/factors.md#passkeys): add behind the step-up,
list, remove behind the step-up with its notice kept in the outbox. API Gateway's part (the
authorizer's user and session) is done by hand, as in test_account_phone_functions.py."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from devtools.telnyx_emulator import TelnyxEmulator
from phoneverify.domain.models import User
from phoneverify.domain.passwords import PasswordHasher
from tests.support.function_stack import FunctionStack, function_stack
from tests.support.lambda_env import api_event, invoke
from tests.support.passkeys import SoftAuthenticator

PHONE = "+14155550123"
PASSWORD = "correct horse battery staple"
OWNER = "demo-user"
OTHER = "demo-no-phone"
SESSION = "0123456789abcdef0123456789abcdef"
PASSKEYS = ["account_passkeys_options", "account_passkeys", "account_passkeys_remove"]
REAUTH = ["account_reauth_start", "account_reauth_verify"]
OPTIONS = "/payments/passkey/options"  # served by the confirm's function
PAYMENTS = ["payments_initiate", "payments_confirm"]


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch, emulator: TelnyxEmulator) -> Iterator[FunctionStack]:
    with function_stack(
        monkeypatch, emulator, [*PASSKEYS, *REAUTH, *PAYMENTS], {"BCRYPT_COST": "10"}
    ) as s:
        hasher = PasswordHasher(cost=4)
        s.users.put_user(
            User(OWNER, "demo@example.com", hasher.hash(PASSWORD), PHONE), phone_verified_at=0
        )
        s.users.put_user(User(OTHER, "nophone@example.com", hasher.hash(PASSWORD)))
        yield s


def call(
    stack: FunctionStack,
    name: str,
    body: object,
    *,
    user: str = OWNER,
    reauth: str | None = None,
    method: str = "POST",
    path: str | None = None,
) -> tuple[int, dict[str, Any]]:
    headers = {"Reauth-Token": reauth} if reauth else None
    event = api_event(path or stack.paths[name], body, headers=headers, method=method)
    event["requestContext"]["authorizer"] = {"principalId": user, "user_id": user, "jti": SESSION}
    status, answer, _ = invoke(stack.functions[name], event)
    return status, answer


def stepped_up(stack: FunctionStack, user: str = OWNER) -> str:
    status, started = call(stack, "account_reauth_start", {"password": PASSWORD}, user=user)
    assert status == 200, started
    if "reauth_token" in started:
        return str(started["reauth_token"])
    body = {"flow_id": started["flow_id"], "code": stack.code_for(PHONE)}
    status, granted = call(stack, "account_reauth_verify", body, user=user)
    assert status == 200, granted
    return str(granted["reauth_token"])


def add_passkey(
    stack: FunctionStack, reauth: str, user: str = OWNER
) -> tuple[SoftAuthenticator, int, dict[str, Any]]:
    status, options = call(stack, "account_passkeys_options", {}, user=user, reauth=reauth)
    assert status == 200, options
    authenticator = SoftAuthenticator()
    body = {"credential": authenticator.create(options)}
    status, added = call(stack, "account_passkeys", body, user=user, reauth=reauth)
    return authenticator, status, added


def test_a_passkey_is_added_listed_and_removed_with_a_notice(stack: FunctionStack) -> None:
    reauth = stepped_up(stack)
    # When the browser answers the creation options
    authenticator, status, added = add_passkey(stack, reauth)
    # Then it is kept and listed, without its key
    assert status == 201, added
    assert added["passkey_id"] == authenticator.passkey_id
    status, listed = call(stack, "account_passkeys", None, method="GET")
    assert status == 200
    assert [p["passkey_id"] for p in listed["passkeys"]] == [authenticator.passkey_id]
    assert set(listed["passkeys"][0]) == {"passkey_id", "created_at", "last_used_at", "transports"}
    # When it is removed, Then it is gone and the owner's notice waits in the outbox
    body = {"passkey_id": authenticator.passkey_id}
    status, removed = call(stack, "account_passkeys_remove", body, reauth=reauth)
    assert (status, removed) == (200, {"removed": True})
    assert call(stack, "account_passkeys", None, method="GET")[1] == {"passkeys": []}
    status, again = call(stack, "account_passkeys_remove", body, reauth=reauth)
    assert (status, again["code"]) == (404, "passkey_not_found")


def test_adding_or_removing_without_the_step_up_is_refused(stack: FunctionStack) -> None:
    status, refused = call(stack, "account_passkeys_options", {})
    assert (status, refused["code"]) == (401, "reauth_required")
    authenticator, _, _ = add_passkey(stack, stepped_up(stack))
    body = {"passkey_id": authenticator.passkey_id}
    status, refused = call(stack, "account_passkeys_remove", body)
    assert (status, refused["code"]) == (401, "reauth_required")
    # another account's step-up does not reach this account's passkey
    status, refused = call(
        stack, "account_passkeys_remove", body, user=OTHER, reauth=stepped_up(stack, OTHER)
    )
    assert (status, refused["code"]) == (404, "passkey_not_found")


def test_a_replayed_attestation_and_a_malformed_credential_are_4xx(stack: FunctionStack) -> None:
    reauth = stepped_up(stack)
    status, options = call(stack, "account_passkeys_options", {}, reauth=reauth)
    credential = SoftAuthenticator().create(options)
    assert call(stack, "account_passkeys", {"credential": credential}, reauth=reauth)[0] == 201
    status, replayed = call(stack, "account_passkeys", {"credential": credential}, reauth=reauth)
    assert (status, replayed["code"]) == (401, "passkey_rejected")
    broken = {**credential, "response": {"clientDataJSON": "!!", "attestationObject": "x"}}
    status, bad = call(stack, "account_passkeys", {"credential": broken}, reauth=reauth)
    assert (status, bad["code"]) == (400, "invalid_request")
    status, bad = call(stack, "account_passkeys", {"credential": "nope"}, reauth=reauth)
    assert status == 400


def payments_table(stack: FunctionStack) -> str:
    return str(stack.functions["payments_confirm"].runtime.settings.payments_table)


def test_a_payment_is_confirmed_by_a_passkey_signature_bound_to_it(stack: FunctionStack) -> None:
    authenticator, status, _ = add_passkey(stack, stepped_up(stack))
    assert status == 201
    order = {"amount": "250.00", "currency": "USD", "recipient": "Acme Supplies"}
    status, started = call(stack, "payments_initiate", order)
    assert (status, started["requires_verification"]) == (200, True), started
    payment_id = started["payment_id"]
    status, options = call(stack, "payments_confirm", {"payment_id": payment_id}, path=OPTIONS)
    assert status == 200, options
    signed = authenticator.get(options)
    body = {"payment_id": payment_id, "factor": "passkey", "credential": signed}
    status, done = call(stack, "payments_confirm", body)
    assert (status, done["status"]) == (200, "completed"), done
    # Attack: the same signature again
    status, again = call(stack, "payments_confirm", body)
    assert (status, again["code"]) == (400, "payment_not_pending")


def test_a_signature_is_refused_after_the_stored_amount_changed(stack: FunctionStack) -> None:
    authenticator, _, _ = add_passkey(stack, stepped_up(stack))
    order = {"amount": "250.00", "currency": "USD", "recipient": "Acme Supplies"}
    payment_id = call(stack, "payments_initiate", order)[1]["payment_id"]
    options = call(stack, "payments_confirm", {"payment_id": payment_id}, path=OPTIONS)[1]
    signed = authenticator.get(options)
    # the stored amount changes between the options and the confirm
    stack.dynamodb.update_item(
        TableName=payments_table(stack),
        Key={"payment_id": {"S": payment_id}},
        UpdateExpression="SET amount = :a",
        ExpressionAttributeValues={":a": {"S": "2500.00"}},
    )
    body = {"payment_id": payment_id, "factor": "passkey", "credential": signed}
    status, refused = call(stack, "payments_confirm", body)
    assert (status, refused["code"]) == (401, "passkey_rejected")
    # a passkey confirmation without its credential is a 400 naming it
    status, bad = call(stack, "payments_confirm", {"payment_id": payment_id, "factor": "passkey"})
    assert (status, bad.get("field")) == (400, "credential"), bad
