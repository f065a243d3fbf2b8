"""Schedules, locally (docs/local-gateway.md#schedules). moto has no EventBridge Scheduler, so
the local stack invokes a scheduled function itself: a thread invokes it every
`interval_secs` (the function the template schedules, through the gateway's workers, with the
event the scheduler sends); it stops with the stack. The local rate may be shorter than the
template's (`rate(5 minutes)`): StackConfig.payment_reconcile_secs.

Tests set no interval and call `LocalStack.reconcile_payments()` when they choose: nothing
races the wall clock. The notices' sweep has its own poller (notices.py), which reads the
outbox first.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from devtools.local_gateway import LocalGateway

RECONCILER = "PaymentsReconcileFunction"
# What EventBridge Scheduler sends (the handler reads none of it).
SCHEDULED_EVENT = {"source": "local.schedule", "detail-type": "Scheduled Event", "detail": {}}

log = logging.getLogger(__name__)


def run_scheduled(gateway: LocalGateway, function_id: str) -> dict[str, Any]:
    """One scheduled invocation of `function_id`, now: its answer."""
    answer: dict[str, Any] = gateway.invoke(function_id, SCHEDULED_EVENT)
    return answer


class ScheduledFunction:
    def __init__(self, gateway: LocalGateway, function_id: str, interval_secs: float) -> None:
        self._gateway = gateway
        self._function = function_id
        self._interval = interval_secs
        self._stopped = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"schedule-{function_id}", daemon=True
        )

    def start(self) -> ScheduledFunction:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        if self._thread.is_alive():
            self._thread.join(timeout=60)

    def _run(self) -> None:
        while not self._stopped.wait(self._interval):
            try:
                answer = run_scheduled(self._gateway, self._function)
                if answer.get("outcomes"):
                    log.info("%s: %s", self._function, answer["outcomes"])
            except Exception as exc:  # a failed run is tried again at the next tick
                log.warning("%s failed: %s", self._function, exc)
