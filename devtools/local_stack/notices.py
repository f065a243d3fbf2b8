"""The notices' delivery, locally (docs/notices.md#locally). moto has no stream triggers and
no schedules, so the local stack runs NoticesDeliverFunction's sweep itself: a poller thread
reads the outbox's pending notices every `interval_secs` and, when there are some, invokes the
function (the very handler Lambda runs, through the gateway's workers) with a scheduled event;
it stops with the stack. Each sweep delivers every notice still pending in the outbox to the
Telnyx emulator's Messaging outbox. (Reading first keeps `make run`'s log free of a sweep a
second.)

Tests set no interval and call `sweep()` when they choose: nothing races the wall clock.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from devtools.local_gateway import LocalGateway
from phoneverify.adapters.dynamo.notices_outbox import DynamoNoticesOutbox

FUNCTION = "NoticesDeliverFunction"
# What EventBridge Scheduler sends (the handler reads only that it is no stream batch).
SCHEDULED_EVENT = {"source": "local.notices", "detail-type": "Scheduled Event", "detail": {}}

log = logging.getLogger(__name__)


def sweep(gateway: LocalGateway) -> dict[str, Any]:
    """One sweep, now: what it delivered, retried and gave up, and the oldest left's age."""
    answer: dict[str, Any] = gateway.invoke(FUNCTION, SCHEDULED_EVENT)
    return answer


def pending_in(dynamodb: Any, table: str) -> Callable[[], bool]:
    """Whether `table` (a NoticesOutboxTable) holds a pending notice: one Query of its sparse
    index, as the sweep reads it."""
    outbox = DynamoNoticesOutbox(dynamodb, table)
    return lambda: bool(outbox.undelivered(1))


class NoticePoller:
    def __init__(
        self, gateway: LocalGateway, interval_secs: float, pending: Callable[[], bool]
    ) -> None:
        self._gateway = gateway
        self._interval = interval_secs
        self._pending = pending
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="notice-poller", daemon=True)

    def start(self) -> NoticePoller:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while not self._stopped.wait(self._interval):
            try:
                if self._pending():
                    sweep(self._gateway)
            except Exception as exc:  # a failed sweep is tried again at the next tick
                log.warning("notice sweep failed: %s", exc)
