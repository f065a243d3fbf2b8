"""What the flows need from the outside world. Adapters implement these; tests use fakes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from phoneverify.domain.fraud import Hold, PrefixTripped
from phoneverify.domain.models import (
    ChallengeState,
    Channel,
    DeliveryStatus,
    Exemption,
    FlowKind,
    NoticeEvent,
    PasswordAttempt,
    Payment,
    PaymentStatus,
    PendingVerification,
    PhoneBinding,
    RequestOrigin,
    SendPermit,
    StepUpReason,
    User,
    VerificationEvent,
    WebhookEvent,
)
from phoneverify.domain.rates import RateTable
from phoneverify.domain.tiers import SendTier
from phoneverify.domain.tokens import TokenClaims


class ConditionFailed(Exception):
    """A conditional write's condition did not hold; nothing was written. `item` is the item
    as it was, when the write asked for it (DynamoDB: ReturnValuesOnConditionCheckFailure)."""

    def __init__(self, item: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.item = item


@dataclass(frozen=True)
class FlowWrite:
    """A conditional write on a flow that answers with the flow as it was just before it, so
    no read is needed first: `done` when the write happened; `record` the flow before the
    write either way (None when there is no such flow). A refusal's `record` tells why."""

    done: bool
    record: PendingVerification | None


@dataclass(frozen=True)
class PaymentWrite:
    """FlowWrite's twin for a payment: `done`, and the payment as it was before the write."""

    done: bool
    payment: Payment | None


class CodeSender(Protocol):
    """Sends codes and checks them (Telnyx Verify in production)."""

    def send(self, phone_number: str, channel: Channel = Channel.SMS) -> str:
        """Send a fresh code by `channel`; return the provider's verification id.

        Raises CodeDeliveryFailed when the provider cannot be reached or refuses.
        """
        ...

    def check(self, verification_id: str, code: str) -> bool:
        """True when `code` is the code of that verification.

        Raises CodeCheckFailed when the provider cannot answer.
        """
        ...

    def ready(self, *, sending: bool) -> None:
        """Resolve what a send (`sending`) or a check needs before it reaches the provider
        (its credentials, read once per worker and cached), and call nothing: what a decoy
        does in place of a send or a check, so that a cold worker reads the same secrets for
        both kinds (docs/abuse-controls.md#the-decoy-password-reset)."""
        ...


class AccountNotices(Protocol):
    def notify(self, phone: str, event: NoticeEvent) -> None:
        """Tell the account's owner at `phone` (E.164). Never raises: a notice that
        cannot be sent is retried and audited by the adapter, and never blocks the change."""
        ...


class NoticeBudget(Protocol):
    """What a notice counts in before it is sent: the service-wide SMS budget codes count in
    too, and a per-number cap of notices of its own (never the per-phone code limits, so
    notices cannot lock the owner out of codes)."""

    def admit_notice(self, phone_number: str) -> SendPermit:
        """Count one notice to `phone_number`. Raises SendLimitReached (the number's notice
        cap), SendBudgetExhausted (the circuit breaker) or StorageUnavailable."""
        ...

    def release(self, permit: SendPermit) -> None:
        """Give back what `admit_notice` counted (best effort, as SendGuard.release)."""
        ...


class UserRepository(Protocol):
    def find_by_email(self, email: str) -> User | None:
        """The account of `email`, if any, at the same cost either way (an unknown email must
        not answer faster: /login and the password reset tell nobody who is registered)."""
        ...


class UserRegistry(UserRepository, Protocol):
    """What registration needs: who holds a phone number, and creating an account."""

    def find_by_phone(self, phone_number: str) -> User | None: ...

    def put_user(self, user: User, *, phone_verified_at: float | None = None) -> None:
        """Create the account and claim its email (and phone) in one conditional write.

        Raises EmailAlreadyRegistered / PhoneAlreadyRegistered when another account holds
        either; nothing is written then.
        """
        ...


