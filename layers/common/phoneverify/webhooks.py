"""Telnyx webhooks: the Ed25519 signature check, the event model, and taking an event in.

Telnyx signs `f"{telnyx-timestamp}|{raw body}"` with its Ed25519 key; the signature (base64)
is in `telnyx-signature-ed25519`, the unix-seconds timestamp in `telnyx-timestamp`. Nothing in
a body is read before its signature has been checked over the exact bytes received.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated

from aws_lambda_powertools import Logger
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from phoneverify.domain.clock import Clock
from phoneverify.domain.errors import InvalidRequest, InvalidWebhookSignature
from phoneverify.domain.models import DeliveryStatus, FlowKind, RequestOrigin, VerificationEventType
from phoneverify.flows.challenges import Challenges, DeliveryUpdate
from phoneverify.ports import WebhookEventLedger

logger = Logger(child=True)
# Who a refused delivery is audited under: the sender is unknown until a signature checks out.
WEBHOOK_SUBJECT = "webhook#telnyx"

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

    def _key(self) -> Ed25519PublicKey:
        value = self._public_key()
        if self._parsed is None or self._parsed[0] != value:
            self._parsed = (value, public_key_from_b64(value))
        return self._parsed[1]


# -- the event model ---------------------------------------------------------------------------
EventText = Annotated[str, Field(min_length=1, max_length=128)]


class _Payload(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: EventText | None = None
    delivery_status: Annotated[str, Field(max_length=64)] | None = None


class _Data(BaseModel):
    model_config = ConfigDict(extra="ignore")
    id: EventText
    event_type: EventText
    payload: _Payload | None = None


class _Envelope(BaseModel):
    model_config = ConfigDict(extra="ignore")
    data: _Data


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
            document = json.loads(raw_body)
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
            raise InvalidRequest("Request body is not valid JSON") from None
        try:
            envelope = _Envelope.model_validate(document)
        except ValidationError as exc:
            error = exc.errors()[0]
            field = ".".join(str(part) for part in error["loc"])
            raise InvalidRequest(f"{field}: {error['msg']}", field=field) from None
        data = envelope.data
        payload = data.payload or _Payload()
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


# -- taking an event in ------------------------------------------------------------------------
class WebhookOutcome(StrEnum):
    RECORDED = "recorded"  # a flow's delivery status moved forward
    UNCHANGED = "unchanged"  # a report about an ended flow, a replaced code, or a step back
    UNKNOWN_VERIFICATION = "unknown_verification"  # no flow holds that verification id
    DUPLICATE = "duplicate"  # this event id was taken in before
    IGNORED = "ignored"  # an event type that carries no delivery report


# The send that triggers a code returns before the flow is written (and a GSI read can lag):
# a report that finds no flow is looked up again after these pauses before it is let go.
LOOKUP_RETRY_DELAYS = (0.1, 0.3, 0.6)


class TelnyxWebhookReceiver:
    def __init__(
        self,
        *,
        verifier: SignatureVerifier,
        ledger: WebhookEventLedger,
        challenges: Challenges,
        clock: Clock,
        lookup_retry_delays: Sequence[float] = LOOKUP_RETRY_DELAYS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._verifier = verifier
        self._ledger = ledger
        self._challenges = challenges
        self._clock = clock
        self.lookup_retry_delays = tuple(lookup_retry_delays)
        self._sleep = sleep

    def receive(
        self, raw_body: bytes, headers: Mapping[str, str], origin: RequestOrigin
    ) -> WebhookOutcome:
        """Check, parse and apply one delivery. Raises InvalidWebhookSignature (401, an
        audited event), InvalidRequest (400), or StorageUnavailable (503: the provider
        retries it)."""
        try:
            self._verifier.verify(raw_body, headers)
        except InvalidWebhookSignature as refused:
            self._challenges.record(
                VerificationEventType.WEBHOOK_SIGNATURE_REJECTED,
                WEBHOOK_SUBJECT,
                origin,
                kind=FlowKind.SESSION,
                reason=refused.reason,
            )
            raise
        event = TelnyxEvent.parse(raw_body)
        delivery = event.delivery()
        if delivery is None or event.verification_id is None:
            outcome = WebhookOutcome.IGNORED
        elif not self._ledger.claim(event.event_id, self._clock.now()):
            outcome = WebhookOutcome.DUPLICATE
        else:
            try:
                outcome = self._apply(event.verification_id, delivery)
            except Exception:
                # Not applied: forget the claim so that the provider's retry is.
                self._ledger.release(event.event_id)
                raise
        logger.info(
            "telnyx webhook",
            extra={
                "event_id": event.event_id,
                "event_type": event.event_type,
                "verification_id": event.verification_id,
                "delivery_status": delivery.value if delivery else None,
                "outcome": outcome.value,
            },
        )
        return outcome

    def _apply(self, verification_id: str, delivery: DeliveryStatus) -> WebhookOutcome:
        for delay in (0.0, *self.lookup_retry_delays):
            if delay:
                self._sleep(delay)
            update = self._challenges.record_delivery(verification_id, delivery)
            if update is DeliveryUpdate.RECORDED:
                return WebhookOutcome.RECORDED
            if update is DeliveryUpdate.UNCHANGED:
                return WebhookOutcome.UNCHANGED
        return WebhookOutcome.UNKNOWN_VERIFICATION
