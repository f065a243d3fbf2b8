"""Verifications, the outbox (SMS, voice calls, WhatsApp messages) and injected faults,
behind one lock.

Request bodies are validated here the way the Verify API does, so the HTTP layer only
routes, authenticates and serialises.
"""

from __future__ import annotations

import hmac
import re
import secrets
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from devtools.telnyx_emulator import errors
from devtools.telnyx_emulator.config import EmulatorConfig

E164 = re.compile(r"^\+[1-9][0-9]{1,14}$")
_CUSTOM_CODE = re.compile(r"^[0-9]{1,32}$")

Endpoint = Literal["send", "verify", "retrieve", "message", "any"]
ENDPOINTS: tuple[str, ...] = ("send", "verify", "retrieve", "message", "any")
MAX_TEXT_CHARS = 1_600  # Telnyx's limit for one SMS body (10 parts)
DeliveryOutcome = Literal["delivered", "delivery_failed", "sending_failed"]
# "failed" is shorthand for "delivery_failed".
DELIVERY_FAULTS: dict[str, DeliveryOutcome] = {
    "failed": "delivery_failed",
    "delivery_failed": "delivery_failed",
    "sending_failed": "sending_failed",
}
WEBHOOK_FAULTS: tuple[str, ...] = ("bad_signature", "stale_timestamp")
# The trigger endpoints (POST /v2/verifications/<channel>) and the record `type` each makes.
Channel = Literal["sms", "call", "whatsapp"]
CHANNELS: tuple[str, ...] = ("sms", "call", "whatsapp")
# What reaches the person, by channel: a call reads the digits out one by one; WhatsApp
# sends Meta's authentication template.
CALL_TEMPLATE = "Your verification code is {digits}. Again: {digits}."
WHATSAPP_TEMPLATE = "{code} is your verification code. For your security, do not share this code."


def record_time(ts: float) -> str:
    """Timestamp as Telnyx writes created_at/updated_at: naive UTC, microseconds."""
    return datetime.fromtimestamp(ts, UTC).replace(tzinfo=None).isoformat(timespec="microseconds")