class AccountRecovery(UserRepository, Protocol):
    """What the password reset needs of the users."""

    def get(self, user_id: str) -> User | None:
        """The account, read consistently (None when there is none)."""
        ...

    def reset_password(
        self, user_id: str, password_hash: str, now: float, password_generation: int
    ) -> None:
        """Set the account's new password hash, end every token it was issued and raise its
        password generation, in one conditional write on the existing account whose password
        generation is still `password_generation` (User.password_generation when the reset
        started). Raises PasswordSuperseded (another reset came first, or no account),
        StorageUnavailable."""
        ...


class VerificationStore(Protocol):
    """Pending verifications. Every state change is a conditional write: the `bool` methods
    answer False when their condition did not hold, and change nothing then."""

    def create(self, record: PendingVerification, ttl: int) -> None: ...

    def get(self, flow_key: str) -> PendingVerification | None: ...

    def reserve_attempt(
        self,
        flow_key: str,
        kind: FlowKind,
        now: float,
        lease_until: float,
        *,
        owner: str | None = None,
    ) -> FlowWrite:
        """Count one attempt if the flow is of `kind`, pending, unexpired, below its cap and
        not held by another check (and, with an `owner`, that subject's); hold it until
        `lease_until`. The record is the flow before the attempt was counted: its
        verification id is the code the attempt is for."""
        ...

    def release_check(self, flow_key: str, lease_until: float) -> bool:
        """Let the next check in, after a rejected code (refund_attempt releases too)."""
        ...

    def refund_attempt(self, flow_key: str, verification_id: str) -> bool: ...

    def prove(self, flow_key: str, verification_id: str, proven_id: str) -> bool:
        """The flow's code was right but something after it refused the request (a password
        reset's new password): the flow stays pending with `proven_id` as its verification
        id (a keyed digest of the right code, checked without the provider, who accepts a
        code once), its attempt given back and its check lease released; only while it is
        pending on `verification_id` with an attempt counted."""
        ...

    def mark_verified(
        self,
        flow_key: str,
        verification_id: str,
        now: float,
        binding: PhoneBinding | None = None,
    ) -> bool:
        """pending -> verified, on this verification id. With a `binding`, only while the
        account's phone generation is still the bound one, in the same write: else raises
        PhoneSuperseded and changes nothing."""
        ...

    def lock(self, flow_key: str, now: float) -> bool: ...

    def reserve_send(
        self,
        flow_key: str,
        kind: FlowKind,
        token: str,
        now: float,
        *,
        cooldown_secs: int,
        max_sends: int,
        retention_secs: int,
        owner: str | None = None,
    ) -> FlowWrite:
        """Claim the right to send a code: a flow of `kind`, pending, below its attempt cap,
        past the cooldown, below the send cap, and expired less than `retention_secs` ago;
        with an `owner`, only a flow of that subject. The record is the flow before the claim
        (its `last_sent_at` is what release_send puts back). The account phone a bound flow
        was sent under is checked by SendGuard.admit, in the send limits' transaction."""
        ...

    def release_send(self, flow_key: str, token: str, previous_sent_at: float) -> bool:
        """Undo reserve_send after the provider failed to send."""
        ...

    def complete_send(
        self,
        flow_key: str,
        token: str,
        verification_id: str,
        expires_at: float,
        ttl: int,
        channel: Channel = Channel.SMS,
    ) -> bool:
        """Switch the flow to the new code, sent by `channel` (its delivery status starts
        over at unknown)."""
        ...

    def cancel(self, flow_key: str, now: float) -> PendingVerification | None:
        """pending -> cancelled, unless the record outlived its TTL (gone, only not deleted):
        the flow as it is now, cancelled, or None when nothing was pending."""
        ...

    def find_by_verification_id(self, verification_id: str) -> list[str]:
        """Keys of the flows whose current code is (or, read from an index that lags, was)
        `verification_id`; usually one, none when no flow holds it (yet)."""
        ...

    def record_delivery(
        self, flow_key: str, verification_id: str, delivery: DeliveryStatus, now: float
    ) -> bool:
        """Move the flow's delivery status forward to `delivery`, only while the flow is
        pending on this verification id and its status ranks below `delivery`. (A webhook
        moves it with its event's claim instead: DeliveryLedger.record.)"""
        ...


