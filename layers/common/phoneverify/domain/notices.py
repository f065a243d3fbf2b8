"""Notices to an account's owner (docs/notices.md): what each says, whom it is audited under,
and the rules of the outbox that keeps one until it is delivered. The DynamoDB outbox
(adapters/dynamo/notices_outbox.py) builds its conditions from these rules and the in-memory
fake (tests/support/fakes.py) decides by the same functions.

A notice in the outbox is `pending` until it is `delivered` or `given_up`. A delivery first
claims it (a lease of `lease_secs`, one attempt more), so the stream consumer and the sweep
never send it at once; a delivery that cannot go now gives the lease back (a retry); one that
never can, or that waited longer than `give_up_after_secs`, is given up. The number is kept only
while the notice is pending: delivered or given up, it is removed and the item expires
`keep_secs` later (its id still refuses a second write of the same notice until then).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import StrEnum

from phoneverify.domain.keyed import digest
from phoneverify.domain.models import NoticeEvent

# The sweep's metric, NoticePendingAlarm's: minutes the oldest pending notice has waited.
METRIC_OLDEST_PENDING = "Verification_notice_oldest_pending_minutes"

IF_NOT_YOU = "If this wasn't you, contact support."
# Plain words only: no code, no link, nothing that acts on the account.
NOTICE_TEXTS: dict[NoticeEvent, str] = {
    NoticeEvent.PHONE_CHANGED: "{service}: the phone number on your account was changed. "
    + IF_NOT_YOU,
    NoticeEvent.PHONE_ADDED: "{service}: this number was added to your account; sign-in codes "
    "will come here. " + IF_NOT_YOU,
    NoticeEvent.ACCOUNT_LOCKED: "{service}: your account was locked after too many wrong "
    "codes. Reset your password to unlock it. " + IF_NOT_YOU,
    NoticeEvent.PASSWORD_RESET: "{service}: your password was reset and every session was "
    "signed out. " + IF_NOT_YOU,
    NoticeEvent.LOGGED_OUT_EVERYWHERE: "{service}: every session of your account was signed "
    "out. " + IF_NOT_YOU,
    NoticeEvent.PHONE_SWAP_PENDING: "{service}: a new number will replace this one on your "
    "account in a few days: sign in to cancel it. " + IF_NOT_YOU,
    NoticeEvent.PHONE_SWAP_CANCELLED: "{service}: the new number waiting to replace this one "
    "was cancelled. " + IF_NOT_YOU,
    NoticeEvent.PHONE_SWAP_DONE: "{service}: the phone number on your account was replaced "
    "and every session was signed out. " + IF_NOT_YOU,
    NoticeEvent.TOTP_ADDED: "{service}: an authenticator app was added to your account. "
    + IF_NOT_YOU,
    NoticeEvent.TOTP_REMOVED: "{service}: the authenticator app was removed from your "
    "account. " + IF_NOT_YOU,
    NoticeEvent.RECOVERY_CODE_USED: "{service}: one of your recovery codes was used to sign "
    "in. " + IF_NOT_YOU,
    NoticeEvent.PASSKEY_REMOVED: "{service}: a passkey was removed from your account. "
    + IF_NOT_YOU,
    NoticeEvent.ACCOUNT_DELETED: "{service}: your account was deleted and this number is no "
    "longer on it. " + IF_NOT_YOU,
}


class DeliveryOutcome(StrEnum):
    """What one delivery attempt of an outbox notice came to."""

    DELIVERED = "delivered"
    RETRY = "retry"  # still pending: the caller tries again later
    GIVEN_UP = "given_up"
    SETTLED = "settled"  # nothing to do: delivered or given up already, or being delivered


def notice_text(event: NoticeEvent, service_name: str) -> str:
    return NOTICE_TEXTS[event].format(service=service_name)


def notice_subject(phone: str) -> str:
    """Whom a notice is audited under: the number's digest, never the number."""
    return f"phone#{digest(phone)}"


def notice_id(occasion: str, phone: str, event: NoticeEvent) -> str:
    """The outbox id of the notice of `event` to `phone` on `occasion` (the request that
    caused it): the same request written again (a retry) writes the same id, which the outbox
    refuses a second time. It names neither the number nor the account."""
    return hashlib.sha256(f"{occasion}|{event.value}|{phone}".encode()).hexdigest()[:32]


class NoticeStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    GIVEN_UP = "given_up"


@dataclass(frozen=True)
class OutboxNotice:
    """One notice in the outbox: to `phone` (E.164, kept only while pending), of `event`."""

    notice_id: str
    phone: str
    event: NoticeEvent
    created_at: float
    attempts: int = 0


@dataclass(frozen=True)
class OutboxPolicy:
    lease_secs: int = 60  # longer than one delivery's Telnyx tries and budget transaction
    give_up_after_secs: int = 86_400  # a notice older than this is given up, not sent
    keep_secs: int = 86_400  # how long a delivered or given-up item (no number) is kept


def claimable(status: NoticeStatus, lease_until: float, now: float) -> bool:
    """A delivery may claim a notice still pending whose last claim's lease has run out."""
    return status is NoticeStatus.PENDING and lease_until <= now


def expired_waiting(notice: OutboxNotice, now: float, policy: OutboxPolicy) -> bool:
    """A pending notice that waited too long to be worth sending: it is given up."""
    return now - notice.created_at > policy.give_up_after_secs


def pending_ttl(created_at: float, policy: OutboxPolicy) -> int:
    """When DynamoDB may delete a pending item (a backstop: the sweep gives it up first)."""
    return int(created_at + policy.give_up_after_secs + policy.keep_secs)


def settled_ttl(now: float, policy: OutboxPolicy) -> int:
    """When a delivered or given-up item (its number removed) is deleted."""
    return int(now + policy.keep_secs)
