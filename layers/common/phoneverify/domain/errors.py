"""Domain errors: a readable message, a machine code and the extra fields a client is told.

Flows raise these; `phoneverify.http.errors` alone decides how each one answers. The errors
only the HTTP edge can meet (a body too large, a method or path not served, an unforeseen
failure) are the edge's own: `phoneverify.http.edge_errors`."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """An outcome a client is told about: a readable message and a machine code."""

    code: str = "bad_request"
    message: str = "Bad request"

    def __init__(self, message: str | None = None, **extra: Any) -> None:
        self.message = message or type(self).message
        self.extra = extra
        super().__init__(self.message)


class InvalidRequest(DomainError):
    code = "invalid_request"
    message = "Invalid request"


class InvalidPhoneNumber(InvalidRequest):
    """A phone number that is not valid or cannot receive a code by SMS."""

    message = "Invalid phone number"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message, field="phone_number")


class WeakPassword(InvalidRequest):
    """A password refused by the password policy (too short, too long, too common)."""

    message = "Password is too weak"

    def __init__(self, message: str | None = None, field: str = "password") -> None:
        super().__init__(message, field=field)


class ChannelNotAllowed(InvalidRequest):
    """A channel switched off by setting (WhatsApp), or a voice call to a country outside
    the call allow-list."""

    code = "channel_not_allowed"
    message = "This channel is not available. Choose sms."

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message, field="channel")


class AlreadyRegistered(DomainError):
    """Another account holds this email or phone number."""

    code = "already_registered"
    message = "Already registered"


class EmailAlreadyRegistered(AlreadyRegistered):
    code = "email_taken"
    message = "Email already registered"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message, field="email")


class PhoneAlreadyRegistered(AlreadyRegistered):
    code = "phone_taken"
    message = "Phone number already registered"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message, field="phone_number")


class InvalidCredentials(DomainError):
    code = "invalid_credentials"
    message = "Invalid credentials"


class NoPendingVerification(DomainError):
    code = "no_pending_verification"
    message = "No pending verification. Start login again."


class EmailSuperseded(NoPendingVerification):
    """The account's email changed since this flow's code was sent: the flow is over."""

    message = "Your account's email changed since this code was sent."


class PhoneSuperseded(NoPendingVerification):
    """The account's phone was added or changed since this flow's code was sent: the flow is
    over (its code went to a number that is no longer the account's)."""

    message = "Your phone number changed since this code was sent."


class SessionsEnded(PhoneSuperseded):
    """Every session of the account was ended (a logout of every session, a password reset)
    since this login's code was sent: the login is over, and issues no token born ended."""

    message = "Every session of this account was ended since this code was sent."


class PasswordSuperseded(NoPendingVerification):
    """Another password reset of the account set a password since this flow started: this
    flow is over (400, as any flow that has ended), and its password was not set."""

    message = "This password reset was overtaken by another one."


class NoPendingPhoneSwap(NoPendingVerification):
    """No lost phone's swap to cancel or complete: none was recorded, it was cancelled or
    completed, or its grace window after the wait is over."""

    code = "no_pending_phone_swap"
    message = "No pending phone swap. Start again from the password reset."


class VerificationNotFound(DomainError):
    """No flow is known under this flow id (never started, or deleted after its retention)."""

    code = "not_found"
    message = "Verification not found"


class WatchRefused(DomainError):
    """A live-status connection (the WebSocket $connect) for a flow id that is unknown, ended
    (verified, cancelled, locked) or expired. One answer for all of them: a connection
    attempt learns nothing GET /verify/status would not tell it."""

    code = "watch_refused"
    message = "This verification cannot be watched"


class InvalidWebhookSignature(DomainError):
    """A webhook whose signature or timestamp does not check out; nothing was processed."""

    code = "invalid_signature"
    message = "Invalid signature"

    def __init__(self, reason: str = "invalid signature") -> None:
        self.reason = reason  # for the logs and the audit trail, never told to the caller
        super().__init__()


class VerificationExpired(DomainError):
    code = "verification_expired"
    message = "Verification expired. Start login again."


class InvalidCode(DomainError):
    code = "invalid_code"
    message = "Invalid code"

    def __init__(self, attempts_remaining: int) -> None:
        super().__init__(response_code="rejected", attempts_remaining=attempts_remaining)


class RetryLater(DomainError):
    """The client may try again after `retry_after` seconds."""

    code = "rate_limited"
    message = "Too many requests"

    def __init__(self, retry_after: int, message: str | None = None) -> None:
        self.retry_after = max(0, int(retry_after))
        super().__init__(message, retry_after=self.retry_after)


class TooManyWatchers(RetryLater):
    """The flow already has as many live-status connections as a flow may have."""

    code = "too_many_connections"
    message = "Too many live-status connections for this verification"


class TooManyAttempts(RetryLater):
    """The flow is closed for good; a new one may be started at once. `locked` is true when
    the flow's lock is written (by this request or an earlier one), false while another
    request's lock is still on its way."""

    code = "too_many_attempts"
    message = "Too many attempts. Please start the login process again."

    def __init__(self, message: str | None = None, *, locked: bool = False) -> None:
        self.locked = locked
        super().__init__(0, message)


class CheckInProgress(RetryLater):
    """Another request is checking a code for this flow; its outcome decides the flow."""

    code = "check_in_progress"
    message = "A code for this verification is being checked. Please wait a moment."


class ResendTooSoon(RetryLater):
    code = "resend_cooldown"
    message = "Please wait before requesting another code."


class SendLimitReached(RetryLater):
    """A send cap is full: this flow's, or an hourly one per phone number, source IP or
    account. One code and message for every layer, so a client cannot tell which to evade."""

    code = "send_limit_reached"
    message = "Too many codes requested. Please try again later."


class AccountLocked(RetryLater):
    """Too many consecutive wrong codes on one account, across its flows (NIST 800-63B):
    no code is checked, the right one included, until the lock ends or the owner resets the
    password (which proves the phone again and clears the lock)."""

    code = "account_locked"
    message = (
        "This account is locked after too many wrong codes. "
        "Reset your password to unlock it, or try again later."
    )


class PrefixHeld(RetryLater):
    """Codes to this number's prefix are held: too many went there lately and too few were
    entered (SMS pumping, docs/abuse-controls.md#the-fraud-guard). Only codes to numbers
    nobody has proven yet (sign-up, a new number) are ever held."""

    code = "prefix_held"
    message = "Verification codes to this number are temporarily unavailable. Please try later."


class ChallengeRequired(InvalidRequest):
    """The proof-of-work gate is on for this request and no solved challenge came with it
    (GET /challenge gives one; the `altcha` field carries the solution)."""

    code = "challenge_required"
    message = "Solve the challenge from GET /challenge and send it as altcha"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message, field="altcha")


