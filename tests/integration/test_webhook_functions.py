"""The Telnyx webhook function URL as Lambda runs it: signed deliveries (the emulator's key,
read from moto's SSM) move a flow's delivery status forward, once, and never for the wrong code
or an ended flow; what GET /verify/status shows is what the person's page would see."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.support.lambda_env import ROOT, invoke
from tests.support.verify_stack import VerifyStack, telnyx_event

INVALID_SIGNATURE = {"error": "Invalid signature", "code": "invalid_signature"}


@pytest.fixture
def stack(shared_verify_stack: VerifyStack) -> VerifyStack:
    """The module's stack, for an account (and phone) no other test uses."""
    return shared_verify_stack.with_new_account()


def delivery_status(stack: VerifyStack, flow_id: str) -> str:
    status: str = stack.status_of(flow_id)["delivery_status"]
    return status


def test_signed_reports_show_up_in_the_status(stack: VerifyStack) -> None:
    # Given a pending login whose SMS went out
    flow_id = stack.login()
    vid = stack.verification_id()
    # When Telnyx reports it sent, then delivered
    sent = stack.deliver(telnyx_event("verify.sent", vid))
    assert delivery_status(stack, flow_id) == "sent"
    delivered = stack.deliver(telnyx_event("verify.delivered", vid))
    # Then
    assert sent == delivered == (200, {"received": True})
    assert stack.status_of(flow_id)["delivery_status"] == "delivered"
    assert stack.status_of(flow_id)["status"] == "pending"


@pytest.mark.parametrize("reported", ["delivery_failed", "sending_failed"])
def test_a_failed_delivery_shows_up_as_telnyx_reported_it(
    stack: VerifyStack, reported: str
) -> None:
    flow_id = stack.login()
    stack.deliver(telnyx_event("verify.failed", stack.verification_id(), delivery_status=reported))
    assert delivery_status(stack, flow_id) == reported


def test_a_repeated_delivery_is_answered_200_and_processed_once(stack: VerifyStack) -> None:
    # Given a report that was taken in
    flow_id = stack.login()
    event_id = str(uuid.uuid4())
    body = telnyx_event("verify.sent", stack.verification_id(), event_id=event_id)
    assert stack.deliver(body)[0] == 200
    before = stack.item(flow_id)
    # When Telnyx delivers it again (its retry, or someone replaying a captured request)
    again = stack.deliver(body)
    # Then it is accepted and changes nothing
    assert again == (200, {"received": True})
    assert stack.item(flow_id) == before
    ledger = stack.ledger_entries(event_id)
    assert len(ledger) == 1
    assert 2.9 * 86_400 < int(ledger[0]["ttl"]["N"]) - time.time() <= 3 * 86_400 + 1


class _Refused:
    status_code = 400


@contextmanager
def storage_failing_once(
    stack: VerifyStack, code: str, reasons: list[str] | None
) -> Iterator[None]:
    """The webhook function's next TransactWriteItems answered with the DynamoDB error `code`
    (a TransactionCanceledException carrying `reasons`, one per item), not made."""
    events = stack.webhook.runtime.dynamodb.meta.events
    pending = [code]

    def fail(**_: Any) -> tuple[_Refused, dict[str, Any]] | None:
        if not pending:
            return None
        response: dict[str, Any] = {"Error": {"Code": pending.pop(), "Message": code}}
        if reasons is not None:
            response["CancellationReasons"] = [{"Code": reason} for reason in reasons]
        return _Refused(), response

    events.register("before-call.dynamodb.TransactWriteItems", fail)
    try:
        yield
    finally:
        events.unregister("before-call.dynamodb.TransactWriteItems", fail)


