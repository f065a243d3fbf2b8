"""The notices' delivery, locally (docs/notices.md#locally). moto has no stream triggers and
no schedules, so the local stack runs NoticesDeliverFunction's sweep itself: a poller thread
invokes the function (the very handler Lambda runs, through the gateway's workers) with a
scheduled event every `interval_secs`, and stops with the stack. Each sweep delivers every
notice still pending in the outbox to the Telnyx emulator's Messaging outbox.

Tests set no interval and call `sweep()` when they choose: nothing races the wall clock.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from devtools.local_gateway import LocalGateway

FUNCTION = "NoticesDeliverFunction"
# What EventBridge Scheduler sends (the handler reads only that it is no stream batch).
SCHEDULED_EVENT = {"source": "local.notices", "detail-type": "Scheduled Event", "detail": {}}

log = logging.getLogger(__name__)


def sweep(gateway: LocalGateway) -> dict[str, Any]:
    """One sweep, now: what it delivered, retried and gave up, and the oldest left's age."""
    answer: dict[str, Any] = gateway.invoke(FUNCTION, SCHEDULED_EVENT)
    return answer


class NoticePoller:
    def __init__(self, gateway: LocalGateway, interval_secs: float) -> None:
        self._gateway = gateway
        self._interval = interval_secs
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
                sweep(self._gateway)
            except Exception as exc:  # a failed sweep is tried again at the next tick
                log.warning("notice sweep failed: %s", exc)
