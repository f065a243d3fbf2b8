"""The account's email in the round-trip table (tests/support/round_trips.py): the account
read, an email change to a fresh address and its verify, and one to a taken address, which
makes the calls a fresh one makes (docs/email.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tests.support.function_stack import sent_email_code

if TYPE_CHECKING:
    from tests.support.round_trips import _Measured

FUNCTIONS = ["account_get", "account_email_start", "account_email_verify"]


def measure_email(run: _Measured, user_id: str, reauth: dict[str, str]) -> None:
    """`user_id` signed in, `reauth` its step-up's header."""
    run.measure(
        "GET /account", lambda: run.stack.call_as(user_id, "account_get", None, method="GET")
    )
    new = f"new-{user_id}@example.com"
    started = run.measure(
        "POST /account/email/start",
        lambda: run.pay("account_email_start", {"email": new}, user_id, reauth),
    )
    body = {"flow_id": started["flow_id"], "code": sent_email_code(new)}
    run.measure(
        "POST /account/email/verify", lambda: run.pay("account_email_verify", body, user_id)
    )
    # Another account's address: its owner's notice, after the same calls as a fresh one's.
    _, taken = run.account("+14155550133")
    run.measure(
        "POST /account/email/start (taken address)",
        lambda: run.pay("account_email_start", {"email": taken}, user_id, reauth),
    )
    fresh = f"fresh-{user_id}@example.com"
    run.measure(
        "POST /account/email/start (fresh address)",
        lambda: run.pay("account_email_start", {"email": fresh}, user_id, reauth),
    )
