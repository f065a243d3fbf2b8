"""The Messaging API (POST /v2/messages): one plain SMS, no code in it, from our number or
messaging profile; what is checked in the request and what Telnyx answers."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from devtools.telnyx_emulator import errors
from devtools.telnyx_emulator.config import EmulatorConfig
from devtools.telnyx_emulator.faults import DeliveryOutcome
from devtools.telnyx_emulator.timestamps import event_time, record_time
from devtools.telnyx_emulator.validation import E164, require_object, require_string

MAX_TEXT_CHARS = 1_600  # Telnyx's limit for one SMS body (10 parts)


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
class MessageRequest:
    """A POST /v2/messages body that passed the API's checks."""

    to: str
    text: str
    sender: str | None  # the `from` number, if given
    profile_id: str | None  # the messaging profile id, if given


def parse_message(raw_body: Any, config: EmulatorConfig) -> MessageRequest:
    """Check a POST /v2/messages body as Telnyx does (only SMS; our number or profile)."""
    body = require_object(raw_body)
    to = require_string(body, "to")
    if not E164.match(to):
        raise errors.TelnyxApiError(400, "40310", pointer="/to")
    text = require_string(body, "text")
    if len(text) > MAX_TEXT_CHARS:
        raise errors.invalid_parameter("text", "The 'text' parameter is too long.")
    kind = body.get("type", "SMS")
    if kind != "SMS":
        raise errors.invalid_parameter("type", "Only 'SMS' messages can be sent here.")
    sender = body.get("from")
    profile_id = body.get("messaging_profile_id")
    if sender is None and profile_id is None:
        raise errors.missing_parameter("from")
    if sender is not None and sender != config.messaging_from:
        raise errors.TelnyxApiError(400, "40305", pointer="/from")
    if profile_id is not None and profile_id != config.messaging_profile_id:
        raise errors.not_found(pointer="/messaging_profile_id")
    return MessageRequest(to, text, sender, profile_id)


def message_record(notice: OutboxNotice, config: EmulatorConfig, by_number: bool) -> dict[str, Any]:
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