class PushUnavailable(Exception):
    """A push could not be handed to the connection (the push endpoint failed or timed out);
    the connection may still be there. Never a reason to fail what caused the push."""


class WatcherRegistry(Protocol):
    """The live-status connections (WebSocket) watching each flow, by the flow's key (a hash
    of its flow id, never the id). Every change is a conditional write."""

    def add(self, flow_key: str, connection_id: str, *, ttl: int, cap: int, now: float) -> bool:
        """Register the connection as a watcher of the flow, unless the flow already has
        `cap` watchers (False then, nothing written). Both live until `ttl` (epoch seconds)."""
        ...

    def remove(self, connection_id: str, now: float) -> None:
        """The connection closed ($disconnect): forget it, whichever flow it watched.
        Forgetting an unknown connection is no error. Raises StorageUnavailable."""
        ...

    def drop(
        self, flow_key: str, connection_id: str, *, connected_before: float | None = None
    ) -> None:
        """Forget a watcher of the flow that is gone (its push found no connection); with
        `connected_before`, only if it was added before then (epoch seconds): a younger one
        may still be in its $connect, not open yet, which a push finds "gone" just the same
        (it stays counted: docs/realtime.md)."""
        ...

    def watchers(self, flow_key: str, now: float) -> list[str]:
        """Connection ids watching the flow (none once the registration outlived its ttl)."""
        ...


class StatusPush(Protocol):
    """Messages pushed to one open connection (API Gateway's management API in production)."""

    def post(self, connection_id: str, state: ChallengeState) -> bool:
        """Send `state`, in the shape of GET /verify/status's body; False when the connection
        is gone (closed by the client, its idle timeout or its maximum duration). Raises
        PushUnavailable."""
        ...


class VerificationEvents(Protocol):
    def record(self, event: VerificationEvent) -> None: ...


class SendGuard(Protocol):
    """Limits on sending codes beyond one flow's: per phone number, source IP and account,
    and a service-wide budget. Asked before every send; all or nothing, so a refused send
    counts nowhere."""

    def admit(
        self,
        phone_number: str,
        subject: str,
        origin: RequestOrigin,
        channel: Channel = Channel.SMS,
        binding: PhoneBinding | None = None,
        *,
        account_lock: bool = False,
        tier: SendTier = SendTier.VERIFIED,
        gated: bool = False,
        vouched: bool = False,
    ) -> SendPermit:
        """Count one send of `tier` to `phone_number` for `subject` from `origin` by `channel`
        (a call counts in the call caps too), in that tier's counters and budget only. With
        `account_lock`, only while `subject`'s account is not locked (the FailureCounter the
        guard was built with), and with a `binding` (a resend of a flow sent to the account's
        phone), only while the account's phone generation is still the bound one: both checked
        in the same transaction, so no read comes before it and no code goes to a locked
        account or a number the account has left. A code of the unproven tier also passes the
        fraud guard in that transaction (its prefix and country not held, the prefix not over
        the rule; an operator's deny list). `gated` without `vouched`: the source's cap is its
        risk cap, whose refusal asks for a solved challenge; `vouched`: no hold refuses.

        Raises AccountLocked (429, retry_after as FailureCounter.ensure_unlocked; answered
        before anything else), PhoneSuperseded (before any cap), PhoneNotAllowed (a denied
        destination), PrefixHeld (429; PrefixTripped when this send tripped the rule),
        SendLimitReached (429, retry_after = seconds until the full window ends),
        ChallengeRequired (the risk cap), SendBudgetExhausted (503, the tier's circuit
        breaker), all counting nothing, or StorageUnavailable.
        """
        ...

    def release(self, permit: SendPermit) -> None:
        """Give back what `admit` counted, after the provider failed to send (best effort:
        never raises for a storage failure)."""
        ...


