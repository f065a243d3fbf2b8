"""Domain records shared by flows and adapters."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from phoneverify.domain.errors import PhoneSuperseded, SessionsEnded
from phoneverify.domain.lifecycle.phone_swap import PhoneSwap


class FlowKind(StrEnum):
    LOGIN = "login"
    REGISTRATION = "registration"
    PAYMENT = "payment"
    PASSWORD_RESET = "password_reset"
    PHONE_CHANGE = "phone_change"  # add or change the account's phone (docs/phone-lifecycle.md)
    # Fresh authentication before an account change: password, then a code to the account's
    # phone (docs/sessions.md#fresh-authentication).
    REAUTH = "reauth"
    # "I no longer have this phone" (docs/phone-lifecycle.md#a-lost-phone): a code to the
    # account's proven email, then one to the new number; the swap waits before it binds.
    LOST_PHONE_EMAIL = "lost_phone_email"
    LOST_PHONE = "lost_phone"
    # A code to an email the account takes (or proves as its own: docs/email.md).
    EMAIL_CHANGE = "email_change"
    # An authenticator app being enrolled: no code is sent, the app's first code confirms it
    # (docs/factors.md#authenticator-app).
    TOTP_ENROL = "totp_enrol"
    # Not a code flow: decisions about passwords and tokens (throttling, logout, refusals).
    SESSION = "session"
    # Not a code flow: an SMS telling the account's owner what happened (phone-lifecycle.md).
    NOTICE = "notice"
    # Not a code flow: the fraud guard's decisions (held and released prefixes and countries,
    # operators' rule changes; docs/abuse-controls.md#the-fraud-guard).
    FRAUD_GUARD = "fraud_guard"
    # Not a code flow: what SES reported of an email it sent (a bounce, a complaint;
    # docs/email.md#bounces-and-complaints).
    EMAIL_DELIVERY = "email_delivery"
    # Not a code flow: a passkey added, used, refused or removed (docs/factors.md#passkeys).
    PASSKEY = "passkey"


class FlowStatus(StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"
    CANCELLED = "cancelled"
    LOCKED = "locked"


class Channel(StrEnum):
    """How a code reaches the person (Telnyx Verify: /v2/verifications/<channel>)."""

    SMS = "sms"
    CALL = "call"  # a voice call reads the code out
    WHATSAPP = "whatsapp"


class DeliveryStatus(StrEnum):
    """What the provider reported about the delivery of a flow's current code (webhooks)."""

    UNKNOWN = "unknown"
    SENT = "sent"
    DELIVERED = "delivered"
    SENDING_FAILED = "sending_failed"
    DELIVERY_FAILED = "delivery_failed"
    DELIVERY_UNCONFIRMED = "delivery_unconfirmed"

    @property
    def rank(self) -> int:
        """unknown < sent < every final state; a status only ever moves to a higher rank."""
        return {DeliveryStatus.UNKNOWN: 0, DeliveryStatus.SENT: 1}.get(self, 2)

    def earlier(self) -> list[DeliveryStatus]:
        """The statuses a flow may move from to reach this one."""
        return [status for status in DeliveryStatus if status.rank < self.rank]


@dataclass(frozen=True)
class ChallengeState:
    """Where a flow stands, for the holder of its flow id (GET /verify/status, and the
    live-status push): nothing about who or where."""

    status: str  # pending | verified | expired | cancelled | locked
    delivery_status: DeliveryStatus
    expires_in: int  # whole seconds the current code is still accepted; 0 once it is not
    channel: Channel = Channel.SMS  # how the current code was sent

    def public_fields(self) -> dict[str, str | int]:
        """What its holder is told, in the order clients see it: the body of GET
        /verify/status and of each live-status push alike."""
        return {
            "status": self.status,
            "delivery_status": str(self.delivery_status),
            "expires_in": self.expires_in,
            "channel": str(self.channel),
        }


