"""The Verify API's verifications: their records, what a trigger or a check request must
carry, how a code is checked, and the message each channel sends with the code."""

from __future__ import annotations

import hmac
import re
from dataclasses import dataclass
from typing import Any, Literal

from devtools.telnyx_emulator import errors
from devtools.telnyx_emulator.config import EmulatorConfig
from devtools.telnyx_emulator.faults import DeliveryOutcome, WebhookFault
from devtools.telnyx_emulator.timestamps import record_time
from devtools.telnyx_emulator.validation import E164, require_object, require_string

_CUSTOM_CODE = re.compile(r"^[0-9]{1,32}$")

# The trigger endpoints (POST /v2/verifications/<channel>) and the record `type` each makes.
Channel = Literal["sms", "call", "whatsapp"]
CHANNELS: tuple[str, ...] = ("sms", "call", "whatsapp")
# What reaches the person, by channel: a call reads the digits out one by one; WhatsApp
# sends Meta's authentication template.
CALL_TEMPLATE = "Your verification code is {digits}. Again: {digits}."
WHATSAPP_TEMPLATE = "{code} is your verification code. For your security, do not share this code."


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
class SendResult:
    """What a trigger produced: the API record and what the webhooks must say."""

    verification: dict[str, Any]
    events: list[tuple[str, dict[str, Any]]]  # (event_type, payload), in sending order
    occurred: float
    webhook_fault: WebhookFault | None


@dataclass(frozen=True)
class TriggerRequest:
    """A POST /v2/verifications/<channel> body that passed the API's checks."""

    phone_number: str
    verify_profile_id: str
    custom_code: str | None
    timeout_secs: int | None


def require_profile(profile_id: str, config: EmulatorConfig) -> None:
    if profile_id != config.profile_id:
        raise errors.not_found(pointer="/verify_profile_id")


def parse_trigger(raw_body: Any, config: EmulatorConfig) -> TriggerRequest:
    """Check a trigger's body as the Verify API does (the same for every channel)."""
    body = require_object(raw_body)
    phone = require_string(body, "phone_number")
    if not E164.match(phone):
        raise errors.invalid_phone_number(pointer="/phone_number")
    profile_id = require_string(body, "verify_profile_id")
    require_profile(profile_id, config)

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
    return TriggerRequest(phone, profile_id, custom_code, requested_timeout)


def parse_verify_by_id(raw_body: Any) -> tuple[str | None, str | None]:
    """(code, status) of a POST /v2/verifications/<id>/actions/verify body."""
    body = require_object(raw_body)
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
    return code, status


def message_text(channel: str, code: str, sms_template: str) -> str:
    """What the person receives on ``channel``."""
    if channel == "call":
        return CALL_TEMPLATE.format(digits=" ".join(code))
    if channel == "whatsapp":
        return WHATSAPP_TEMPLATE.format(code=code)
    return sms_template.format(code=code)


def delivery_events(
    record: VerificationRecord, outcome: DeliveryOutcome
) -> list[tuple[str, dict[str, Any]]]:
    """The webhooks a send with this outcome makes, in sending order."""
    events: list[tuple[str, dict[str, Any]]] = []
    if outcome != "sending_failed":
        events.append(("verify.sent", record.as_event_payload("sent")))
    if outcome == "delivered":
        events.append(("verify.delivered", record.as_event_payload("delivered")))
    else:
        events.append(("verify.failed", record.as_event_payload(outcome)))
    return events


def check(
    record: VerificationRecord, code: str | None, status: str | None, now: float
) -> dict[str, Any]:
    """Check ``code`` (or apply a custom code's ``status``) against a pending verification;
    a wrong one counts as a failed attempt."""
    record.refresh(now)
    accepted = False
    if record.status == "pending":
        if status is not None:
            accepted = status == "accepted"
        else:
            accepted = code is not None and hmac.compare_digest(code.encode(), record.code.encode())
        if accepted:
            record.status = "accepted"
        else:
            record.failed_attempts += 1
        record.updated = now
    return {
        "phone_number": record.phone_number,
        "response_code": "accepted" if accepted else "rejected",
    }