class PrefixGuard(Protocol):
    """The fraud guard's writes outside a send's transaction (docs/abuse-controls.md): holds
    placed when a prefix trips, and codes entered, per prefix. Both best effort: the
    detector fails open on its own storage errors."""

    def hold(self, tripped: PrefixTripped) -> list[Hold]:
        """Hold the prefix `tripped` names (and its country, when enough of its prefixes are
        held); the holds this call placed."""
        ...

    def count_verified(self, phone_number: str, sent_at: float) -> None:
        """A code to the unproven `phone_number`, sent at `sent_at`, was entered."""
        ...


class FailureCounter(Protocol):
    """Consecutive wrong codes per account (subject), across all its flows."""

    def ensure_unlocked(self, subject: str) -> None:
        """Raise AccountLocked (429, retry_after = seconds until the lock ends) at the cap."""
        ...

    def reserve(self, subject: str) -> int:
        """Count one failure in advance of a code check; return how many more may follow
        before the lock (0: this one reached the cap). Conditional, so concurrent checks
        cannot exceed the cap. Raises AccountLocked, counting nothing, when at the cap."""
        ...

    def refund(self, subject: str) -> None:
        """Give back a reservation whose check never happened (the provider failed, or
        another request consumed the flow). Best effort: never raises for a storage failure."""
        ...

    def reset(self, subject: str) -> None:
        """A code was accepted: the consecutive failures start over. Best effort: never
        raises for a storage failure (the code is accepted regardless)."""
        ...


class PasswordThrottle(Protocol):
    """Consecutive wrong passwords per account key (phoneverify.domain.throttling.account_key) and
    wrong passwords per source address, with the rules of PasswordThrottlePolicy.
    Race-safe: an attempt is counted as a failure before its password is checked."""

    def admit(
        self, account_key: str, origin: RequestOrigin, *, vouched: bool = False
    ) -> PasswordAttempt:
        """Count one attempt in advance. Raises LoginThrottled (429, retry_after; `subject`
        as the account's wait recorded it, or None) while the account waits, SourceThrottled
        while the source is at its cap, counting nothing then. `vouched` (a solved proof of
        work came): the source's cap does not refuse (it still counts)."""
        ...

    def failed(self, attempt: PasswordAttempt, subject: str | None = None) -> int:
        """The password was wrong: the failure stays counted; return the seconds the next
        attempt for this account waits (0 within the free failures). Best effort. The wait
        keeps `subject` (whom the failure was audited under): the LoginThrottled of an
        attempt it refuses names it, so a refusal is audited where the failures are."""
        ...

    def succeeded(self, attempt: PasswordAttempt) -> None:
        """The password was right: the account's failures start over and the source gets
        its count back. Best effort: never raises for a storage failure."""
        ...

    def clear(self, account_key: str) -> None:
        """Forget the account's failures (a password reset). Best effort."""
        ...


class SignedWebhooks(Protocol):
    """A provider's signed webhook deliveries."""

    def open(self, raw_body: bytes, headers: Mapping[str, str]) -> WebhookEvent:
        """The event in a body whose signature checks out over its exact bytes; raises
        InvalidWebhookSignature (nothing read) or InvalidRequest (signed, but not an event)."""
        ...


@dataclass(frozen=True)
class DeliveryWrite:
    """What one delivery report's write did: `recorded` its event id's claim and the flow's
    move forward, together; `duplicate` when the event id was claimed before (nothing
    written); neither when the flow refused the move (nothing written either). `watchers`:
    the flow's live-status connections at that very write, when recorded."""

    duplicate: bool
    recorded: bool
    watchers: tuple[str, ...] = ()


