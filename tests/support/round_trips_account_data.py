"""The person's own data in the round-trip table (tests/support/round_trips.py; docs/privacy.md):
an export of an account that paid once, then its deletion with a payment still pending."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from tests.support.round_trips import _Measured

FUNCTIONS = ["account_export", "account_delete"]
PHONE = "+14155550166"
PASSWORD = "correct horse battery staple"  # round_trips.PASSWORD, the accounts' password
SMALL = {"amount": "5.00", "currency": "USD", "recipient": "Corner Cafe"}
LARGE = {"amount": "250.00", "currency": "USD", "recipient": "Acme Supplies"}


def measure_account_data(run: _Measured) -> None:
    user_id, _ = run.account(PHONE)
    assert run.pay("payments_initiate", SMALL, user_id)[0] == 200
    assert run.pay("payments_initiate", LARGE, user_id)[0] == 200
    started = run.pay("account_reauth_start", {"password": PASSWORD}, user_id)[1]
    body = {"flow_id": started["flow_id"], "code": run.stack.code_for(PHONE)}
    granted = run.pay("account_reauth_verify", body, user_id)[1]
    reauth = {"Reauth-Token": granted["reauth_token"]}
    run.measure(
        "GET /account/export",
        lambda: run.stack.call_as(user_id, "account_export", None, reauth, method="GET"),
    )
    run.measure("POST /account/delete", lambda: run.pay("account_delete", {}, user_id, reauth))
