"""The account's passkeys in the round-trip table (tests/support/round_trips.py): creation
options, the new credential, the list and a removal, with a software authenticator
(docs/factors.md#passkeys); then a passkey as the second step of a login and of a step-up, for
an account whose only factor it is."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from phoneverify.domain.models import User
from phoneverify.domain.passwords import PasswordHasher
from tests.support.lambda_env import api_event, invoke
from tests.support.passkeys import SoftAuthenticator

if TYPE_CHECKING:
    from tests.support.round_trips import _Measured

FUNCTIONS = ["account_passkeys_options", "account_passkeys", "account_passkeys_remove"]


def measure_passkeys(run: _Measured, user_id: str, reauth: dict[str, str]) -> None:
    """`user_id` signed in, `reauth` its step-up's header."""
    options = run.measure(
        "POST /account/passkeys/options",
        lambda: run.pay("account_passkeys_options", {}, user_id, reauth),
    )
    credential = SoftAuthenticator().create(options)
    added = run.measure(
        "POST /account/passkeys",
        lambda: run.pay("account_passkeys", {"credential": credential}, user_id, reauth),
        expected=201,
    )
    run.measure(
        "GET /account/passkeys",
        lambda: run.stack.call_as(user_id, "account_passkeys", None, method="GET"),
    )
    body = {"passkey_id": added["passkey_id"]}
    run.measure(
        "POST /account/passkeys/remove",
        lambda: run.pay("account_passkeys_remove", body, user_id, reauth),
    )


def measure_passkey_steps(run: _Measured, password: str) -> None:
    """A phoneless account adds a passkey (its step-up: the password alone, it has no second
    factor yet), then logs in and steps up with it."""
    user_id = f"u-{uuid.uuid4().hex[:10]}"
    email = f"{user_id}@example.com"
    run.stack.users.put_user(User(user_id, email, PasswordHasher(cost=4).hash(password)))
    granted = run.pay("account_reauth_start", {"password": password}, user_id)[1]
    reauth = {"Reauth-Token": granted["reauth_token"]}
    key = SoftAuthenticator()
    options = run.pay("account_passkeys_options", {}, user_id, reauth)[1]
    run.pay("account_passkeys", {"credential": key.create(options)}, user_id, reauth)

    login = run.call("login", {"email": email, "password": password})[1]
    flow = {"flow_id": login["flow_id"]}
    functions = run.stack.functions
    options = run.measure(
        "POST /login/passkey/options",
        lambda: invoke(functions["login_verify"], api_event("/login/passkey/options", flow)),
    )
    answer = {**flow, "factor": "passkey", "credential": key.get(options)}
    run.measure("POST /login/verify (passkey)", lambda: run.call("login_verify", answer))

    step = run.pay("account_reauth_start", {"password": password}, user_id)[1]
    flow = {"flow_id": step["flow_id"]}
    options = run.measure(
        "POST /account/reauth/passkey/options",
        lambda: run.stack.call_as(
            user_id, "account_reauth_verify", flow, path="/account/reauth/passkey/options"
        ),
    )
    answer = {**flow, "factor": "passkey", "credential": key.get(options)}
    run.measure(
        "POST /account/reauth/verify (passkey)",
        lambda: run.pay("account_reauth_verify", answer, user_id),
    )
