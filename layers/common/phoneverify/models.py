"""Domain records shared by flows and adapters."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class FlowKind(StrEnum):
    LOGIN = "login"
    REGISTRATION = "registration"
    PAYMENT = "payment"


class FlowStatus(StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"
    CANCELLED = "cancelled"
    LOCKED = "locked"


@dataclass(frozen=True)
class User:
    user_id: str
    email: str
    password_hash: str
    phone_number: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class PendingVerification:
    """One code challenge, stored under a hash of its flow id.

    `expires_at` is when the current code stops being accepted; the record itself lives on
    (TTL `expires_at + retention`) so that resend and status still find it.
    """

    flow_key: str
    kind: FlowKind
    subject: str
    phone_number: str
    verification_id: str
    status: FlowStatus
    attempts: int
    max_attempts: int
    send_count: int
    last_sent_at: float
    expires_at: float
    created_at: float
    data: dict[str, Any] = field(default_factory=dict)

    def is_expired(self, now: float) -> bool:
        return now >= self.expires_at

    @property
    def attempts_remaining(self) -> int:
        return max(0, self.max_attempts - self.attempts)


@dataclass(frozen=True)
class RequestOrigin:
    """Where a request came from, for the audit trail and per-source limits."""

    source_ip: str
    user_agent: str


class VerificationEventType(StrEnum):
    SENT = "sent"
    RESENT = "resent"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    EXPIRED = "expired"
    LOCKED = "locked"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class VerificationEvent:
    """Something that happened to a verification; never carries the code."""

    type: VerificationEventType
    kind: FlowKind
    subject: str
    masked_phone: str
    at: float
    origin: RequestOrigin
    detail: dict[str, Any] = field(default_factory=dict)