class DeliveryLedger(Protocol):
    """Provider delivery reports taken in, by event id, so a redelivery is processed once.
    A claim is written together with what its report changed, all or nothing."""

    def record(
        self,
        event_id: str,
        flow_key: str,
        verification_id: str,
        delivery: DeliveryStatus,
        now: float,
    ) -> DeliveryWrite:
        """In one write, claim `event_id` and move the flow's delivery status forward to
        `delivery`: only while the flow is pending on `verification_id` and its status ranks
        below `delivery`. Raises StorageUnavailable, with nothing written."""
        ...

    def claim(self, event_id: str, now: float) -> bool:
        """Claim `event_id` alone, for a report that moves no flow (so that its redelivery
        is a duplicate); False when it was claimed before."""
        ...


class UserLookup(Protocol):
    def get(self, user_id: str) -> User | None: ...


class AccountPhones(UserLookup, Protocol):
    """What adding or changing an account's phone needs of the users."""

    def change_phone(
        self, user_id: str, old_phone: str | None, new_phone: str, phone_generation: int, now: float
    ) -> None:
        """Swap the account's phone in one transaction: release `old_phone`'s pointer, claim
        `new_phone`'s only if no account holds it, and update the account only while its
        phone generation is still `phone_generation` (raising it by one).

        Raises PhoneAlreadyRegistered (another account holds `new_phone`), PhoneSuperseded
        (the phone changed since the flow began, or the account is gone) or
        StorageUnavailable; nothing is written then."""
        ...


class PaymentRepository(Protocol):
    """Payments. Every state change is a conditional write: the `bool` methods answer False
    when their condition did not hold, and change nothing then."""

    def create(self, payment: Payment) -> None: ...

    def get(self, payment_id: str) -> Payment | None: ...

    def claim(
        self, payment_id: str, user_id: str, token: str, now: float, lease_secs: int
    ) -> PaymentWrite:
        """Hold the right to confirm `user_id`'s pending, unexpired payment for `lease_secs`,
        unless another confirmation holds it: one code check per payment at a time. Answers
        with the payment as it was, so no read comes before it (a refusal's tells why)."""
        ...

    def release(self, payment_id: str, token: str) -> bool:
        """Give up the claim `token` holds."""
        ...

    def begin_processing(self, payment: Payment, token: str, now: float) -> bool:
        """pending -> processing, for the holder of `token`, only while user, amount,
        currency and recipient are still those of `payment` (the ones the code was sent for)."""
        ...

    def complete(self, payment_id: str, transaction_id: str, now: float) -> bool:
        """processing -> completed."""
        ...

    def fail(self, payment_id: str, from_status: PaymentStatus, reason: str, now: float) -> bool:
        """`from_status` -> failed."""
        ...

    def expire(self, payment_id: str, now: float) -> bool:
        """pending -> expired."""
        ...

    def cancel(self, payment_id: str, now: float) -> bool:
        """pending -> cancelled; False when the payment was no longer pending."""
        ...

    def extend(self, payment_id: str, expires_at: float, now: float) -> bool:
        """Move the expiry of a pending, unexpired payment (after a resend)."""
        ...


class RateSource(Protocol):
    """The operators' exchange rates to the reference currency (domain/rates.py)."""

    def current(self) -> RateTable:
        """The table as last read (cached); never raises: a table that cannot be read or
        used is an empty one (every currency but the reference then asks for a code)."""
        ...


