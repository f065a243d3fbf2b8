"""Injected faults: API errors or delays per endpoint, failed deliveries, broken webhooks.

Each fault is armed for ``count`` uses and consumed one use at a time; the first armed fault
that matches wins. :class:`Faults` is not locked itself: the emulator's state holds it under
its own lock.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Endpoint = Literal["send", "verify", "retrieve", "message", "any"]
ENDPOINTS: tuple[str, ...] = ("send", "verify", "retrieve", "message", "any")
DeliveryOutcome = Literal["delivered", "delivery_failed", "sending_failed"]
# "failed" is shorthand for "delivery_failed".
DELIVERY_FAULTS: dict[str, DeliveryOutcome] = {
    "failed": "delivery_failed",
    "delivery_failed": "delivery_failed",
    "sending_failed": "sending_failed",
}
# The first two exercise the receiver's 401; the others what Telnyx's delivery may do to a
# send's events: each sent twice (same event id), in reverse order, after `delay_ms`, or never.
WEBHOOK_FAULTS: tuple[str, ...] = (
    "bad_signature",
    "stale_timestamp",
    "duplicate",
    "reorder",
    "delay",
    "drop",
)


@dataclass
class ApiFault:
    endpoint: str
    status: int | None
    count: int
    delay_ms: int
    apply: str  # "before": fail instead of acting; "after": act, then fail

    def as_dict(self) -> dict[str, Any]:
        return {
            "endpoint": self.endpoint,
            "status": self.status,
            "count": self.count,
            "delay_ms": self.delay_ms,
            "apply": self.apply,
        }


@dataclass
class DeliveryFault:
    outcome: DeliveryOutcome
    count: int
    channel: str | None = None  # only sends by this channel; None: any

    def as_dict(self) -> dict[str, Any]:
        armed: dict[str, Any] = {"delivery": self.outcome, "count": self.count}
        if self.channel is not None:
            armed["channel"] = self.channel
        return armed


@dataclass
class WebhookFault:
    kind: str
    count: int
    delay_ms: int = 0  # "delay" only

    def as_dict(self) -> dict[str, Any]:
        armed: dict[str, Any] = {"webhook": self.kind, "count": self.count}
        if self.kind == "delay":
            armed["delay_ms"] = self.delay_ms
        return armed


@dataclass
class Faults:
    """The armed faults, in arming order."""

    api: list[ApiFault] = field(default_factory=list)
    delivery: list[DeliveryFault] = field(default_factory=list)
    webhook: list[WebhookFault] = field(default_factory=list)

    def armed(self) -> list[dict[str, Any]]:
        every: list[ApiFault | DeliveryFault | WebhookFault] = [
            *self.api,
            *self.delivery,
            *self.webhook,
        ]
        return [f.as_dict() for f in every]

    def take_api(self, endpoint: str) -> ApiFault | None:
        """Consume one use of the first armed fault matching this endpoint."""
        for fault in self.api:
            if fault.endpoint in (endpoint, "any"):
                fault.count -= 1
                if fault.count <= 0:
                    self.api.remove(fault)
                return fault
        return None

    def take_delivery_outcome(self, channel: str) -> DeliveryOutcome:
        """The first armed delivery fault for this channel (or any), consumed once."""
        for fault in self.delivery:
            if fault.channel in (None, channel):
                fault.count -= 1
                if fault.count <= 0:
                    self.delivery.remove(fault)
                return fault.outcome
        return "delivered"

    def take_webhook(self) -> WebhookFault | None:
        if not self.webhook:
            return None
        fault = self.webhook[0]
        fault.count -= 1
        if fault.count <= 0:
            self.webhook.pop(0)
        return WebhookFault(fault.kind, 1, fault.delay_ms)
