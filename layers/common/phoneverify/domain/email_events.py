"""What SES reports of an email it sent (docs/email.md#bounces-and-complaints), read from the
JSON record its configuration set's event destination publishes to SNS (SES event publishing:
`eventType`; identity notifications name it `notificationType`, read the same way).

Which reports suppress an address for good:

- a `Bounce` whose `bounceType` is `Permanent` (the mailbox does not exist, or will never take
  our mail): each of its `bouncedRecipients`;
- a `Complaint` (the recipient marked it as spam): each of its `complainedRecipients`.

A transient or undetermined bounce (a full mailbox, a greylisting server) and every other type
(`Delivery`, `Send`, `DeliveryDelay`...) suppress nothing. A record that is not the JSON SES
publishes is `MalformedEmailEvent`: the caller logs it and drops it (redelivering it would
fail the same way forever)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from phoneverify.domain.emails import normalise_email
from phoneverify.domain.errors import InvalidRequest
from phoneverify.domain.json_input import loads

BOUNCE = "Bounce"
COMPLAINT = "Complaint"
PERMANENT = "Permanent"
# The reason a suppression is stored and audited with.
REASON_BOUNCE = "bounce"
REASON_COMPLAINT = "complaint"
MAX_RECIPIENTS = 50  # SES sends to at most 50 recipients a message
# "Name <ada@example.com>" as some reporting servers write the final recipient.
_ANGLED = re.compile(r"<([^<>\s]+@[^<>\s]+)>")


class MalformedEmailEvent(ValueError):
    """Not an event record SES publishes; the message says what is wrong (never an address)."""


@dataclass(frozen=True)
class EmailReport:
    """One SES event: its type and, when it suppresses, why and whom (normalised addresses)."""

    event_type: str
    reason: str | None = None  # REASON_BOUNCE / REASON_COMPLAINT when it suppresses
    addresses: tuple[str, ...] = ()
    subtype: str = ""  # bounceSubType, or the complaint's complaintFeedbackType

    @property
    def suppresses(self) -> bool:
        return self.reason is not None


def read_ses_event(message: str) -> EmailReport:
    """The SES event record in `message` (an SNS notification's Message)."""
    try:
        record = loads(message)
    except (ValueError, InvalidRequest) as bad:  # not JSON; a number too long, too deep
        raise MalformedEmailEvent("not JSON") from bad
    if not isinstance(record, dict):
        raise MalformedEmailEvent("not a JSON object")
    event_type = record.get("eventType", record.get("notificationType"))
    if not isinstance(event_type, str) or not event_type:
        raise MalformedEmailEvent("no eventType")
    if event_type == BOUNCE:
        bounce = _object(record, "bounce")
        bounce_type = bounce.get("bounceType")
        if not isinstance(bounce_type, str):
            raise MalformedEmailEvent("bounce without a bounceType")
        if bounce_type != PERMANENT:
            return EmailReport(event_type, subtype=_text(bounce.get("bounceSubType")))
        return EmailReport(
            event_type,
            REASON_BOUNCE,
            _recipients(bounce, "bouncedRecipients"),
            _text(bounce.get("bounceSubType")),
        )
    if event_type == COMPLAINT:
        complaint = _object(record, "complaint")
        return EmailReport(
            event_type,
            REASON_COMPLAINT,
            _recipients(complaint, "complainedRecipients"),
            _text(complaint.get("complaintFeedbackType")),
        )
    return EmailReport(event_type)


def _object(record: dict[str, Any], name: str) -> dict[str, Any]:
    found = record.get(name)
    if not isinstance(found, dict):
        raise MalformedEmailEvent(f"no {name} object")
    return found


def _text(value: Any) -> str:
    return value[:64] if isinstance(value, str) else ""


def _recipients(report: dict[str, Any], name: str) -> tuple[str, ...]:
    listed = report.get(name)
    if not isinstance(listed, list) or not listed or len(listed) > MAX_RECIPIENTS:
        raise MalformedEmailEvent(f"{name} is not a list of 1 to {MAX_RECIPIENTS} recipients")
    addresses: list[str] = []
    for recipient in listed:
        raw = recipient.get("emailAddress") if isinstance(recipient, dict) else None
        address = _address(raw) if isinstance(raw, str) else None
        if address is None:
            raise MalformedEmailEvent(f"a recipient of {name} has no emailAddress")
        if address not in addresses:
            addresses.append(address)
    return tuple(addresses)


def _address(raw: str) -> str | None:
    angled = _ANGLED.search(raw)
    address = normalise_email(angled.group(1) if angled else raw)
    local, at, domain = address.partition("@")
    if not (local and at and domain) or len(address) > 254 or any(c.isspace() for c in address):
        return None
    return address