class ExemptPayments(Protocol):
    """Per account, the payments completed without a code since its last verified payment:
    how many (across currencies) and their sum converted to the reference currency, in its
    minor units (PSD2 RTS Art. 16)."""

    def reserve_and_create(
        self,
        payment: Payment,
        amount_minor: int,
        *,
        sum_currency: str,
        cumulative_limit_minor: int,
        max_payments: int,
        now: float,
    ) -> Exemption | StepUpReason:
        """Count `payment` (`amount_minor`: its amount converted to `sum_currency`, the
        reference currency, in that currency's minor units) as one more without a code and
        write it (PaymentRepository.create), all or nothing, while fewer than `max_payments`
        are counted, the sum with it stays below `cumulative_limit_minor`, and the account is
        not locked (FailureCounter): one conditional write, so concurrent payments, in any
        currencies, can never pass the limits together, and nothing is counted for a payment
        not written.

        Otherwise nothing is written, and the count answers why a code is needed
        (CUMULATIVE_AMOUNT before PAYMENT_COUNT when both hold): it answers before the lock,
        which the code's send then meets. Raises AccountLocked (with the lock's Retry-After)
        when only the lock refuses, ConditionFailed when the payment id is taken, and
        StorageUnavailable."""
        ...

    def give_back(self, exemption: Exemption) -> None:
        """Uncount a counted payment that did not go through (declined), unless it was given
        back already or a verified payment started the count over since. Best effort: never
        raises for a storage failure (a count not given back only asks for a code sooner)."""
        ...

    def reset(self, user_id: str) -> None:
        """A payment was verified with a code: the count and the sums start over. Best
        effort, and may be written at the end of the request: never raises for a storage
        failure (the payment is completed regardless; a count left behind only asks for a
        code sooner)."""
        ...


class PaymentProcessor(Protocol):
    """Moves the money (Stripe and the like plug in here)."""

    def charge(self, payment: Payment) -> str:
        """Execute `payment` once and return the processor's transaction id. Charging the
        same payment id again moves no money and returns the first transaction id.

        Raises PaymentDeclined when the processor refuses the payment for good.
        """
        ...


class IdempotentRequests(Protocol):
    def run(
        self,
        scope: str,
        key: str,
        request: Mapping[str, Any],
        compute: Callable[[], dict[str, Any]],
    ) -> dict[str, Any]:
        """The first answer computed for (`scope`, `key`); `compute` runs at most once per
        pair while its answer is kept. A failed `compute` keeps nothing.

        Raises IdempotencyKeyReused when `request` differs from the first one, and
        IdempotencyKeyInUse while the first is still running.
        """
        ...


class AccountTokens(Protocol):
    """Ending every token of an account, as the account lock needs it."""

    def end_all_tokens(self, user_id: str) -> str | None:
        """End every token of the account issued so far: one conditional write raising its
        token generation. An account that does not exist (a pending registration) has no
        token to end: nothing happens then. Returns the account's phone number (E.164), None
        when it has none or does not exist. Raises StorageUnavailable."""
        ...


class TokenRevocations(Protocol):
    """Access tokens ended before their expiry (docs/sessions.md)."""

    def end_token(self, jti: str, expires_at: int) -> None:
        """End one token (logout), until its own expiry. Ending it twice is no error."""
        ...

    def end_all_tokens(self, user_id: str) -> str | None:
        """End every token of the account issued so far (logout of every session, password
        reset, account lock): one conditional write raising its token generation, which also
        answers the account's phone number (for the notice; None without one). An account
        that no longer exists has no token left to end: nothing happens then.

        Raises StorageUnavailable.
        """
        ...

    def refusal(self, claims: TokenClaims) -> str | None:
        """Why a token with valid claims is no longer active (tokens.revocation_refusal), or
        None while it is. One read. Raises StorageUnavailable."""
        ...

    def is_active(self, claims: TokenClaims) -> bool:
        """`refusal(claims) is None`."""
        ...


# -- the proof-of-work gate (docs/abuse-controls.md#the-proof-of-work-gate) -------------------
class HumanCheck(Protocol):
    """A check a client passes before a code goes to a number nobody has proven: a proof of
    work (ALTCHA) today; Turnstile or hCaptcha can stand behind the same two calls."""

    def issue(self) -> dict[str, Any]:
        """A fresh challenge: the JSON the client solves (GET /challenge answers it)."""
        ...

    def verify(self, payload: str) -> None:
        """Accept the client's solution `payload` once. Raises ChallengeInvalid when it is
        malformed, wrong, expired or already used; StorageUnavailable when whether it was used
        cannot be recorded."""
        ...
