"""Cancel, status and delivery reports: what works on a flow of any kind, by its flow id (or
its provider's verification id), so no kind's policy plays a part.

An observer (flows/live_status.py) is told of each delivery recorded, each cancel and each
flow ended as superseded, so the flow's live-status connections hear of it. The composition
root (runtime/) builds one AnyFlow per function, with the function's observer, and hands the
same one to every `Challenges`: a flow a challenge ends tells its watchers as a cancel does.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence
from enum import StrEnum
from typing import Protocol

from phoneverify.domain.audit_events import VerificationEventType
from phoneverify.domain.clock import Clock
from phoneverify.domain.errors import VerificationNotFound
from phoneverify.domain.models import ChallengeState as ChallengeState  # re-exported
from phoneverify.domain.models import (
    DeliveryStatus,
    FlowKind,
    FlowStatus,
    PendingVerification,
    RequestOrigin,
)
from phoneverify.flows.engine.audit import FlowAudit
from phoneverify.ports.verifications import DeliveryLedger, VerificationStore


def flow_key(flow_id: str) -> str:
    return hashlib.sha256(flow_id.encode("utf-8")).hexdigest()


def challenge_state(record: PendingVerification, now: float) -> ChallengeState:
    """What the holder of the flow id is told about it at `now` (GET /verify/status, the
    live-status push): expiry derived here, as TTL deletion lags by up to two days."""
    status = record.status.value
    if record.status == FlowStatus.PENDING:
        if record.attempts >= record.max_attempts:
            status = FlowStatus.LOCKED.value  # the lock itself is being written
        elif record.is_expired(now):
            status = "expired"
    expires_in = math.floor(record.expires_at - now) if status == "pending" else 0
    delivery = record.delivery_status
    if record.kind == FlowKind.PASSWORD_RESET:
        # A decoy's SMS is never delivered: reporting delivery would tell them apart.
        delivery = DeliveryStatus.UNKNOWN
    return ChallengeState(status, delivery, max(0, expires_in), record.channel)


class FlowObserver(Protocol):
    """Told after a flow changed (flows/live_status.py pushes it to the flow's watchers)."""

    def changed(
        self,
        flow_key: str,
        *,
        delivery: bool,
        watchers: Sequence[str] | None = None,
        record: PendingVerification | None = None,
    ) -> None:
        """The flow under `flow_key` changed: its delivery status (`delivery`) or its state.
        What the change's own write already told is passed on, so it is not read again: the
        flow's live-status `watchers` at that write, the flow as written (`record`).
        Never raises: what changed stays changed whatever becomes of the news."""
        ...


class _NoObserver:
    def changed(
        self,
        flow_key: str,
        *,
        delivery: bool,
        watchers: Sequence[str] | None = None,
        record: PendingVerification | None = None,
    ) -> None:
        return None


class DeliveryUpdate(StrEnum):
    RECORDED = "recorded"  # the flow's delivery status moved forward (its event claimed)
    UNCHANGED = "unchanged"  # ended flow, replaced code, or not a step forward (claimed)
    DUPLICATE = "duplicate"  # the event was claimed before: nothing changed
    NO_FLOW = "no_flow"  # no flow holds this verification id (yet: the index may lag)


class AnyFlow:
    def __init__(
        self,
        *,
        store: VerificationStore,
        audit: FlowAudit,
        clock: Clock,
        observer: FlowObserver | None = None,
    ) -> None:
        self._store = store
        self._audit = audit
        self._clock = clock
        self._observer: FlowObserver = observer or _NoObserver()

    def cancel(self, flow_id: str, origin: RequestOrigin) -> bool:
        """End the flow if it is pending, whatever its kind; False when nothing was pending
        (unknown, used, locked, already cancelled, or gone). Later checks and resends of a
        cancelled flow answer NoPendingVerification.

        The flow id may come from the person (POST /verify/cancel) or from a record that
        keeps it server-side, such as a payment.
        """
        return self._end(flow_key(flow_id), VerificationEventType.CANCELLED, origin)

    def end_superseded(self, record: PendingVerification, origin: RequestOrigin) -> bool:
        """End a flow whose code went to a number the account has left since (a phone
        change): cancelled, audited as phone_superseded, and its watchers told."""
        return self._end(record.flow_key, VerificationEventType.PHONE_SUPERSEDED, origin)

    def _end(self, key: str, event_type: VerificationEventType, origin: RequestOrigin) -> bool:
        record = self._store.cancel(key, self._clock.now())
        if record is None:
            return False
        self._audit.emit(event_type, record, origin)
        self._observer.changed(key, delivery=False, record=record)
        return True

    def status(self, flow_id: str) -> ChallengeState:
        """Where the flow stands, for its holder. Raises VerificationNotFound."""
        record = self._store.get(flow_key(flow_id))
        if record is None:
            raise VerificationNotFound()
        return challenge_state(record, self._clock.now())

    def record_delivery(
        self,
        reports: DeliveryLedger,
        event_id: str,
        verification_id: str,
        delivery: DeliveryStatus,
    ) -> DeliveryUpdate:
        """Note what the provider said about the SMS of `verification_id`, in its event
        `event_id`, taken in once through `reports`.

        Only the flow's current code counts, only while the flow is pending, and only a step
        forward (unknown < sent < a final state): late, replayed and out-of-order reports
        change nothing. Each report's event id is claimed in the very write that applies it,
        so a failure (StorageUnavailable) leaves nothing behind and the provider's retry is
        processed. NO_FLOW claims nothing: the caller may look again.
        """
        keys = self._store.find_by_verification_id(verification_id)
        if not keys:
            return DeliveryUpdate.NO_FLOW
        now = self._clock.now()
        for key in keys:  # one, unless the index still lists an earlier holder of the id
            write = reports.record(event_id, key, verification_id, delivery, now)
            if write.duplicate:
                return DeliveryUpdate.DUPLICATE
            if write.recorded:
                self._observer.changed(key, delivery=True, watchers=write.watchers)
                return DeliveryUpdate.RECORDED
        # No flow takes it: claimed alone, so that a redelivery is a duplicate.
        if reports.claim(event_id, now):
            return DeliveryUpdate.UNCHANGED
        return DeliveryUpdate.DUPLICATE
