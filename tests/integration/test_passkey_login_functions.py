"""Login and the step-up by passkey as Lambda runs them, on moto, with a software authenticator
checked by the real `webauthn` library (docs/factors.md#passkeys): an account without a phone
adds a passkey, then its step-up and its login ask for it (no token from the password alone, no
SMS), through the options routes served by the verify functions."""

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

PASSWORD = "correct horse battery staple"
USER = "passkey-only"
EMAIL = "passkey@example.com"
SESSION = "0123456789abcdef0123456789abcdef"
FUNCTIONS = [
    "account_passkeys_options",
    "account_passkeys",
    "account_passkeys_remove",
    "account_reauth_start",
    "account_reauth_verify",
    "login",
    "login_verify",
]


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch, emulator: TelnyxEmulator) -> Iterator[FunctionStack]:
    with function_stack(monkeypatch, emulator, FUNCTIONS, {"BCRYPT_COST": "10"}) as s:
        s.users.put_user(User(USER, EMAIL, PasswordHasher(cost=4).hash(PASSWORD)))
        yield s


def call(
    stack: FunctionStack,
    name: str,
    body: object,
    *,
    reauth: str | None = None,
    path: str | None = None,
    signed_in: bool = True,
) -> tuple[int, dict[str, Any]]:
    headers = {"Reauth-Token": reauth} if reauth else None
    event = api_event(path or stack.paths[name], body, headers=headers, method="POST")
    if signed_in:
        event["requestContext"]["authorizer"] = {
            "principalId": USER,
            "user_id": USER,
            "jti": SESSION,
        }
    status, answer, _ = invoke(stack.functions[name], event)
    return status, answer


def with_passkey(stack: FunctionStack) -> SoftAuthenticator:
    status, started = call(stack, "account_reauth_start", {"password": PASSWORD})
    assert status == 200 and "reauth_token" in started, started  # no second factor yet
    token = started["reauth_token"]
    status, options = call(stack, "account_passkeys_options", {}, reauth=token)
    assert status == 200, options
    key = SoftAuthenticator()
    status, added = call(
        stack, "account_passkeys", {"credential": key.create(options)}, reauth=token
    )
    assert status == 201, added
    assert len(added["recovery_codes"]) == 10  # the account's first stronger factor
    return key


def test_the_step_up_of_a_passkey_only_account_asks_for_the_passkey(stack: FunctionStack) -> None:
    key = with_passkey(stack)
    # The password alone no longer gives a token
    status, started = call(stack, "account_reauth_start", {"password": PASSWORD})
    assert status == 200, started
    assert "reauth_token" not in started and started["factors"] == ["passkey"]
    # nor can the passkey be removed without it
    status, refused = call(stack, "account_passkeys_remove", {"passkey_id": key.passkey_id})
    assert (status, refused["code"]) == (401, "reauth_required")
    # The passkey answers the step-up, once
    body = {"flow_id": started["flow_id"]}
    status, options = call(
        stack, "account_reauth_verify", body, path="/account/reauth/passkey/options"
    )
    assert status == 200, options
    assertion = key.get(options)
    answer = {"flow_id": started["flow_id"], "factor": "passkey", "credential": assertion}
    status, granted = call(stack, "account_reauth_verify", answer)
    assert status == 200 and granted["factors"] == ["passkey"], granted
    status, again = call(stack, "account_reauth_verify", answer)
    assert status == 400, again
    # and its token removes the passkey
    status, removed = call(
        stack,
        "account_passkeys_remove",
        {"passkey_id": key.passkey_id},
        reauth=granted["reauth_token"],
    )
    assert status == 200, removed


def test_a_login_completes_with_the_passkey_and_sends_no_sms(stack: FunctionStack) -> None:
    key = with_passkey(stack)
    status, login = call(stack, "login", {"email": EMAIL, "password": PASSWORD}, signed_in=False)
    assert status == 200 and login["factors"] == ["passkey"], login
    body = {"flow_id": login["flow_id"]}
    status, options = call(
        stack, "login_verify", body, path="/login/passkey/options", signed_in=False
    )
    assert status == 200, options
    assert [c["id"] for c in options["allowCredentials"]] == [key.passkey_id]
    answer = {"flow_id": login["flow_id"], "factor": "passkey", "credential": key.get(options)}
    status, token = call(stack, "login_verify", answer, signed_in=False)
    assert status == 200 and token["token"], token
    # A replayed assertion on a new login finds its challenge spent: a wrong code
    status, login = call(stack, "login", {"email": EMAIL, "password": PASSWORD}, signed_in=False)
    status, refused = call(
        stack, "login_verify", {**answer, "flow_id": login["flow_id"]}, signed_in=False
    )
    assert (status, refused["code"]) == (401, "invalid_code"), refused
