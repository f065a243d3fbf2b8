"""The account's passkeys in the round-trip table (tests/support/round_trips.py): creation
options, the new credential, the list and a removal, with a software authenticator
(docs/factors.md#passkeys)."""

from __future__ import annotations

from typing import TYPE_CHECKING

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
