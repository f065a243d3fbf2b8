"""Notices that cannot be dropped (docs/notices.md), attacked through the local stack: an
attacker who spends the SMS budget, then takes the account's phone, cannot keep the old number
from hearing of it. The notice waits in the outbox while the budget is spent and is delivered,
once, when the budget is back and the sweep runs; the audit shows every attempt.

Time is not waited for: the budget's window "turning" is its counters deleted, as the next
window starts without them, and the sweep runs when the test says (NoticesDeliverFunction,
invoked as the schedule would)."""

from __future__ import annotations

import time
from typing import Any

from phoneverify.adapters.event_log import keyed_subject
from phoneverify.domain.notices import notice_subject
from phoneverify.domain.send_limits import window_start
from tests.security.conftest import PASSWORD, LimitedTarget, Target, limited, seed_account
from tests.security.test_audit_log import trail
from tests.security.test_notices import notices_to
from tests.security.test_phone_change import started
from tests.support.accounts import fresh_phone
from tests.support.payments import bearer, token_for
from tests.support.stacks import dynamodb_of

WINDOW = 3_600  # SEND_LIMIT_WINDOW_SECS


def spend_the_budget(target: LimitedTarget, client: Any) -> list[str]:
    """Fill the verified tier's one budget shard, this window and the next (a test running
    across the hour still finds it spent); the keys, to give the budget back."""
    now = time.time()
    keys = [f"global#verified#{window_start(now, WINDOW) + k * WINDOW}#0" for k in (0, 1)]
    for key in keys:
        client.put_item(
            TableName=target.rate_limits_table,
            Item={"pk": {"S": key}, "sends": {"N": "100000"}, "ttl": {"N": str(int(now) + 7200)}},
        )
    return keys


def test_a_spent_budget_delays_the_old_numbers_notice_but_never_drops_it(
    target: Target,
) -> None:
    # Given the owner's account, and an attacker who got through its step-up (a stolen
    # session, the password and the phone's code for a moment) and starts moving it to a
    # number of the attacker's
    account = seed_account(target.stack)
    token = token_for(target.stack, account.email, PASSWORD, account.phone)
    attacker_phone = fresh_phone()
    flow_id = started(target, token, attacker_phone, account)
    code = target.code_for(attacker_phone)
    caps = {"SMS_BUDGET": "100", "SMS_BUDGET_SHARDS": "1"}
    with limited(target.stack, caps) as stack:
        client = dynamodb_of(target.stack.aws_env)
        # and who has spent the service's SMS budget (codes to numbers it pumps)
        spent = spend_the_budget(stack, client)
        # When it finishes the change
        with stack.client("127.0.0.1") as api:
            done = api.post(
                "/account/phone/verify",
                json={"flow_id": flow_id, "code": code},
                headers=bearer(token),
            )
        assert done.status_code == 200, done.text
        # Then the notice cannot go while the budget is spent: it waits, pending
        waiting = stack.deliver_notices()
        assert waiting["outcomes"] == {"retry": 1}
        assert notices_to(target, account.phone) == []
        # and once the budget is back (the next window) the sweep delivers it, once
        for key in spent:
            client.delete_item(TableName=stack.rate_limits_table, Key={"pk": {"S": key}})
        delivered = stack.deliver_notices()
        again = stack.deliver_notices()
    assert delivered["outcomes"] == {"delivered": 1}
    assert again["outcomes"] == {} and again["oldest_pending_secs"] == 0
    [notice] = notices_to(target, account.phone)
    assert "phone number on your account was changed" in notice["text"]
    assert notices_to(target, attacker_phone) == []
    # and the audit shows each attempt, under the old number's keyed digest, never the number
    pepper = target.ssm_value("/phone-verify/dev/hash-pepper").encode()
    events = trail(target, keyed_subject(pepper, notice_subject(account.phone)))  # newest first
    assert [(e["event"], e["detail"].get("reason"), e["detail"]["attempt"]) for e in events] == [
        ("notice_sent", None, "2"),
        ("notice_retried", "sms_budget_exhausted", "1"),
    ]
    assert all(account.phone not in str(e) for e in events)