@dataclass(frozen=True)
class PaymentChallengeState(ChallengeState):
    """A payment's challenge, with where the payment itself stands (GET /verify/status?
    payment_id=): a code accepted says nothing of the charge, which may still be processing
    and end completed or failed (the reconciler's settlement included)."""

    payment_status: str = "pending"  # PaymentStatus

    def public_fields(self) -> dict[str, str | int]:
        return {**super().public_fields(), "payment_status": self.payment_status}


@dataclass(frozen=True)
class User:
    user_id: str
    email: str
    password_hash: str
    phone_number: str | None = None
    name: str | None = None
    # Raised by one each time every token of the account is ended (logout of every session,
    # password reset, lock); tokens carry the value they were issued under (`gen`).
    token_generation: int = 0
    # Raised by one each time the phone is added or changed; a flow records the value it sent
    # its code under, and its code is accepted only while the account's is still that one.
    phone_generation: int = 0
    # Raised by one with each password reset: a reset flow records the value it was started
    # under, and sets the password only while the account's is still that one, so one reset
    # ends every other pending reset of the account and concurrent resets make exactly one.
    password_generation: int = 0
    # When the account's email was proven (issue 21 proves it at sign-up); None: never. Only
    # an account with a proven email may replace a lost phone through it.
    email_proven_at: float | None = None
    # When the account was created (None: before this was kept).
    created_at: float | None = None
    # The lost phone's swap recorded on the account (domain/lifecycle/phone_swap.py), if any:
    # pending, or what became of the last one.
    phone_swap: PhoneSwap | None = None
    # When an authenticator app (TOTP) was confirmed on the account (None: it has none). The
    # secret itself is kept encrypted on the user item and read only by the TOTP flows.
    totp_enrolled_at: float | None = None
    # How many of the account's one-time recovery codes are still unspent.
    recovery_codes_left: int = 0
    # How many passkeys (WebAuthn credentials) the account holds: the user item's
    # `passkey_ids`, changed in the transaction that adds or removes one.
    passkey_count: int = 0


class NoticeEvent(StrEnum):
    """What an SMS notice tells the account's owner (never a code or a link that acts)."""

    PHONE_CHANGED = "phone_changed"  # sent to the OLD number
    PHONE_ADDED = "phone_added"  # sent to the new number of an account that had none
    ACCOUNT_LOCKED = "account_locked"
    PASSWORD_RESET = "password_reset"
    LOGGED_OUT_EVERYWHERE = "logged_out_everywhere"
    # A lost phone's swap (docs/phone-lifecycle.md#a-lost-phone), told to the OLD number.
    PHONE_SWAP_PENDING = "phone_swap_pending"
    PHONE_SWAP_CANCELLED = "phone_swap_cancelled"
    PHONE_SWAP_DONE = "phone_swap_done"
    # The account's factors (docs/factors.md): an app added or removed, a recovery code used.
    TOTP_ADDED = "totp_added"
    TOTP_REMOVED = "totp_removed"
    RECOVERY_CODE_USED = "recovery_code_used"
    PASSKEY_REMOVED = "passkey_removed"  # a passkey left the account (docs/factors.md)
    ACCOUNT_DELETED = "account_deleted"  # its last notice (docs/privacy.md)


class PaymentStatus(StrEnum):
    PENDING = "pending"  # waiting for the code
    PROCESSING = "processing"  # handed to the processor
    COMPLETED = "completed"
    FAILED = "failed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"  # the payer walked away (POST /verify/cancel)


class StepUpReason(StrEnum):
    """Why a payment needs a code (the `reason` of /payments/initiate's answer)."""

    AMOUNT = "amount"  # the payment alone reaches its currency's threshold
    # Together with the payments completed without a code since the last verified one, all
    # converted to the reference currency, it would reach the cumulative limit (PSD2 RTS
    # Art. 16).
    CUMULATIVE_AMOUNT = "cumulative_amount"
    # It would be one more than the consecutive payments allowed without a code.
    PAYMENT_COUNT = "payment_count"
    # Its currency has no rate in the operators' table: it cannot be added to the sum, so it
    # is never exempt.
    CURRENCY_WITHOUT_RATE = "currency_without_rate"


