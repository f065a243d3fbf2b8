"""Where every flow's events are recorded: an event about one challenge (with its kind,
subject and masked phone) or one that no challenge carries (a password decision, a refused
webhook). Built once per function (runtime/) and handed to the engine and to the use cases
that audit a decision of their own."""

from __future__ import annotations

from typing import Any

from phoneverify.domain.audit_events import VerificationEvent, VerificationEventType
from phoneverify.domain.clock import Clock
from phoneverify.domain.models import FlowKind, PendingVerification, RequestOrigin
from phoneverify.ports.verifications import VerificationEvents


class FlowAudit:
    def __init__(self, *, events: VerificationEvents, clock: Clock) -> None:
        self._events = events
        self._clock = clock

    def record(
        self,
        event_type: VerificationEventType,
        subject: str,
        origin: RequestOrigin,
        *,
        kind: FlowKind,
        **detail: Any,
    ) -> None:
        """An event that no challenge carries (a password decision, a refused webhook)."""
        self._publish(event_type, kind, subject, "", origin, detail)

    def emit(
        self,
        event_type: VerificationEventType,
        record: PendingVerification,
        origin: RequestOrigin,
        **detail: Any,
    ) -> None:
        """An event about one challenge, with its kind, subject and masked phone."""
        # phonenumbers loads with the first event, not with every function that reads a flow
        # (status, cancel, the WebSocket functions: docs/performance.md)
        from phoneverify.domain.emails import mask_email
        from phoneverify.domain.phones import mask_phone

        # A code by email (the lost phone's) goes to an address: masked as one, never in full.
        if "@" in record.phone_number:
            masked = mask_email(record.phone_number)
        else:
            masked = mask_phone(record.phone_number)
        self._publish(event_type, record.kind, record.subject, masked, origin, detail)

    def _publish(
        self,
        event_type: VerificationEventType,
        kind: FlowKind,
        subject: str,
        masked_phone: str,
        origin: RequestOrigin,
        detail: dict[str, Any],
    ) -> None:
        self._events.record(
            VerificationEvent(
                type=event_type,
                kind=kind,
                subject=subject,
                masked_phone=masked_phone,
                at=self._clock.now(),
                origin=origin,
                detail=detail,
            )
        )