def event_time(ts: float) -> str:
    """Timestamp as Telnyx writes a webhook's occurred_at: milliseconds with offset."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")


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

    def as_dict(self) -> dict[str, Any]:
        return {"webhook": self.kind, "count": self.count}


@dataclass
class VerificationRecord:
    id: str
    phone_number: str
    verify_profile_id: str
    code: str
    custom_code: str | None
    timeout_secs: int
    requested_timeout_secs: int | None
    created: float
    updated: float
    status: str = "pending"
    failed_attempts: int = 0
    type: str = "sms"  # the channel it was triggered by

    def refresh(self, now: float) -> None:
        """A pending verification past its timeout turns expired."""
        if self.status == "pending" and now - self.created >= self.timeout_secs:
            self.status = "expired"
            self.updated = self.created + self.timeout_secs

    def as_api(self) -> dict[str, Any]:
        # Exactly the fields of the SDK's `Verification` model, in the order of the
        # "Trigger SMS verification" response sample.
        return {
            "id": self.id,
            "type": self.type,
            "record_type": "verification",
            "phone_number": self.phone_number,
            "verify_profile_id": self.verify_profile_id,
            "custom_code": self.custom_code,
            "timeout_secs": self.timeout_secs,
            "status": self.status,
            "created_at": record_time(self.created),
            "updated_at": record_time(self.updated),
        }

    def as_event_payload(self, delivery_status: str) -> dict[str, Any]:
        # Fields of the "Delivery status Payload" sample in "Receiving Webhooks for
        # Telnyx Verify"; timeout_secs is null there when the request did not set it.
        return {
            "created_at": record_time(self.created),
            "custom_code": self.custom_code,
            "delivery_status": delivery_status,
            "extension": None,
            "failed_attempts": self.failed_attempts,
            "id": self.id,
            "mccmnc": None,
            "phone_number": self.phone_number,
            "profile_id": self.verify_profile_id,
            "record_type": "verification",
            "status": self.status,
            "timeout_secs": self.requested_timeout_secs,
            "type": self.type,
            "updated_at": record_time(self.updated),
        }


@dataclass(frozen=True)
class OutboxMessage:
    phone_number: str
    code: str
    verification_id: str
    verify_profile_id: str
    created: float
    text: str
    delivery_status: DeliveryOutcome
    channel: str = "sms"

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": "code",
            "channel": self.channel,
            "phone_number": self.phone_number,
            "code": self.code,
            "verification_id": self.verification_id,
            "created_at": record_time(self.created),
            "text": self.text,
            "verify_profile_id": self.verify_profile_id,
            "delivery_status": self.delivery_status,
        }


@dataclass(frozen=True)
class OutboxNotice:
    """A message sent through the Messaging API (POST /v2/messages): no code in it."""

    phone_number: str
    message_id: str
    sender: str  # the `from` number or the messaging profile id
    created: float
    text: str
    delivery_status: DeliveryOutcome = "delivered"
    channel: str = "sms"  # notices are plain SMS

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": "notice",
            "channel": self.channel,
            "phone_number": self.phone_number,
            "message_id": self.message_id,
            "from": self.sender,
            "created_at": record_time(self.created),
            "text": self.text,
            "delivery_status": self.delivery_status,
        }


@dataclass(frozen=True)
class SentMessage:
    """A POST /v2/messages that was accepted: its record as the API answers it."""

    record: dict[str, Any]
    message: OutboxNotice


@dataclass(frozen=True)
class SendResult:
    """What a trigger produced: the API record and what the webhooks must say."""

    verification: dict[str, Any]
    events: list[tuple[str, dict[str, Any]]]  # (event_type, payload), in sending order
    occurred: float
    webhook_fault: str | None


@dataclass
class _Faults:
    api: list[ApiFault] = field(default_factory=list)
    delivery: list[DeliveryFault] = field(default_factory=list)
    webhook: list[WebhookFault] = field(default_factory=list)


def _require_object(body: Any) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise errors.malformed_body("The request body must be a JSON object.")
    return body


def _require_string(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    if value is None or value == "":
        raise errors.missing_parameter(name)
    if not isinstance(value, str):
        raise errors.invalid_parameter(name, f"The '{name}' parameter must be a string.")
    return value


class EmulatorState:
    def __init__(self, config: EmulatorConfig) -> None:
        self._config = config
        self._lock = threading.Lock()
        self._clock_offset = 0.0
        self._verifications: dict[str, VerificationRecord] = {}
        self._outbox: list[OutboxMessage | OutboxNotice] = []
        self._sent_by_key: dict[str, SentMessage] = {}  # Idempotency-Key -> the first answer
        self._faults = _Faults()

    # -- time -----------------------------------------------------------------

    def now(self) -> float:
        with self._lock:
            return self._now()

    def _now(self) -> float:
        return self._config.clock() + self._clock_offset

    def advance_clock(self, secs: float) -> dict[str, Any]:
        with self._lock:
            self._clock_offset += secs
            return self._clock_view()

    def clock_view(self) -> dict[str, Any]:
        with self._lock:
            return self._clock_view()

    def _clock_view(self) -> dict[str, Any]:
        now = self._now()
        return {"now": event_time(now), "unix": now, "offset_secs": self._clock_offset}

    # -- Verify API -----------------------------------------------------------

    def trigger_sms(self, raw_body: Any) -> SendResult:
        return self.trigger("sms", raw_body)

    def trigger(self, channel: str, raw_body: Any) -> SendResult:
        """POST /v2/verifications/{sms,call,whatsapp}: the same body and record; the
        message in the outbox says the code as that channel would."""
        body = _require_object(raw_body)
        phone = _require_string(body, "phone_number")
        if not E164.match(phone):
            raise errors.invalid_phone_number(pointer="/phone_number")
        profile_id = _require_string(body, "verify_profile_id")
        self._require_profile(profile_id)

        custom_code = body.get("custom_code")
        if custom_code is not None and (
            not isinstance(custom_code, str) or not _CUSTOM_CODE.match(custom_code)
        ):
            raise errors.invalid_parameter(
                "custom_code", "The 'custom_code' parameter must be a numeric string."
            )
        requested_timeout = body.get("timeout_secs")
        if requested_timeout is not None and (
            isinstance(requested_timeout, bool)
            or not isinstance(requested_timeout, int)
            or requested_timeout < 1
        ):
            raise errors.invalid_parameter(
                "timeout_secs", "The 'timeout_secs' parameter must be a positive integer."
            )

        code = custom_code or self._generate_code()
        with self._lock:
            now = self._now()
            record = VerificationRecord(
                id=str(uuid.uuid4()),
                phone_number=phone,
                verify_profile_id=profile_id,
                code=code,
                custom_code=custom_code,
                timeout_secs=requested_timeout or self._config.timeout_secs,
                requested_timeout_secs=requested_timeout,
                created=now,
                updated=now,
                type=channel,
            )
            self._verifications[record.id] = record
            outcome = self._take_delivery_outcome(channel)
            self._outbox.append(
                OutboxMessage(
                    phone_number=phone,
                    code=code,
                    verification_id=record.id,
                    verify_profile_id=profile_id,
                    created=now,
                    text=self._message_text(channel, code),
                    delivery_status=outcome,
                    channel=channel,
                )
            )
            events: list[tuple[str, dict[str, Any]]] = []
            if outcome != "sending_failed":
                events.append(("verify.sent", record.as_event_payload("sent")))
            if outcome == "delivered":
                events.append(("verify.delivered", record.as_event_payload("delivered")))
            else:
                events.append(("verify.failed", record.as_event_payload(outcome)))
            return SendResult(
                verification=record.as_api(),
                events=events,
                occurred=now,
                webhook_fault=self._take_webhook_fault(),
            )

    def retrieve(self, verification_id: str) -> dict[str, Any]:
        with self._lock:
            record = self._find(verification_id)
            record.refresh(self._now())
            return record.as_api()

    def list_by_phone_number(self, phone: str) -> dict[str, Any]:
        if not E164.match(phone):
            raise errors.invalid_phone_number(parameter="phone_number")
        with self._lock:
            now = self._now()
            found = [r for r in self._verifications.values() if r.phone_number == phone]
            for record in found:
                record.refresh(now)
            found.sort(key=lambda r: r.created, reverse=True)
            data = [r.as_api() for r in found]
        meta = {
            "page_number": 1,
            "page_size": max(len(data), 1),
            "total_pages": 1,
            "total_results": len(data),
        }
        return {"data": data, "meta": meta}

    def verify_by_id(self, verification_id: str, raw_body: Any) -> dict[str, Any]:
        body = _require_object(raw_body)
        code = body.get("code")
        status = body.get("status")
        if code is None and status is None:
            raise errors.missing_parameter("code")
        if code is not None and not isinstance(code, str):
            raise errors.invalid_parameter("code", "The 'code' parameter must be a string.")
        if status is not None and status not in ("accepted", "rejected"):
            raise errors.invalid_parameter(
                "status", "The 'status' parameter must be 'accepted' or 'rejected'."
            )
        with self._lock:
            record = self._find(verification_id)
            if status is not None and record.custom_code is None:
                raise errors.invalid_parameter(
                    "status", "'status' is only permitted if custom_code was used."
                )
            return self._check(record, code, status)

    def verify_by_phone_number(self, phone: str, raw_body: Any) -> dict[str, Any]:
        if not E164.match(phone):
            raise errors.invalid_phone_number(parameter="phone_number")
        body = _require_object(raw_body)
        code = _require_string(body, "code")
        profile_id = _require_string(body, "verify_profile_id")
        self._require_profile(profile_id)
        with self._lock:
            candidates = [
                r
                for r in self._verifications.values()
                if r.phone_number == phone and r.verify_profile_id == profile_id
            ]
            if not candidates:
                raise errors.not_found()
            newest = max(candidates, key=lambda r: r.created)
            return self._check(newest, code, None)

    def _check(
        self, record: VerificationRecord, code: str | None, status: str | None
    ) -> dict[str, Any]:
        now = self._now()
        record.refresh(now)
        accepted = False
        if record.status == "pending":
            if status is not None:
                accepted = status == "accepted"
            else:
                accepted = code is not None and hmac.compare_digest(
                    code.encode(), record.code.encode()
                )
            if accepted:
                record.status = "accepted"
            else:
                record.failed_attempts += 1
            record.updated = now
        return {
            "phone_number": record.phone_number,
            "response_code": "accepted" if accepted else "rejected",
        }

    def _find(self, verification_id: str) -> VerificationRecord:
        record = self._verifications.get(verification_id)
        if record is None:
            try:
                uuid.UUID(verification_id)
            except ValueError:
                raise errors.TelnyxApiError(400, "10006", parameter="verification_id") from None
            raise errors.not_found()
        return record

    def _require_profile(self, profile_id: str) -> None:
        if profile_id != self._config.profile_id:
            raise errors.not_found(pointer="/verify_profile_id")

    def _message_text(self, channel: str, code: str) -> str:
        if channel == "call":
            return CALL_TEMPLATE.format(digits=" ".join(code))
        if channel == "whatsapp":
            return WHATSAPP_TEMPLATE.format(code=code)
        return self._config.sms_template.format(code=code)

    def _generate_code(self) -> str:
        n = self._config.code_length
        return str(secrets.randbelow(10**n)).zfill(n)

    # -- Messaging API ----------------------------------------------------------

    def send_message(self, raw_body: Any, idempotency_key: str | None = None) -> dict[str, Any]:
        """POST /v2/messages: one SMS from our number or messaging profile. A repeated
        Idempotency-Key answers the first message again and sends nothing."""
        body = _require_object(raw_body)
        to = _require_string(body, "to")
        if not E164.match(to):
            raise errors.TelnyxApiError(400, "40310", pointer="/to")
        text = _require_string(body, "text")
        if len(text) > MAX_TEXT_CHARS:
            raise errors.invalid_parameter("text", "The 'text' parameter is too long.")
        kind = body.get("type", "SMS")
        if kind != "SMS":
            raise errors.invalid_parameter("type", "Only 'SMS' messages can be sent here.")
        sender = body.get("from")
        profile_id = body.get("messaging_profile_id")
        if sender is None and profile_id is None:
            raise errors.missing_parameter("from")
        if sender is not None and sender != self._config.messaging_from:
            raise errors.TelnyxApiError(400, "40305", pointer="/from")
        if profile_id is not None and profile_id != self._config.messaging_profile_id:
            raise errors.not_found(pointer="/messaging_profile_id")
        with self._lock:
            if idempotency_key and idempotency_key in self._sent_by_key:
                return self._sent_by_key[idempotency_key].record
            now = self._now()
            notice = OutboxNotice(
                phone_number=to,
                message_id=str(uuid.uuid4()),
                sender=str(sender or profile_id),
                created=now,
                text=text,
                delivery_status=self._take_delivery_outcome("sms"),
            )
            self._outbox.append(notice)
            record = _message_record(notice, self._config, sender is not None)
            if idempotency_key:
                self._sent_by_key[idempotency_key] = SentMessage(record, notice)
            return record

    # -- outbox ---------------------------------------------------------------

    def messages(
        self,
        phone_number: str | None = None,
        *,
        include_undelivered: bool = False,
        kind: str | None = None,
        channel: str | None = None,
    ) -> list[dict[str, Any]]:
        """The outbox, newest first; `kind` ("code" or "notice") keeps one kind, `channel`
        ("sms", "call", "whatsapp") one channel's."""
        wanted = {"code": OutboxMessage, "notice": OutboxNotice}.get(kind or "", object)
        with self._lock:
            selected = [
                m
                for m in self._outbox
                if (phone_number is None or m.phone_number == phone_number)
                and (include_undelivered or m.delivery_status == "delivered")
                and isinstance(m, wanted)
                and (channel is None or m.channel == channel)
            ]
        # Newest first; list order breaks ties between messages sent in the same instant.
        ordered = sorted(enumerate(selected), key=lambda im: (im[1].created, im[0]), reverse=True)
        return [m.as_dict() for _, m in ordered]

    # -- faults ---------------------------------------------------------------

    def add_api_fault(self, fault: ApiFault) -> None:
        with self._lock:
            self._faults.api.append(fault)

    def add_delivery_fault(self, fault: DeliveryFault) -> None:
        with self._lock:
            self._faults.delivery.append(fault)

    def add_webhook_fault(self, fault: WebhookFault) -> None:
        with self._lock:
            self._faults.webhook.append(fault)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults = _Faults()

    def faults(self) -> list[dict[str, Any]]:
        with self._lock:
            armed: list[ApiFault | DeliveryFault | WebhookFault] = [
                *self._faults.api,
                *self._faults.delivery,
                *self._faults.webhook,
            ]
            return [f.as_dict() for f in armed]

    def take_api_fault(self, endpoint: str) -> ApiFault | None:
        """Consume one use of the first armed fault matching this endpoint."""
        with self._lock:
            for fault in self._faults.api:
                if fault.endpoint in (endpoint, "any"):
                    fault.count -= 1
                    if fault.count <= 0:
                        self._faults.api.remove(fault)
                    return fault
            return None

    def _take_delivery_outcome(self, channel: str) -> DeliveryOutcome:
        """The first armed delivery fault for this channel (or any), consumed once."""
        for fault in self._faults.delivery:
            if fault.channel in (None, channel):
                fault.count -= 1
                if fault.count <= 0:
                    self._faults.delivery.remove(fault)
                return fault.outcome
        return "delivered"

    def _take_webhook_fault(self) -> str | None:
        if not self._faults.webhook:
            return None
        fault = self._faults.webhook[0]
        fault.count -= 1
        if fault.count <= 0:
            self._faults.webhook.pop(0)
        return fault.kind

    # -- reset ----------------------------------------------------------------

    def reset(self) -> None:
        with self._lock:
            self._verifications.clear()
            self._outbox.clear()
            self._sent_by_key.clear()
            self._faults = _Faults()
            self._clock_offset = 0.0


def _message_record(
    notice: OutboxNotice, config: EmulatorConfig, by_number: bool
) -> dict[str, Any]:
    """The `data` of Telnyx's answer to POST /v2/messages (the SDK's OutboundMessagePayload):
    accepted and queued, nothing sent yet."""
    sent_from = notice.sender if by_number else config.messaging_from
    return {
        "record_type": "message",
        "direction": "outbound",
        "id": notice.message_id,
        "type": "SMS",
        "messaging_profile_id": config.messaging_profile_id,
        "organization_id": "00000000-0000-4000-8000-000000000000",
        "from": {"phone_number": sent_from, "carrier": "Telnyx", "line_type": "Wireless"},
        "to": [
            {
                "phone_number": notice.phone_number,
                "status": "queued",
                "carrier": "",
                "line_type": "Wireless",
            }
        ],
        "cc": [],
        "text": notice.text,
        "media": [],
        "webhook_url": None,
        "webhook_failover_url": None,
        "encoding": "GSM-7",
        "parts": 1 + len(notice.text) // 160,
        "tags": [],
        "cost": None,
        "received_at": event_time(notice.created),
        "sent_at": None,
        "completed_at": None,
        "valid_until": None,
        "errors": [],
    }
