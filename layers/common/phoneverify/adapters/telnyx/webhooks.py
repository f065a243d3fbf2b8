"""Telnyx webhooks: the Ed25519 signature check and the event model.

The use case that takes an event in is `phoneverify.flows.delivery_reports`.

Telnyx signs `f"{telnyx-timestamp}|{raw body}"` with its Ed25519 key; the signature (base64)
is in `telnyx-signature-ed25519`, the unix-seconds timestamp in `telnyx-timestamp`. Nothing in
a body is read before its signature has been checked over the exact bytes received.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from phoneverify.domain import json_input
from phoneverify.domain.clock import Clock
from phoneverify.domain.errors import InvalidRequest, InvalidWebhookSignature
from phoneverify.domain.models import DeliveryStatus, WebhookEvent
from phoneverify.domain.validation import describe_validation_error

SIGNATURE_HEADER = "telnyx-signature-ed25519"
TIMESTAMP_HEADER = "telnyx-timestamp"
TOLERANCE_SECS = 300  # either way: a replayed old delivery and a clock far ahead both fail
_TIMESTAMP = re.compile(r"[0-9]{1,12}")  # ASCII digits only: no sign, spaces or "١٢٣"
ED25519_SIGNATURE_BYTES = 64
ED25519_KEY_BYTES = 32


class WebhookKeyUnusable(RuntimeError):
    """The configured public key is not base64 of a raw 32-byte Ed25519 key (our fault)."""


def public_key_from_b64(value: str) -> Ed25519PublicKey:
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise WebhookKeyUnusable("the webhook public key is not valid base64") from None
    if len(raw) != ED25519_KEY_BYTES:
        raise WebhookKeyUnusable("the webhook public key is not 32 bytes") from None
    return Ed25519PublicKey.from_public_bytes(raw)


class SignatureVerifier:
    """Checks Telnyx's signature and timestamp; `public_key` gives the current base64 key
    (from SSM, cached by the secret source, so a rotated key is picked up)."""

    def __init__(
        self,
        public_key: Callable[[], str],
        clock: Clock,
        tolerance_secs: int = TOLERANCE_SECS,
    ) -> None:
        self._public_key = public_key
        self._clock = clock
        self._tolerance = tolerance_secs
        self._parsed: tuple[str, Ed25519PublicKey] | None = None

    def verify(self, raw_body: bytes, headers: Mapping[str, str]) -> None:
        """Return if the body is Telnyx's and fresh; raise InvalidWebhookSignature otherwise."""
        lowered = {name.lower(): value for name, value in headers.items()}
        signature_b64 = lowered.get(SIGNATURE_HEADER)
        timestamp = lowered.get(TIMESTAMP_HEADER)
        if not isinstance(signature_b64, str) or not isinstance(timestamp, str):
            raise InvalidWebhookSignature(reason="missing signature headers")
        timestamp = timestamp.strip()
        if not _TIMESTAMP.fullmatch(timestamp):
            raise InvalidWebhookSignature(reason="malformed timestamp")
        if abs(self._clock.now() - int(timestamp)) > self._tolerance:
            raise InvalidWebhookSignature(reason="timestamp outside the tolerance")
        try:
            signature = base64.b64decode(signature_b64.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise InvalidWebhookSignature(reason="signature is not base64") from None
        if len(signature) != ED25519_SIGNATURE_BYTES:
            raise InvalidWebhookSignature(reason="signature of the wrong length")
        try:
            self._key().verify(signature, timestamp.encode("ascii") + b"|" + raw_body)
        except InvalidSignature:
            raise InvalidWebhookSignature(reason="signature does not match") from None

    def open(self, raw_body: bytes, headers: Mapping[str, str]) -> WebhookEvent:
        """The event in a body whose signature checks out: InvalidWebhookSignature when it
        does not, InvalidRequest (400) when the signed body is not an event."""
        self.verify(raw_body, headers)
        event = TelnyxEvent.parse(raw_body)
        return WebhookEvent(
            event.event_id, event.event_type, event.verification_id, event.delivery()
        )

    def _key(self) -> Ed25519PublicKey:
        value = self._public_key()
        if self._parsed is None or self._parsed[0] != value:
            self._parsed = (value, public_key_from_b64(value))
        return self._parsed[1]


# -- the event model ---------------------------------------------------------------------------
EventText = Annotated[str, Field(min_length=1, max_length=128)]


class TelnyxEventPayload(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: EventText | None = None
    delivery_status: Annotated[str, Field(max_length=64)] | None = None


class TelnyxEventData(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: EventText
    event_type: EventText
    payload: TelnyxEventPayload | None = None


class TelnyxEventEnvelope(BaseModel):
    """What a Telnyx Verify webhook body must hold (more is ignored)."""

    model_config = ConfigDict(extra="ignore")
    data: TelnyxEventData


@dataclass(frozen=True)
class TelnyxEvent:
    event_id: str
    event_type: str
    verification_id: str | None
    delivery_status: str | None  # as the payload says it

    @classmethod
    def parse(cls, raw_body: bytes) -> TelnyxEvent:
        """The event in a (signed) body; InvalidRequest (400) when it is not one."""
        try:
            document = json_input.loads(raw_body)  # InvalidRequest for a number too long
        except ValueError:  # UnicodeDecodeError is a ValueError
            raise InvalidRequest("Request body is not valid JSON") from None
        try:
            envelope = TelnyxEventEnvelope.model_validate(document)
        except ValidationError as exc:
            message, field = describe_validation_error(exc.errors()[0])
            raise InvalidRequest(message, **({"field": field} if field else {})) from None
        data = envelope.data
        payload = data.payload or TelnyxEventPayload()
        return cls(data.id, data.event_type, payload.id, payload.delivery_status)

    def delivery(self) -> DeliveryStatus | None:
        """The contract's delivery status this event reports; None for other event types."""
        if self.event_type == "verify.sent":
            return DeliveryStatus.SENT
        if self.event_type == "verify.delivered":
            return DeliveryStatus.DELIVERED
        if self.event_type == "verify.failed":
            reported = self.delivery_status
            if reported in FAILURES:
                return DeliveryStatus(reported)
            return DeliveryStatus.DELIVERY_FAILED
        return None


FAILURES = frozenset(
    {
        DeliveryStatus.SENDING_FAILED.value,
        DeliveryStatus.DELIVERY_FAILED.value,
        DeliveryStatus.DELIVERY_UNCONFIRMED.value,
    }
)