@pytest.mark.parametrize(
    ("code", "reasons"),
    [
        ("ThrottlingException", None),
        ("TransactionCanceledException", ["None", "ThrottlingError", "None"]),
        ("InternalServerError", None),
    ],
    ids=["throttled", "flow-item-throttled", "internal-error"],
)
def test_a_storage_failure_is_a_503_with_nothing_claimed_and_the_retry_is_processed(
    stack: VerifyStack, code: str, reasons: list[str] | None
) -> None:
    # Given a pending login, and DynamoDB failing the write that takes its report in
    flow_id = stack.login()
    event_id = str(uuid.uuid4())
    body = telnyx_event("verify.delivered", stack.verification_id(), event_id=event_id)
    before = stack.item(flow_id)
    # When Telnyx delivers the report
    with storage_failing_once(stack, code, reasons):
        status, answer = stack.deliver(body)
    # Then it is told to retry, and neither the claim nor the report was written
    assert (status, answer["code"]) == (503, "service_unavailable")
    assert stack.ledger_entries(event_id) == []
    assert stack.item(flow_id) == before
    # And its retry is processed, not mistaken for a duplicate
    assert stack.deliver(body) == (200, {"received": True})
    assert delivery_status(stack, flow_id) == "delivered"
    assert len(stack.ledger_entries(event_id)) == 1


def test_a_report_no_flow_holds_is_claimed_once(stack: VerifyStack) -> None:
    # Given a report about a verification no flow holds (after the bounded lookups)
    event_id = str(uuid.uuid4())
    body = telnyx_event("verify.delivered", str(uuid.uuid4()), event_id=event_id)
    # When it is delivered twice, then both are accepted and the event is claimed once
    assert stack.deliver(body) == stack.deliver(body) == (200, {"received": True})
    assert len(stack.ledger_entries(event_id)) == 1


def test_a_late_sent_does_not_undo_delivered(stack: VerifyStack) -> None:
    # Given a delivered SMS
    flow_id = stack.login()
    vid = stack.verification_id()
    stack.deliver(telnyx_event("verify.delivered", vid))
    # When the earlier verify.sent arrives late, and then a contradicting failure
    late = stack.deliver(telnyx_event("verify.sent", vid))
    contradicting = stack.deliver(telnyx_event("verify.failed", vid))
    # Then both are accepted and ignored: a final state never changes
    assert late[0] == contradicting[0] == 200
    assert delivery_status(stack, flow_id) == "delivered"


def test_a_report_that_is_no_step_forward_is_claimed_so_its_redelivery_is_a_no_op(
    stack: VerifyStack,
) -> None:
    # Given a delivered SMS, and its earlier verify.sent arriving late
    flow_id = stack.login()
    vid = stack.verification_id()
    stack.deliver(telnyx_event("verify.delivered", vid))
    event_id = str(uuid.uuid4())
    late = telnyx_event("verify.sent", vid, event_id=event_id)
    assert stack.deliver(late) == (200, {"received": True})
    before = stack.item(flow_id)
    # When it is redelivered
    assert stack.deliver(late) == (200, {"received": True})
    # Then it was claimed once, and nothing moved
    assert len(stack.ledger_entries(event_id)) == 1
    assert stack.item(flow_id) == before
    assert delivery_status(stack, flow_id) == "delivered"


def test_a_report_about_a_code_replaced_by_a_resend_changes_nothing(stack: VerifyStack) -> None:
    # Given a login whose first code was replaced by a resend
    flow_id = stack.login()
    old_vid = stack.verification_id()
    status, body, _ = stack.call("login_resend", {"flow_id": flow_id})
    assert status == 200, body
    new_vid = stack.verification_id()
    assert new_vid != old_vid
    # When the first code's failure is reported late
    answer = stack.deliver(telnyx_event("verify.failed", old_vid))
    # Then the page is not told the new code failed
    assert answer[0] == 200
    assert delivery_status(stack, flow_id) == "unknown"
    stack.deliver(telnyx_event("verify.delivered", new_vid))
    assert delivery_status(stack, flow_id) == "delivered"


def test_a_resend_starts_the_delivery_status_over(stack: VerifyStack) -> None:
    flow_id = stack.login()
    stack.deliver(telnyx_event("verify.failed", stack.verification_id()))
    assert delivery_status(stack, flow_id) == "delivery_failed"
    stack.call("login_resend", {"flow_id": flow_id})
    assert delivery_status(stack, flow_id) == "unknown"


