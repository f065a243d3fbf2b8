"""The lost phone's requests in the round-trip table (tests/support/round_trips.py): a real
start and a decoy's, the email's and the new number's codes, the pending swap read and
cancelled from a session, and its completion before and after the wait (the completing
function's clock set that far ahead)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from tests.support.function_stack import sent_email_code

if TYPE_CHECKING:
    from tests.support.round_trips import _Measured

FUNCTIONS = [
    "lost_phone_start",
    "lost_phone_verify",
    "lost_phone_confirm_phone",
    "lost_phone_complete",
    "account_phone_pending",
    "account_phone_pending_cancel",
]
WAIT = 259_200


class Later:
    """The wall clock, `offset` seconds ahead."""

    def __init__(self) -> None:
        self.offset = 0.0

    def now(self) -> float:
        return time.time() + self.offset


def prove_email(run: _Measured, user_id: str) -> None:
    run.stack.dynamodb.update_item(
        TableName=run.stack.env["USERS_TABLE"],
        Key={"pk": {"S": f"USER#{user_id}"}},
        UpdateExpression="SET email_proven_at = :t",
        ExpressionAttributeValues={":t": {"N": "1"}},
    )


def swap_waiting(run: _Measured, email: str, new_phone: str, *, measured: bool) -> str:
    """Walk the email and the new number; the flow id that completes the swap."""

    def step(endpoint: str, name: str, body: object) -> dict[str, object]:
        if measured:
            return run.measure(endpoint, lambda: run.call(name, body))
        status, answer, _ = run.call(name, body)
        assert status == 200, answer
        return answer

    start = {"email": email, "new_phone": new_phone}
    started = step("POST /password/reset/lost-phone/start (account)", "lost_phone_start", start)
    body = {"flow_id": started["flow_id"], "code": sent_email_code(email)}
    phone_step = step("POST /password/reset/lost-phone/verify", "lost_phone_verify", body)
    body = {"flow_id": phone_step["flow_id"], "code": run.stack.code_for(new_phone)}
    step("POST /password/reset/lost-phone/confirm-phone", "lost_phone_confirm_phone", body)
    return str(phone_step["flow_id"])


def measure_lost_phone(run: _Measured) -> None:
    later = Later()
    run.stack.functions["lost_phone_complete"].runtime.clock = later
    owner, email = run.account("+14155550166")
    prove_email(run, owner)
    unknown = {"email": "nobody@example.com", "new_phone": "+14155550178"}
    run.measure(
        "POST /password/reset/lost-phone/start (unknown email)",
        lambda: run.call("lost_phone_start", unknown),
    )
    flow_id = swap_waiting(run, email, "+14155550167", measured=True)
    run.measure(
        "GET /account/phone/pending",
        lambda: run.stack.call_as(owner, "account_phone_pending", None, method="GET"),
    )
    complete = {"flow_id": flow_id, "new_password": "a brand new passphrase 42"}
    run.measure(
        "POST /password/reset/lost-phone/complete (waiting)",
        lambda: run.call("lost_phone_complete", complete),
        expected=409,
    )
    later.offset = WAIT + 1
    run.measure(
        "POST /password/reset/lost-phone/complete",
        lambda: run.call("lost_phone_complete", complete),
    )
    # Another account's swap, cancelled by its owner from a session.
    other, other_email = run.account("+14155550168")
    prove_email(run, other)
    swap_waiting(run, other_email, "+14155550169", measured=False)
    run.measure(
        "POST /account/phone/pending/cancel",
        lambda: run.stack.call_as(other, "account_phone_pending_cancel", {}),
    )