class ChallengeInvalid(InvalidRequest):
    """A proof-of-work solution that is malformed, wrong, expired or already used."""

    code = "challenge_invalid"
    message = "The challenge solution is invalid, expired or already used"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message, field="altcha")


class LoginThrottled(RetryLater):
    """Too many wrong passwords for this email, or from this source address: the next
    attempt waits. The same answer for known and unknown emails."""

    code = "login_throttled"
    message = "Too many failed sign-in attempts. Please wait before trying again."

    def __init__(self, retry_after: int, subject: str | None = None) -> None:
        # Whom the refusal is audited under, as the failure that set the wait named it (the
        # account, or the hashed email of none); never in the response.
        self.subject = subject
        super().__init__(retry_after)


class SourceThrottled(LoginThrottled):
    """LoginThrottled because the source address is at its cap of wrong passwords (not the
    account's wait): answered alike, but where the proof-of-work gate is on, a solved challenge
    lets a right password through (everyone behind one NAT is not locked out)."""


class SendBudgetExhausted(DomainError):
    """The service-wide SMS budget of the window is spent: the circuit breaker is open."""

    code = "sms_budget_exhausted"
    message = "Verification codes are temporarily unavailable. Please try again later."

    def __init__(self, retry_after: int) -> None:
        self.retry_after = max(1, int(retry_after))
        super().__init__(retry_after=self.retry_after)


class EmailBudgetExhausted(SendBudgetExhausted):
    """The service-wide email budget of the window is spent: the email circuit breaker is
    open (domain/email_limits.py)."""

    code = "email_budget_exhausted"
    message = "Emails are temporarily unavailable. Please try again later."


class EmailUndeliverable(InvalidRequest):
    """The address bounced or complained (an SES event): no email is tried to it again."""

    code = "email_undeliverable"
    message = "This email address cannot receive our emails. Use another address."

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message, field="email")


class PhoneNotAllowed(InvalidPhoneNumber):
    """A valid number in a country outside the allow-list, or on a non-geographic network
    (satellite, international freephone or premium rate)."""

    code = "phone_not_allowed"
    message = "Phone number not allowed"


class AccountPhoneNotAllowed(DomainError):
    """The phone stored on the account is no longer one codes may be sent to (the policy
    changed after it was registered); the person has to contact support."""

    code = "phone_not_allowed"
    message = "Verification codes cannot be sent to the phone number on this account."


class CodeDeliveryFailed(DomainError):
    """Telnyx could not be reached or refused to send; nothing was written."""

    code = "code_delivery_failed"
    message = "Failed to send verification code"


class EmailDeliveryFailed(CodeDeliveryFailed):
    """The email service refused or could not be reached (its code: code_delivery_failed)."""

    message = "The email could not be sent. Try again later."


class CodeCheckFailed(DomainError):
    """Telnyx could not check the code; no attempt was consumed."""

    code = "code_check_failed"
    message = "Verification failed"


class StorageUnavailable(DomainError):
    """DynamoDB throttled or could not be reached."""

    code = "service_unavailable"
    message = "Service temporarily unavailable. Please try again."

    def __init__(self, retry_after: int = 1) -> None:
        self.retry_after = retry_after
        super().__init__(retry_after=retry_after)


class NotAuthenticated(DomainError):
    """No authenticated user reached the handler (the authorizer should have refused first)."""

    code = "unauthorized"
    message = "Unauthorized"


class TokenRefused(NotAuthenticated):
    """A bearer token that is not (or no longer) valid, answered like any missing token. `reason`
    and `subject` are for the logs and the audit trail, never for the response."""

    def __init__(self, reason: str, subject: str | None = None) -> None:
        self.reason = reason
        self.subject = subject
        super().__init__()


class ReauthRequired(DomainError):
    """A sensitive change without a valid `Reauth-Token`: missing, expired, forged, of another
    account or session, or ended since (docs/sessions.md#fresh-authentication). Why is for the
    audit trail (flows/engine/step_up.py), never for the response."""

    code = "reauth_required"
    message = "Confirm it is you first: POST /account/reauth/start, then send its Reauth-Token."

    def __init__(self) -> None:
        super().__init__(field="Reauth-Token")


class PhoneSwapPending(DomainError):
    """The account already has a lost phone's swap waiting: one at a time."""

    code = "phone_swap_pending"
    message = "A phone swap is already waiting on this account."


class LostPhoneWaiting(DomainError):
    """The new number binds only after the waiting period: `retry_after` seconds left."""

    code = "lost_phone_waiting"
    message = "The new number binds once the waiting period is over."

    def __init__(self, retry_after: int) -> None:
        self.retry_after = max(1, int(retry_after))
        super().__init__(retry_after=self.retry_after)
