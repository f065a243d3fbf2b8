"""The local stack's notices poller (devtools/local_stack/notices.py): it invokes
NoticesDeliverFunction with a scheduled event, again after a failed sweep, and never after the
stack stops. A fake gateway records the invocations; events, not sleeps, say when they came."""

from __future__ import annotations

import threading
from typing import Any

import boto3
from moto import mock_aws

from devtools.aws_resources import create_tables
from devtools.local_stack.notices import FUNCTION, SCHEDULED_EVENT, NoticePoller, pending_in
from phoneverify.adapters.dynamo.notices_outbox import DynamoNoticesOutbox
from phoneverify.domain.models import NoticeEvent
from phoneverify.domain.notices import OutboxNotice


class RecordingGateway:
    def __init__(self, fail_first: int = 0) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.fail_first = fail_first
        self.third = threading.Event()
        self._lock = threading.Lock()

    def invoke(self, function_id: str, event: Any, timeout: float | None = None) -> Any:
        with self._lock:
            self.calls.append((function_id, event))
            if len(self.calls) >= 3:
                self.third.set()
            if len(self.calls) <= self.fail_first:
                raise RuntimeError("NoticesDeliverFunction failed (error)")
        return {"outcomes": {}, "oldest_pending_secs": 0}


def test_the_poller_sweeps_on_its_interval_past_a_failure_and_stops_with_the_stack() -> None:
    gateway = RecordingGateway(fail_first=1)
    poller = NoticePoller(gateway, 0.001, lambda: True).start()  # type: ignore[arg-type]
    try:
        assert gateway.third.wait(timeout=30)  # a failed sweep does not stop the next ones
    finally:
        poller.stop()
    seen = len(gateway.calls)
    assert all(call == (FUNCTION, SCHEDULED_EVENT) for call in gateway.calls)
    # and once stopped, it invokes nothing more
    assert not poller._thread.is_alive()
    assert len(gateway.calls) == seen


def test_a_sweep_event_is_no_stream_batch() -> None:
    # functions/notices_deliver tells a sweep from a stream batch by "Records"
    assert "Records" not in SCHEDULED_EVENT


def test_the_poller_invokes_nothing_while_nothing_is_pending() -> None:
    gateway = RecordingGateway()
    looked = threading.Event()
    looks: list[int] = []

    def pending() -> bool:
        looks.append(1)
        if len(looks) >= 3:
            looked.set()
        return False

    poller = NoticePoller(gateway, 0.001, pending).start()  # type: ignore[arg-type]
    try:
        assert looked.wait(timeout=30)
    finally:
        poller.stop()
    assert gateway.calls == []


def test_the_stack_reads_its_own_outbox_for_pending_notices() -> None:
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        create_tables(dynamodb)  # as the local stack does: tables named by their logical ids
        pending = pending_in(dynamodb, "NoticesOutboxTable")
        assert pending() is False
        outbox = DynamoNoticesOutbox(dynamodb, "NoticesOutboxTable")
        outbox.put(OutboxNotice("n-1", "+14155550123", NoticeEvent.PHONE_CHANGED, 1.0))
        assert pending() is True
        outbox.delivered("n-1", 2.0, "msg-1")
        assert pending() is False
