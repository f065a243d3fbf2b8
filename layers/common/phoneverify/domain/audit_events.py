"""The audit log's vocabulary (docs/audit-log.md): what happened to a verification, an
account or a payment, and the event recorded for it, which never carries a code."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from phoneverify.domain.models import FlowKind, RequestOrigin


class VerificationEventType(StrEnum):
    SENT = "sent"
    RESENT = "resent"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    EXPIRED = "expired"
    LOCKED = "locked"
    CANCELLED = "cancelled"
    ACCOUNT_LOCKED = "account_locked"  # a wrong code reached the account's failure cap
    # Authentication decisions (OWASP ASVS V7): audited and logged like the code events.
    PASSWORD_ACCEPTED = "password_accepted"
    PASSWORD_REJECTED = "password_rejected"
    LOGIN_THROTTLED = "login_throttled"
    LOGIN_LOCKED = "login_locked"  # right password, account locked by wrong codes
    PASSWORD_RESET = "password_reset"
    LOGGED_OUT = "logged_out"
    TOKEN_REFUSED = "token_refused"
    PHONE_CHANGED = "phone_changed"  # the account's phone was swapped for a proven one
    PHONE_ADDED = "phone_added"  # an account without a phone proved one: 2FA from now on
    # A code that was right, refused because the account's phone changed since it was sent.
    PHONE_SUPERSEDED = "phone_superseded"
    PHONE_CHANGE_REFUSED = "phone_change_refused"  # proven, but taken or raced (detail: reason)
    # Fresh authentication (docs/sessions.md#fresh-authentication): a reauth token issued, one
    # accepted by a sensitive route (detail: action), one refused there (detail: reason, action).
    REAUTH_GRANTED = "reauth_granted"
    REAUTH_USED = "reauth_used"
    REAUTH_REFUSED = "reauth_refused"
    WEBHOOK_SIGNATURE_REJECTED = "webhook_signature_rejected"
    # Notices to the account's phone (docs/phone-lifecycle.md#notices); never a code or a link.
    NOTICE_SENT = "notice_sent"  # delivered from the outbox (docs/notices.md)
    NOTICE_RETRIED = "notice_retried"  # could not go now: still pending (detail: reason)
    NOTICE_FAILED = "notice_failed"  # given up (detail: reason)
    # The fraud guard (subject "prefix#<prefix>" or "country#<CC>", or "operator").
    HOLD_PLACED = "hold_placed"  # detail: scope (prefix|country), target, until, reason
    HOLD_RELEASED = "hold_released"  # detail: scope, target, by (expiry|operator)
    FRAUD_RULES_CHANGED = "fraud_rules_changed"  # detail: change, list, value, by
    # An operator set or unset an exchange rate (detail: change, currency, rate, previous,
    # version, by; docs/payments.md#one-cumulative-limit-across-currencies).
    FX_RATES_CHANGED = "fx_rates_changed"
    CHALLENGE_REFUSED = "challenge_refused"  # proof of work missing or invalid (detail: reason)
    # The password reset (docs/abuse-controls.md#the-decoy-password-reset): a real reset
    # answered as a decoy because a cap a decoy would not hit refused it (detail: reason,
    # layers), and a right code whose reset another reset of the account overtook.
    RESET_CONCEALED = "reset_concealed"
    PASSWORD_RESET_SUPERSEDED = "password_reset_superseded"
    # A lost phone (docs/phone-lifecycle.md#a-lost-phone): the email proven, the swap recorded
    # (detail: binds_at), cancelled by the owner, bound after the wait, or refused (reason).
    LOST_PHONE_EMAIL_PROVEN = "lost_phone_email_proven"
    EMAIL_CHANGED = "email_changed"  # the account took a new, proven address (docs/email.md)
    EMAIL_PROVEN = "email_proven"  # the account proved the address it had
    EMAIL_CHANGE_REFUSED = "email_change_refused"
    PHONE_SWAP_PENDING = "phone_swap_pending"
    PHONE_SWAP_CANCELLED = "phone_swap_cancelled"
    PHONE_SWAP_DONE = "phone_swap_done"
    PHONE_SWAP_REFUSED = "phone_swap_refused"
    # SES reported a permanent bounce or a complaint: no email goes to the address again
    # (detail: reason, subtype; docs/email.md#bounces-and-complaints).
    EMAIL_SUPPRESSED = "email_suppressed"
    # A challenge stored without a code sent: answered by an authenticator app or a recovery
    # code (flows/engine/challenges.py open_unsent).
    OPENED = "opened"
    # The account's factors (docs/factors.md): an app confirmed or removed; a recovery code
    # spent; an app's code refused because its time step was already used (a replay).
    TOTP_ENROLLED = "totp_enrolled"
    TOTP_REMOVED = "totp_removed"
    RECOVERY_CODE_USED = "recovery_code_used"
    TOTP_REPLAY_REFUSED = "totp_replay_refused"
    # Passkeys (docs/factors.md#passkeys; detail: passkey (its id's digest), purpose, reason).
    PASSKEY_ADDED = "passkey_added"
    PASSKEY_REMOVED = "passkey_removed"
    ACCOUNT_DELETED = "account_deleted"  # POST /account/delete (docs/privacy.md)
    PASSKEY_ACCEPTED = "passkey_accepted"
    PASSKEY_REJECTED = "passkey_rejected"
    # The reconciler settled a payment left half-done (subject: the payer; detail: payment_id,
    # outcome, was; docs/payments.md#reconciliation).
    PAYMENT_RECONCILED = "payment_reconciled"


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