@dataclass(frozen=True)
class Exemption:
    """One payment counted as completed without a code: what giving it back needs. The
    count holds the ids of its payments, so `payment_id` is given back from the count it was
    added to only, and once (a verified payment starts a new count). `currency` is the
    reference currency the sum is kept in, `amount_minor` the payment converted to it."""

    user_id: str
    currency: str
    amount_minor: int
    payment_id: str


@dataclass(frozen=True)
class Payment:
    """A payment as stored. `amount` is the decimal string quantised to the currency's minor
    units ("250.00"); `flow_id` (server-side only) names the verification of a payment that
    needs a code, `expires_at` is when its current code stops being accepted."""

    payment_id: str
    user_id: str
    amount: str
    currency: str
    recipient: str
    description: str | None
    status: PaymentStatus
    created_at: float
    flow_id: str | None = None
    expires_at: float | None = None
    transaction_id: str | None = None
    # Since when the payment may be left half-done (docs/payments.md#reconciliation): set
    # while it is `processing`, or `pending` once a confirmation claimed it (its code may have
    # been accepted); None once it is settled. The reconciler's sparse index.
    unsettled_since: float | None = None
    # A payment made without a code: what giving its count back needs (None otherwise).
    exemption: Exemption | None = None

    @property
    def requires_verification(self) -> bool:
        return self.flow_id is not None


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
    check_lease_until: float = 0.0  # a code check in flight holds the flow until then
    delivery_status: DeliveryStatus = DeliveryStatus.UNKNOWN  # of the current code's message
    channel: Channel = Channel.SMS  # how the current code was sent

    @property
    def delivery_failed(self) -> bool:
        """The provider reported that the current code never reached the phone."""
        return self.delivery_status in (
            DeliveryStatus.SENDING_FAILED,
            DeliveryStatus.DELIVERY_FAILED,
        )

    def is_expired(self, now: float) -> bool:
        return now >= self.expires_at

    @property
    def attempts_remaining(self) -> int:
        return max(0, self.max_attempts - self.attempts)


@dataclass(frozen=True)
class PhoneBinding:
    """The account phone a flow's code was sent to, as the generation it had then
    (User.phone_generation): the code is accepted only while the account's is still that."""

    user_id: str
    phone_generation: int
    # A login's: the account's token generation when its code was sent (a logout of every
    # session or a password reset since ends the flow, rather than issuing a token born ended).
    token_generation: int | None = None

    def refusal(self, account: Mapping[str, Any] | None) -> PhoneSuperseded:
        """Why the account `account` (its item, or None when gone) no longer holds this
        binding: its phone changed (or it is gone), or every session of it was ended."""
        if account is None or int(account.get("phone_gen", 0)) != self.phone_generation:
            return PhoneSuperseded()
        return SessionsEnded()


@dataclass(frozen=True)
class SendPermit:
    """What a SendGuard counted for one send (its counters' keys), so that a send the
    provider then refused can be given back."""

    keys: tuple[str, ...]
    # The fraud guard's prefix counter the send counted in (codes to unproven numbers).
    prefix_key: str | None = None


@dataclass(frozen=True)
class PasswordAttempt:
    """One password check a PasswordThrottle admitted: the counters it counted in, and the
    account's consecutive failures if this attempt fails too."""

    account_key: str
    source_key: str
    failures: int


@dataclass(frozen=True)
class RequestOrigin:
    """Where a request came from, for the audit trail and per-source limits."""

    source_ip: str
    user_agent: str


@dataclass(frozen=True)
class WebhookEvent:
    """A provider's event whose signature checked out: its id, type and what it reports."""

    event_id: str
    event_type: str
    verification_id: str | None
    delivery: DeliveryStatus | None  # None: an event type that carries no delivery report
