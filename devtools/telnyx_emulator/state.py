"""The emulator's state behind one lock: verifications, the outbox (SMS, voice calls,
WhatsApp messages and plain notices), the clock and the injected faults.

What a request must carry is checked by verifications.py and messaging.py the way the
Telnyx API does, so the HTTP layer only routes, authenticates and serialises.
"""

from __future__ import annotations

import secrets
import threading
import uuid
from typing import Any

from devtools.telnyx_emulator import errors
from devtools.telnyx_emulator.config import EmulatorConfig
from devtools.telnyx_emulator.faults import ApiFault, DeliveryFault, Faults, WebhookFault
from devtools.telnyx_emulator.messaging import (
    OutboxNotice,
    SentMessage,
    message_record,
    parse_message,
)
from devtools.telnyx_emulator.timestamps import event_time
from devtools.telnyx_emulator.validation import E164, require_object, require_string
from devtools.telnyx_emulator.verifications import (
    OutboxMessage,
    SendResult,
    VerificationRecord,
    check,
    delivery_events,
    message_text,
    parse_trigger,
    parse_verify_by_id,
    require_profile,
)


class EmulatorState:
    def __init__(self, config: EmulatorConfig) -> None:
        self._config = config
        self._lock = threading.Lock()
        self._clock_offset = 0.0
        self._verifications: dict[str, VerificationRecord] = {}
        self._outbox: list[OutboxMessage | OutboxNotice] = []
        self._sent_by_key: dict[str, SentMessage] = {}  # Idempotency-Key -> the first answer
        self._faults = Faults()

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
        request = parse_trigger(raw_body, self._config)
        code = request.custom_code or self._generate_code()
        with self._lock:
            now = self._now()
            record = VerificationRecord(
                id=str(uuid.uuid4()),
                phone_number=request.phone_number,
                verify_profile_id=request.verify_profile_id,
                code=code,
                custom_code=request.custom_code,
                timeout_secs=request.timeout_secs or self._config.timeout_secs,
                requested_timeout_secs=request.timeout_secs,
                created=now,
                updated=now,
                type=channel,
            )
            self._verifications[record.id] = record
            outcome = self._faults.take_delivery_outcome(channel)
            self._outbox.append(
                OutboxMessage(
                    phone_number=request.phone_number,
                    code=code,
                    verification_id=record.id,
                    verify_profile_id=request.verify_profile_id,
                    created=now,
                    text=message_text(channel, code, self._config.sms_template),
                    delivery_status=outcome,
                    channel=channel,
                )
            )
            return SendResult(
                verification=record.as_api(),
                events=delivery_events(record, outcome),
                occurred=now,
                webhook_fault=self._faults.take_webhook(),
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
        code, status = parse_verify_by_id(raw_body)
        with self._lock:
            record = self._find(verification_id)
            if status is not None and record.custom_code is None:
                raise errors.invalid_parameter(
                    "status", "'status' is only permitted if custom_code was used."
                )
            return check(record, code, status, self._now())

    def verify_by_phone_number(self, phone: str, raw_body: Any) -> dict[str, Any]:
        if not E164.match(phone):
            raise errors.invalid_phone_number(parameter="phone_number")
        body = require_object(raw_body)
        code = require_string(body, "code")
        profile_id = require_string(body, "verify_profile_id")
        require_profile(profile_id, self._config)
        with self._lock:
            candidates = [
                r
                for r in self._verifications.values()
                if r.phone_number == phone and r.verify_profile_id == profile_id
            ]
            if not candidates:
                raise errors.not_found()
            newest = max(candidates, key=lambda r: r.created)
            return check(newest, code, None, self._now())

    def _find(self, verification_id: str) -> VerificationRecord:
        record = self._verifications.get(verification_id)
        if record is None:
            try:
                uuid.UUID(verification_id)
            except ValueError:
                raise errors.TelnyxApiError(400, "10006", parameter="verification_id") from None
            raise errors.not_found()
        return record

    def _generate_code(self) -> str:
        n = self._config.code_length
        return str(secrets.randbelow(10**n)).zfill(n)

    # -- Messaging API ----------------------------------------------------------

    def send_message(self, raw_body: Any, idempotency_key: str | None = None) -> dict[str, Any]:
        """POST /v2/messages: one SMS from our number or messaging profile. A repeated
        Idempotency-Key answers the first message again and sends nothing."""
        request = parse_message(raw_body, self._config)
        with self._lock:
            if idempotency_key and idempotency_key in self._sent_by_key:
                return self._sent_by_key[idempotency_key].record
            now = self._now()
            notice = OutboxNotice(
                phone_number=request.to,
                message_id=str(uuid.uuid4()),
                sender=str(request.sender or request.profile_id),
                created=now,
                text=request.text,
                delivery_status=self._faults.take_delivery_outcome("sms"),
            )
            self._outbox.append(notice)
            record = message_record(notice, self._config, request.sender is not None)
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
        phone_hint: str | None = None,
    ) -> list[dict[str, Any]]:
        """The outbox, newest first; `kind` ("code" or "notice") keeps one kind, `channel`
        ("sms", "call", "whatsapp") one channel's, `phone_hint` the numbers a masked hint
        such as the API answers ("+1******0123", "******0123") matches."""
        wanted = {"code": OutboxMessage, "notice": OutboxNotice}.get(kind or "", object)
        with self._lock:
            selected = [
                m
                for m in self._outbox
                if (phone_number is None or m.phone_number == phone_number)
                and (phone_hint is None or hint_matches(phone_hint, m.phone_number))
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
            self._faults = Faults()

    def faults(self) -> list[dict[str, Any]]:
        with self._lock:
            return self._faults.armed()

    def take_api_fault(self, endpoint: str) -> ApiFault | None:
        """Consume one use of the first armed fault matching this endpoint."""
        with self._lock:
            return self._faults.take_api(endpoint)

    # -- reset ----------------------------------------------------------------

    def reset(self) -> None:
        with self._lock:
            self._verifications.clear()
            self._outbox.clear()
            self._sent_by_key.clear()
            self._faults = Faults()
            self._clock_offset = 0.0


def hint_matches(hint: str, phone_number: str) -> bool:
    """Whether a masked number (its stars stand for hidden digits) can be `phone_number`:
    what is shown before the stars starts it, what is shown after them ends it. A page that
    knows only the hint lists that phone's messages (and those of any number that looks the
    same masked, which on the local stack is rare)."""
    if "*" not in hint:
        return hint == phone_number
    shown_first, shown_last = hint[: hint.index("*")], hint[hint.rindex("*") + 1 :]
    return (
        phone_number.startswith(shown_first)
        and phone_number.endswith(shown_last)
        and len(phone_number) >= len(shown_first) + len(shown_last) + 1
    )