def test_a_report_for_a_cancelled_flow_changes_nothing(stack: VerifyStack) -> None:
    # Given a login the person cancelled
    flow_id = stack.login()
    vid = stack.verification_id()
    stack.cancel(flow_id)
    before = stack.item(flow_id)
    # When its delivery report arrives
    answer = stack.deliver(telnyx_event("verify.delivered", vid))
    # Then
    assert answer[0] == 200
    assert stack.item(flow_id) == before
    assert stack.status_of(flow_id) == {
        "status": "cancelled",
        "delivery_status": "unknown",
        "expires_in": 0,
        "channel": "sms",
    }


def test_unknown_event_types_and_verifications_are_accepted_and_ignored(
    stack: VerifyStack,
) -> None:
    flow_id = stack.login()
    vid = stack.verification_id()
    assert stack.deliver(telnyx_event("verify.something_new", vid))[0] == 200
    assert stack.deliver(telnyx_event("call.initiated", vid))[0] == 200
    assert stack.deliver(telnyx_event("verify.delivered", str(uuid.uuid4())))[0] == 200
    assert delivery_status(stack, flow_id) == "unknown"


def test_a_base64_encoded_body_is_checked_over_its_raw_bytes(stack: VerifyStack) -> None:
    # Function URLs base64-encode bodies they do not consider text.
    flow_id = stack.login()
    body = telnyx_event("verify.delivered", stack.verification_id())
    assert stack.deliver(body, base64_body=True) == (200, {"received": True})
    assert delivery_status(stack, flow_id) == "delivered"


# -- forgeries ---------------------------------------------------------------------------------
def test_a_forged_delivery_is_refused_and_changes_nothing(stack: VerifyStack) -> None:
    # Given an attacker who knows a verification id but not Telnyx's key
    flow_id = stack.login()
    event_id = str(uuid.uuid4())
    body = telnyx_event("verify.failed", stack.verification_id(), event_id=event_id)
    genuine = stack.emulator.sign_webhook(telnyx_event("verify.sent", stack.verification_id()))
    forgeries = {
        "reused signature": genuine,
        "no signature": {"telnyx-timestamp": genuine["telnyx-timestamp"]},
        "no timestamp": {"telnyx-signature-ed25519": genuine["telnyx-signature-ed25519"]},
        "garbage": {"telnyx-signature-ed25519": "%%%", "telnyx-timestamp": "now"},
    }
    # When / Then
    for name, headers in forgeries.items():
        assert stack.deliver(body, headers) == (401, INVALID_SIGNATURE), name
    assert delivery_status(stack, flow_id) == "unknown"
    assert stack.ledger_entries(event_id) == []


@pytest.mark.parametrize("skew", [-301, 301], ids=["stale", "future"])
def test_a_delivery_signed_too_long_ago_or_ahead_is_refused(stack: VerifyStack, skew: int) -> None:
    flow_id = stack.login()
    body = telnyx_event("verify.delivered", stack.verification_id())
    headers = stack.emulator.sign_webhook(body, timestamp=int(time.time()) + skew)
    assert stack.deliver(body, headers) == (401, INVALID_SIGNATURE)
    assert delivery_status(stack, flow_id) == "unknown"


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"[]", b'{"data": {"event_type": "verify.sent"}}', b"\xff\xfe"],
    ids=["broken", "array", "no-event-id", "not-utf8"],
)
def test_a_signed_body_that_is_not_an_event_is_a_400_not_a_500(
    stack: VerifyStack, body: bytes
) -> None:
    status, answer = stack.deliver(body, base64_body=True)
    assert status == 400
    assert answer["code"] == "invalid_request"


def test_the_sample_event_is_understood_and_refused_for_its_sample_signature(
    stack: VerifyStack,
) -> None:
    # events/webhook_telnyx.json cannot carry a real signature (no key may be committed): its
    # obviously fake one is refused, which is what `sam local invoke` shows.
    event = json.loads((ROOT / "events" / "webhook_telnyx.json").read_text())
    status, body, _ = invoke(stack.webhook, event)
    assert (status, body) == (401, INVALID_SIGNATURE)
