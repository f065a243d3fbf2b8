"""Notices as Lambda sends them (see function_stack): real handlers with their template
environment on moto, the notice kept in the outbox by the request and delivered by
functions/notices_deliver (its sweep, or a batch of the table's stream) through the Telnyx
emulator's Messaging API. After a password reset, a logout of every session and the lock, the
account's phone has a notice (no code in it); a notice Telnyx refuses never fails the change,
waits, is audited, and goes once Telnyx takes it; a stream record handed over twice sends one
message."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from devtools.telnyx_emulator import TelnyxEmulator
from phoneverify.adapters.dynamo.audit import DynamoAuditTrail
from phoneverify.adapters.dynamo.send_limits import DynamoSendLimits
from phoneverify.adapters.event_log import keyed_subject
from phoneverify.domain.clock import SystemClock
from phoneverify.domain.errors import SendLimitReached
from phoneverify.domain.models import NoticeEvent, RequestOrigin, User
from phoneverify.domain.notices import notice_id, notice_subject
from phoneverify.domain.passwords import PasswordHasher
from phoneverify.domain.send_limits import SendCaps
from tests.support.function_stack import HASH_PEPPER, FunctionStack, function_stack
from tests.support.lambda_env import ROOT, LambdaContext, api_event, invoke
from tests.support.payments import bearer

PHONE = "+14155550123"
PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a brand new passphrase for this account"
MAX_FAILURES = 3  # the account's wrong-code cap in this stack (100 deployed)


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch, emulator: TelnyxEmulator) -> Iterator[FunctionStack]:
    directories = [
        "login",
        "login_verify",
        "logout",
        "password_reset_start",
        "password_reset_verify",
    ]
    extra = {"BCRYPT_COST": "10", "MAX_ACCOUNT_FAILURES": str(MAX_FAILURES)}
    with function_stack(monkeypatch, emulator, directories, extra) as running:
        hasher = PasswordHasher(cost=4)
        running.users.put_user(
            User("u-demo", "demo@example.com", hasher.hash(PASSWORD), PHONE), phone_verified_at=0
        )
        running.users.put_user(User("u-plain", "plain@example.com", hasher.hash(PASSWORD)))
        yield running


def notices(stack: FunctionStack) -> list[dict[str, Any]]:
    """The notices the phone got, once the outbox is swept."""
    stack.deliver_notices()
    found = stack.emulator.notices(PHONE)
    for notice in found:
        assert "code" not in notice
        assert not any(ch.isdigit() for ch in notice["text"])  # no code, no link, no number
    return found


def audited(stack: FunctionStack, subject: str) -> list[dict[str, Any]]:
    trail = DynamoAuditTrail(stack.dynamodb, stack.env["AUDIT_TABLE"], 86_400)
    return trail.events_for(subject)


def reset_password(stack: FunctionStack) -> tuple[int, dict[str, Any]]:
    status, started, _ = stack.call("password_reset_start", {"email": "demo@example.com"})
    assert status == 200, started
    body = {
        "flow_id": started["flow_id"],
        "code": stack.code_for(PHONE),
        "new_password": NEW_PASSWORD,
    }
    status, answer, _ = stack.call("password_reset_verify", body)
    return status, answer


def test_a_password_reset_sends_the_accounts_phone_a_notice(stack: FunctionStack) -> None:
    status, answer = reset_password(stack)
    assert status == 200, answer
    [notice] = notices(stack)
    assert "password was reset" in notice["text"]
    [event] = audited(stack, keyed_subject(HASH_PEPPER.encode(), notice_subject(PHONE)))
    assert (event["event"], event["detail"]["notice"]) == ("notice_sent", "password_reset")
    assert event["masked_phone"] == "+1******0123"


def test_a_notice_telnyx_refuses_does_not_fail_the_reset_and_goes_when_telnyx_is_back(
    stack: FunctionStack,
) -> None:
    # Given Telnyx Messaging down for every try of the notice's first delivery
    stack.emulator.add_fault("message", status=503, count=3)
    # When the owner resets the password
    status, answer = reset_password(stack)
    # Then the reset holds, no notice went out, and the retry is audited
    assert status == 200, answer
    assert notices(stack) == []
    assert stack.sign_in("demo@example.com", NEW_PASSWORD, PHONE)
    subject = keyed_subject(HASH_PEPPER.encode(), notice_subject(PHONE))
    [event] = audited(stack, subject)
    assert event["event"] == "notice_retried"
    assert (event["detail"]["reason"], event["detail"]["telnyx_attempts"]) == ("telnyx_503", "3")
    # and the next sweep, Telnyx back, delivers it
    [notice] = notices(stack)
    assert "password was reset" in notice["text"]
    assert [e["event"] for e in audited(stack, subject)] == ["notice_sent", "notice_retried"]


def test_a_stream_record_handed_over_twice_sends_one_message(stack: FunctionStack) -> None:
    # Given a password reset, whose notice is in the outbox
    status, answer = reset_password(stack)
    assert status == 200, answer
    [item] = stack.scan("NOTICES_OUTBOX_TABLE")
    notice_id = item["pk"]["S"]
    assert PHONE[1:] not in notice_id  # the id names neither the number nor the account
    # When the stream hands its record over twice (a retried batch)
    first = stack.deliver_records([notice_id])
    second = stack.deliver_records([notice_id, notice_id])
    # Then no record failed, one message went out, and the outbox forgot the number
    assert first == second == {"batchItemFailures": []}
    assert len(stack.emulator.notices(PHONE)) == 1
    [item] = stack.scan("NOTICES_OUTBOX_TABLE")
    assert item["status"]["S"] == "delivered" and "phone" not in item


def test_a_record_that_cannot_go_now_fails_in_the_batch_and_stays_pending(
    stack: FunctionStack,
) -> None:
    stack.emulator.add_fault("message", status=503, count=3)
    status, answer = reset_password(stack)
    assert status == 200, answer
    [item] = stack.scan("NOTICES_OUTBOX_TABLE")
    answer = stack.deliver_records([item["pk"]["S"]])
    assert answer == {"batchItemFailures": [{"itemIdentifier": "1"}]}  # Lambda retries it
    [item] = stack.scan("NOTICES_OUTBOX_TABLE")
    assert item["status"]["S"] == "pending" and item["phone"]["S"] == PHONE
    stack.emulator.clear_faults()


def test_a_logout_of_every_session_sends_a_notice_and_one_logout_does_not(
    stack: FunctionStack,
) -> None:
    token = stack.sign_in("demo@example.com", PASSWORD, PHONE)
    status, _, _ = stack.call("logout", {}, bearer(token))
    assert status == 200 and notices(stack) == []
    token = stack.sign_in("demo@example.com", PASSWORD, PHONE)
    status, answer, _ = stack.call("logout", {"all": True}, bearer(token))
    assert status == 200, answer
    [notice] = notices(stack)
    assert "every session" in notice["text"]


def test_an_account_without_a_phone_logs_out_everywhere_without_a_notice(
    stack: FunctionStack,
) -> None:
    token = stack.sign_in("plain@example.com", PASSWORD, PHONE)
    status, _, _ = stack.call("logout", {"all": True}, bearer(token))
    assert status == 200
    assert stack.emulator.messages() == []


def test_the_lock_sends_the_accounts_phone_a_notice(stack: FunctionStack) -> None:
    status, started, _ = stack.call("login", {"email": "demo@example.com", "password": PASSWORD})
    assert status == 200
    wrong = str((int(stack.code_for(PHONE)) + 1) % 1_000_000).zfill(6)
    answers = [
        stack.call("login_verify", {"flow_id": started["flow_id"], "code": wrong})[:2]
        for _ in range(MAX_FAILURES)
    ]
    assert [status for status, _ in answers] == [401] * (MAX_FAILURES - 1) + [429]
    assert answers[-1][1]["code"] == "account_locked"
    [notice] = notices(stack)
    assert "locked" in notice["text"]


def test_notices_count_in_the_sms_budget_and_their_own_cap_not_the_code_limits(
    stack: FunctionStack,
) -> None:
    caps = SendCaps(per_phone=1, notices_per_phone=2, budget=100)
    limits = DynamoSendLimits(stack.dynamodb, stack.env["RATE_LIMITS_TABLE"], caps, SystemClock())
    for _ in range(2):
        limits.admit_notice(PHONE)
    with pytest.raises(SendLimitReached):
        limits.admit_notice(PHONE)
    # The owner's code is still admitted: notices counted nothing per phone for codes
    permit = limits.admit(PHONE, "u-demo", RequestOrigin("203.0.113.9", "pytest"))
    counters: dict[str, int] = {}
    for item in stack.scan("RATE_LIMITS_TABLE"):
        if "sends" in item:  # the budget is counted in shards: their counts add up
            layer = item["pk"]["S"].split("#")[0]
            counters[layer] = counters.get(layer, 0) + int(item["sends"]["N"])
    assert counters["notice"] == 2 and counters["phone"] == 1 and counters["global"] == 3
    limits.release(permit)


def test_the_sample_events_are_a_stream_batch_and_a_sweep(stack: FunctionStack) -> None:
    # events/notices_deliver*.json, as `sam local invoke NoticesDeliverFunction -e` sends them
    for name in ("notices_deliver", "notices_deliver_sweep"):
        event = json.loads((ROOT / "events" / f"{name}.json").read_text())
        answer = stack.deliverer.lambda_handler(event, LambdaContext(function_name=name))
        if name == "notices_deliver":  # its notice is not in this outbox: nothing to retry
            assert answer == {"batchItemFailures": []}
        else:
            assert answer == {"outcomes": {}, "oldest_pending_secs": 0.0}


def test_a_notice_is_named_by_the_request_that_caused_it(stack: FunctionStack) -> None:
    # Given a logout of every session, as API Gateway hands it to the function
    token = stack.sign_in("demo@example.com", PASSWORD, PHONE)
    event = api_event(stack.paths["logout"], {"all": True}, headers=bearer(token))
    # When it is handled
    assert invoke(stack.functions["logout"], event)[0] == 200
    # Then the outbox holds one notice, named by API Gateway's request id, the event and the
    # number: the same request written again (a retry) would write the same id, which the
    # conditional put keeps once (tests/integration/test_notices_outbox_store.py)
    [item] = stack.scan("NOTICES_OUTBOX_TABLE")
    request_id = event["requestContext"]["requestId"]
    assert item["pk"]["S"] == notice_id(request_id, PHONE, NoticeEvent.LOGGED_OUT_EVERYWHERE)
    assert len(notices(stack)) == 1
