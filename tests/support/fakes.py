"""In-memory adapters for flow tests. The store honours the same conditions as the DynamoDB
store; tests/integration/test_verification_store.py runs one contract against both."""

from __future__ import annotations

import itertools
import json
import math
import secrets
import threading
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from phoneverify.adapters.dynamo.idempotency import answer_from_stored, stored_answer
from phoneverify.domain.audit_events import VerificationEvent
from phoneverify.domain.errors import (
    AccountLocked,
    CodeCheckFailed,
    CodeDeliveryFailed,
    EmailAlreadyRegistered,
    EmailSuperseded,
    LoginThrottled,
    PasswordSuperseded,
    PhoneAlreadyRegistered,
    PhoneSuperseded,
    SendBudgetExhausted,
    SessionsEnded,
    SourceThrottled,
    StorageUnavailable,
)
from phoneverify.domain.fraud import (
    HOLD_COUNTRY,
    HOLD_PREFIX,
    FraudPolicy,
    FraudRules,
    Hold,
    PrefixTripped,
    destination,
    ensure_not_denied,
    held,
    hold_key,
    hold_until,
    prefix_counter_key,
    window_of,
)
from phoneverify.domain.lifecycle import flow as flow_rules
from phoneverify.domain.lifecycle import payment as payment_rules
from phoneverify.domain.lifecycle.account_lock import AccountLockRule, FailureCount
from phoneverify.domain.lifecycle.flow import FlowAsk, FlowState, FlowTransition
from phoneverify.domain.lifecycle.payment import Claim, PaymentAsk, PaymentState, PaymentTransition
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
)
from phoneverify.domain.notices import (
    NoticeStatus,
    OutboxNotice,
    OutboxPolicy,
    claimable,
    pending_ttl,
    settled_ttl,
)
from phoneverify.domain.payment_errors import (
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    PaymentDeclined,
)
from phoneverify.domain.rates import RateTable
from phoneverify.domain.send_limits import (
    GLOBAL,
    METRIC_ADMITTED,
    METRIC_BUDGET_EXHAUSTED,
    METRIC_REFUSED,
    METRIC_TIER_ADMITTED,
    METRIC_TIER_EXHAUSTED,
    NOTICE_TIER,
    SendCaps,
    budget_shard_caps,
    notice_counters,
    refusal,
    send_counters,
)
from phoneverify.domain.throttling import PasswordThrottlePolicy
from phoneverify.domain.tiers import SendTier
from phoneverify.domain.tokens import TokenClaims, revocation_refusal
from phoneverify.ports.accounts import UserLookup
from phoneverify.ports.conditions import ConditionFailed
from phoneverify.ports.payments import (
    PaymentAnswer,
    PaymentWrite,
    ProcessorSettlement,
    Settlement,
)
from phoneverify.ports.verifications import DeliveryWrite, FlowWrite, PushUnavailable


class FakeClock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self._now = now

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += seconds


class FakeCodeSender:
    """Sends codes to an outbox; `fail_sends`/`fail_checks` make the next calls fail."""

    def __init__(self, code_length: int = 6) -> None:
        self.code_length = code_length
        self.codes: dict[str, str] = {}
        self.outbox: list[tuple[str, str, str]] = []  # (phone, verification id, code)
        self.checks: list[tuple[str, str]] = []
        self.channels: dict[str, Channel] = {}  # verification id -> how its code went
        self.readied: list[str] = []  # what decoys resolved in place of a send or a check
        self.fail_sends = 0
        self.fail_checks = 0
        self._ids = itertools.count(1)

    def send(self, phone_number: str, channel: Channel = Channel.SMS) -> str:
        if self.fail_sends:
            self.fail_sends -= 1
            raise CodeDeliveryFailed()
        verification_id = f"v-{next(self._ids)}"
        code = "".join(secrets.choice("0123456789") for _ in range(self.code_length))
        while code in self.codes.values():  # distinct codes keep cross-flow tests meaningful
            code = "".join(secrets.choice("0123456789") for _ in range(self.code_length))
        self.codes[verification_id] = code
        self.channels[verification_id] = channel
        self.outbox.append((phone_number, verification_id, code))
        return verification_id

    def ready(self, *, sending: bool) -> None:
        self.readied.append("send" if sending else "check")

    def check(self, verification_id: str, code: str) -> bool:
        self.checks.append((verification_id, code))
        if self.fail_checks:
            self.fail_checks -= 1
            raise CodeCheckFailed()
        return self.codes.get(verification_id) == code

    def last_code(self, phone_number: str) -> str:
        return next(code for phone, _, code in reversed(self.outbox) if phone == phone_number)

    def wrong_code(self, phone_number: str) -> str:
        right = self.last_code(phone_number)
        return str((int(right) + 1) % 10**self.code_length).zfill(self.code_length)


class InMemoryUsers:
    """Users by email and by phone; put_user claims both at once, as the DynamoDB one does."""

    def __init__(self, *users: User) -> None:
        self.by_email = {u.email: u for u in users}
        self.by_phone = {u.phone_number: u for u in users if u.phone_number}
        self.phone_verified_at: dict[str, float | None] = {}
        self._lock = threading.Lock()

    def find_by_email(self, email: str) -> User | None:
        return self.by_email.get(email)

    def email_holder(self, email: str) -> str | None:
        user = self.by_email.get(email)
        return None if user is None else user.user_id

    def find_by_phone(self, phone_number: str) -> User | None:
        return self.by_phone.get(phone_number)

    def get(self, user_id: str) -> User | None:
        return next((u for u in self.by_email.values() if u.user_id == user_id), None)

    def replace(self, user: User) -> None:
        """Store a changed copy of an existing account (same email and phone)."""
        self.by_email[user.email] = user
        if user.phone_number:
            self.by_phone[user.phone_number] = user

    def change_email(self, user_id: str, old_email: str, new_email: str, now: float) -> None:
        """As DynamoAccountEmails.change_email: the account first, then the new pointer."""
        with self._lock:
            user = self.get(user_id)
            if user is None or user.email != old_email:
                raise EmailSuperseded()
            if new_email in self.by_email:
                raise EmailAlreadyRegistered()
            del self.by_email[old_email]
            self.replace(replace(user, email=new_email, email_proven_at=now))

    def prove_email(self, user_id: str, email: str, now: float) -> None:
        with self._lock:
            user = self.get(user_id)
            if user is None or user.email != email:
                raise EmailSuperseded()
            self.replace(replace(user, email_proven_at=now))

    def put_user(self, user: User, *, phone_verified_at: float | None = None) -> None:
        with self._lock:
            if user.phone_number and user.phone_number in self.by_phone:
                raise PhoneAlreadyRegistered()
            if user.email in self.by_email:
                raise EmailAlreadyRegistered()
            self.by_email[user.email] = user
            if user.phone_number:
                self.by_phone[user.phone_number] = user
            self.phone_verified_at[user.user_id] = phone_verified_at

    def end_all_tokens(self, user_id: str) -> str | None:
        with self._lock:
            user = self.get(user_id)
            if user is None:
                return None
            self.replace(replace(user, token_generation=user.token_generation + 1))
            return user.phone_number

    def reset_password(
        self, user_id: str, password_hash: str, now: float, password_generation: int
    ) -> None:
        """As DynamoUserRepository.reset_password: only while the password generation is
        still the one the reset started under."""
        with self._lock:
            user = self.get(user_id)
            if user is None or user.password_generation != password_generation:
                raise PasswordSuperseded()
            self.replace(
                replace(
                    user,
                    password_hash=password_hash,
                    token_generation=user.token_generation + 1,
                    password_generation=password_generation + 1,
                )
            )

    def change_phone(
        self,
        user_id: str,
        old_phone: str | None,
        new_phone: str,
        phone_generation: int,
        now: float,
        *,
        token_generation: int | None = None,
    ) -> None:
        """As DynamoUserRepository.change_phone: all or nothing, the account's condition first."""
        with self._lock:
            user = self.get(user_id)
            if (
                user is None
                or user.phone_generation != phone_generation
                or user.phone_number != old_phone
                or token_generation not in (None, user.token_generation)
            ):
                raise PhoneSuperseded()
            if new_phone in self.by_phone:
                raise PhoneAlreadyRegistered()
            if old_phone:
                del self.by_phone[old_phone]
            changed = replace(
                user,
                phone_number=new_phone,
                phone_generation=phone_generation + 1,
                token_generation=user.token_generation + 1,
            )
            self.by_email[user.email] = changed
            self.by_phone[new_phone] = changed
            self.phone_verified_at[user_id] = now


class InMemoryTokenRevocations:
    """TokenRevocations over InMemoryUsers, deciding as DynamoTokenRevocations does (one
    `revocation_refusal`); `unavailable` makes the next checks fail as a throttled read."""

    def __init__(self, users: InMemoryUsers, clock: FakeClock) -> None:
        self.users = users
        self.clock = clock
        self.ended: dict[str, int] = {}  # jti -> the token's expiry (the TTL)
        self.checks = 0
        self.unavailable = 0

    def end_token(self, jti: str, expires_at: int) -> None:
        self.ended.setdefault(jti, expires_at)

    def end_all_tokens(self, user_id: str) -> str | None:
        return self.users.end_all_tokens(user_id)

    def refusal(self, claims: TokenClaims) -> str | None:
        self.checks += 1
        if self.unavailable:
            self.unavailable -= 1
            raise StorageUnavailable()
        user = self.users.get(claims.subject)
        generation = None if user is None else user.token_generation
        return revocation_refusal(claims, generation, self.ended.get(claims.jti), self.clock.now())

    def is_active(self, claims: TokenClaims) -> bool:
        return self.refusal(claims) is None


class InMemoryVerificationStore:
    """VerificationStore by the flow lifecycle's rules (domain/lifecycle/flow.py), as the
    DynamoDB store: `items` the records, `ttls` and `send_tokens` what lives beside them."""

    def __init__(self, users: UserLookup | None = None) -> None:
        """`users`: where a bound flow's account phone generation is checked."""
        self.users = users
        self.items: dict[str, PendingVerification] = {}
        self.ttls: dict[str, int] = {}
        self.send_tokens: dict[str, str] = {}
        self._lock = threading.Lock()

    def state(self, flow_key: str) -> FlowState | None:
        record = self.items.get(flow_key)
        if record is None:
            return None
        return FlowState(record, self.ttls.get(flow_key, 0), self.send_tokens.get(flow_key))

    def _move(
        self,
        flow_key: str,
        transition: FlowTransition,
        ask: FlowAsk,
        before_write: Callable[[], None] | None = None,
    ) -> FlowState | None:
        """`transition` if the rules let it write: the flow as written, else None."""
        with self._lock:
            state = self.state(flow_key)
            if not flow_rules.applies(transition, state, ask):
                return None
            if before_write is not None:
                before_write()  # the other checks of the same write (a binding's)
            moved = flow_rules.after(transition, state, ask)
            self.items[flow_key], self.ttls[flow_key] = moved.record, moved.ttl
            if moved.send_token is None:
                self.send_tokens.pop(flow_key, None)
            else:
                self.send_tokens[flow_key] = moved.send_token
            return moved

    def _returning_old(self, flow_key: str, transition: FlowTransition, ask: FlowAsk) -> FlowWrite:
        old = self.items.get(flow_key)
        return FlowWrite(self._move(flow_key, transition, ask) is not None, old)

    def create(self, record: PendingVerification, ttl: int) -> None:
        ask = FlowAsk(0.0, record=record, ttl=ttl)
        if self._move(record.flow_key, flow_rules.CREATE, ask) is None:
            raise ConditionFailed()

    def get(self, flow_key: str) -> PendingVerification | None:
        return self.items.get(flow_key)

    def reserve_attempt(
        self,
        flow_key: str,
        kind: FlowKind,
        now: float,
        lease_until: float,
        *,
        owner: str | None = None,
    ) -> FlowWrite:
        ask = FlowAsk(now, kind=kind, owner=owner, lease_until=lease_until)
        return self._returning_old(flow_key, flow_rules.RESERVE_ATTEMPT, ask)

    def release_check(self, flow_key: str, lease_until: float) -> bool:
        ask = FlowAsk(0.0, lease_until=lease_until)
        return self._move(flow_key, flow_rules.RELEASE_CHECK, ask) is not None

    def refund_attempt(self, flow_key: str, verification_id: str) -> bool:
        ask = FlowAsk(0.0, verification_id=verification_id)
        return self._move(flow_key, flow_rules.REFUND_ATTEMPT, ask) is not None

    def prove(self, flow_key: str, verification_id: str, proven_id: str) -> bool:
        ask = FlowAsk(0.0, verification_id=verification_id, proven_id=proven_id)
        return self._move(flow_key, flow_rules.PROVE, ask) is not None

    def mark_verified(
        self,
        flow_key: str,
        verification_id: str,
        now: float,
        binding: PhoneBinding | None = None,
    ) -> bool:
        ask = FlowAsk(now, verification_id=verification_id)

        def checks() -> None:
            check_binding(self.users, binding)

        return self._move(flow_key, flow_rules.MARK_VERIFIED, ask, checks) is not None

    def lock(self, flow_key: str, now: float) -> bool:
        return self._move(flow_key, flow_rules.LOCK, FlowAsk(now)) is not None

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
        ask = FlowAsk(
            now,
            kind=kind,
            owner=owner,
            token=token,
            cooldown_secs=cooldown_secs,
            max_sends=max_sends,
            retention_secs=retention_secs,
        )
        return self._returning_old(flow_key, flow_rules.RESERVE_SEND, ask)

    def release_send(self, flow_key: str, token: str, previous_sent_at: float) -> bool:
        ask = FlowAsk(0.0, token=token, previous_sent_at=previous_sent_at)
        return self._move(flow_key, flow_rules.RELEASE_SEND, ask) is not None

    def complete_send(
        self,
        flow_key: str,
        token: str,
        verification_id: str,
        expires_at: float,
        ttl: int,
        channel: Channel = Channel.SMS,
    ) -> bool:
        ask = FlowAsk(
            0.0,
            token=token,
            verification_id=verification_id,
            expires_at=expires_at,
            ttl=ttl,
            channel=channel,
        )
        return self._move(flow_key, flow_rules.COMPLETE_SEND, ask) is not None

    def cancel(self, flow_key: str, now: float) -> PendingVerification | None:
        moved = self._move(flow_key, flow_rules.CANCEL, FlowAsk(now))
        return None if moved is None else moved.record

    def find_by_verification_id(self, verification_id: str) -> list[str]:
        return [k for k, r in self.items.items() if r.verification_id == verification_id]

    def record_delivery(
        self, flow_key: str, verification_id: str, delivery: DeliveryStatus, now: float
    ) -> bool:
        ask = FlowAsk(now, verification_id=verification_id, delivery=delivery)
        return self._move(flow_key, flow_rules.RECORD_DELIVERY, ask) is not None


class InMemoryWebhookEventLedger:
    """Event ids taken in, each claimed with its report's move of a flow of `store`, all or
    nothing, and the flow's watchers in `registry` at that moment (the DynamoDB ledger's
    contract). `fail_next` raises StorageUnavailable from the next write, nothing written."""

    def __init__(
        self,
        store: InMemoryVerificationStore | None = None,
        registry: InMemoryWatcherRegistry | None = None,
    ) -> None:
        self.store = store or InMemoryVerificationStore()
        self.registry = registry or InMemoryWatcherRegistry()
        self.event_ids: set[str] = set()
        self.fail_next = 0
        self._lock = threading.Lock()

    def _check(self) -> None:
        if self.fail_next:
            self.fail_next -= 1
            raise StorageUnavailable()

    def record(
        self,
        event_id: str,
        flow_key: str,
        verification_id: str,
        delivery: DeliveryStatus,
        now: float,
    ) -> DeliveryWrite:
        with self._lock:
            self._check()
            if event_id in self.event_ids:
                return DeliveryWrite(duplicate=True, recorded=False)
            # Read first: the watchers check is part of the write (an outage fails it whole).
            watchers = tuple(self.registry.watchers(flow_key, now))
            if not self.store.record_delivery(flow_key, verification_id, delivery, now):
                return DeliveryWrite(duplicate=False, recorded=False)
            self.event_ids.add(event_id)
            return DeliveryWrite(duplicate=False, recorded=True, watchers=watchers)

    def claim(self, event_id: str, now: float) -> bool:
        with self._lock:
            self._check()
            if event_id in self.event_ids:
                return False
            self.event_ids.add(event_id)
            return True


class RecordingNotices:
    """AccountNotices that keeps (phone, event) of every notice, in order."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, NoticeEvent]] = []

    def notify(self, phone: str, event: NoticeEvent) -> None:
        self.sent.append((phone, event))


class RecordingEvents:
    def __init__(self) -> None:
        self.events: list[VerificationEvent] = []

    def record(self, event: VerificationEvent) -> None:
        self.events.append(event)

    @property
    def types(self) -> list[str]:
        return [e.type.value for e in self.events]


class InMemoryPayments:
    """Payments by the payment lifecycle's rules (domain/lifecycle/payment.py), as the
    DynamoDB repository; `tamper` edits one behind its back."""

    def __init__(self) -> None:
        self.items: dict[str, Payment] = {}
        self.failure_reasons: dict[str, str] = {}
        self.claims: dict[str, tuple[str, float]] = {}  # payment id -> (token, until)
        self._lock = threading.Lock()

    def create(self, payment: Payment) -> None:
        with self._lock:
            found = self.items.get(payment.payment_id)
            if found is None:
                self.items[payment.payment_id] = payment
            elif not payment_rules.same_payment(found, payment):  # ours: a lost answer, retried
                raise ConditionFailed()

    def get(self, payment_id: str) -> Payment | None:
        return self.items.get(payment_id)

    def tamper(self, payment_id: str, **changes: Any) -> None:
        self.items[payment_id] = replace(self.items[payment_id], **changes)

    def state(self, payment_id: str) -> PaymentState | None:
        payment = self.items.get(payment_id)
        if payment is None:
            return None
        held = self.claims.get(payment_id)
        return PaymentState(payment, None if held is None else Claim(*held))

    def _move(self, payment_id: str, transition: PaymentTransition, ask: PaymentAsk) -> bool:
        return self._write(payment_id, transition, ask).done

    def _write(
        self, payment_id: str, transition: PaymentTransition, ask: PaymentAsk
    ) -> PaymentWrite:
        """`transition` if the rules let it write, and the payment as it was."""
        with self._lock:
            state = self.state(payment_id)
            if state is None or not payment_rules.applies(transition, state, ask):
                return PaymentWrite(False, None if state is None else state.payment)
            moved = payment_rules.after(transition, state, ask)
            self.items[payment_id] = moved.payment
            if moved.claim is None:
                self.claims.pop(payment_id, None)
            else:
                self.claims[payment_id] = (moved.claim.token, moved.claim.until)
            return PaymentWrite(True, state.payment)

    def claim(
        self, payment_id: str, user_id: str, token: str, now: float, lease_secs: int
    ) -> PaymentWrite:
        ask = PaymentAsk(now, user_id=user_id, token=token, lease_secs=lease_secs)
        return self._write(payment_id, payment_rules.CLAIM, ask)

    def release(self, payment_id: str, token: str) -> bool:
        return self._move(payment_id, payment_rules.RELEASE, PaymentAsk(0.0, token=token))

    def begin_processing(self, payment: Payment, token: str, now: float) -> bool:
        ask = PaymentAsk(now, token=token, details=payment)
        return self._move(payment.payment_id, payment_rules.BEGIN_PROCESSING, ask)

    def complete(self, payment_id: str, transaction_id: str, now: float) -> bool:
        ask = PaymentAsk(now, transaction_id=transaction_id)
        return self._move(payment_id, payment_rules.COMPLETE, ask)

    def fail(self, payment_id: str, from_status: PaymentStatus, reason: str, now: float) -> bool:
        moved = self._move(payment_id, payment_rules.FAIL, PaymentAsk(now, from_status=from_status))
        if moved:
            self.failure_reasons[payment_id] = reason
        return moved

    def expire(self, payment_id: str, now: float) -> bool:
        return self._move(payment_id, payment_rules.EXPIRE, PaymentAsk(now))

    def cancel(self, payment_id: str, now: float) -> bool:
        return self._move(payment_id, payment_rules.CANCEL, PaymentAsk(now))

    def extend(self, payment_id: str, expires_at: float, now: float) -> bool:
        ask = PaymentAsk(now, expires_at=expires_at)
        return self._move(payment_id, payment_rules.EXTEND, ask)

    def abandon(self, payment_id: str, unsettled_since: float, now: float) -> bool:
        ask = PaymentAsk(now, unsettled_since=unsettled_since)
        moved = self._move(payment_id, payment_rules.ABANDON, ask)
        if moved:
            self.failure_reasons[payment_id] = "abandoned"
        return moved

    def settle_unclaimed(self, payment_id: str, unsettled_since: float, now: float) -> bool:
        ask = PaymentAsk(now, unsettled_since=unsettled_since)
        return self._move(payment_id, payment_rules.SETTLE_UNCLAIMED, ask)

    def unsettled(self, since_before: float, limit: int) -> list[str]:
        marked = [
            (p.unsettled_since, p.payment_id)
            for p in list(self.items.values())
            if p.unsettled_since is not None and p.unsettled_since < since_before
        ]
        return [payment_id for _, payment_id in sorted(marked)[:limit]]


class InMemoryExemptPayments:
    """ExemptPayments with DynamoExemptPayments' conditions: user -> (payment ids, sums);
    a payment counted is written to `payments`, unless `failures` holds the account locked.
    tests/integration/test_exempt_payments.py runs one contract against both."""

    def __init__(self, payments: InMemoryPayments, failures: InMemoryAccountLock) -> None:
        self.payments = payments
        self.failures = failures
        self.counts: dict[str, tuple[frozenset[str], dict[str, int]]] = {}
        self._lock = threading.Lock()

    def counted(self, user_id: str) -> tuple[int, dict[str, int]]:
        """(payments, the sum by the currency it is kept in: the reference) for `user_id`."""
        ids, sums = self.counts.get(user_id, (frozenset(), {}))
        return len(ids), {currency: sum_ for currency, sum_ in sums.items() if sum_}

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
        user_id, currency = payment.user_id, sum_currency
        with self._lock:  # all or nothing, as one transaction
            ids, sums = self.counts.get(user_id, (frozenset(), {}))
            spent = sums.get(currency, 0)
            if spent + amount_minor >= cumulative_limit_minor:
                return StepUpReason.CUMULATIVE_AMOUNT
            if len(ids) >= max_payments:
                return StepUpReason.PAYMENT_COUNT
            self.failures.ensure_unlocked(user_id)
            exemption = Exemption(user_id, currency, amount_minor, payment.payment_id)
            self.payments.create(replace(payment, exemption=exemption))
            sums = {**sums, currency: spent + amount_minor}
            self.counts[user_id] = (ids | {payment.payment_id}, sums)
            return exemption

    def give_back(self, exemption: Exemption) -> None:
        with self._lock:
            ids, sums = self.counts.get(exemption.user_id, (frozenset(), {}))
            spent = sums.get(exemption.currency, 0)
            if exemption.payment_id not in ids or spent < exemption.amount_minor:
                return
            sums = {**sums, exemption.currency: spent - exemption.amount_minor}
            self.counts[exemption.user_id] = (ids - {exemption.payment_id}, sums)

    def reset(self, user_id: str) -> None:
        with self._lock:
            self.counts.pop(user_id, None)


class FixedRates:
    """RateSource: a rate table a test sets (`table`), and how often it was read."""

    def __init__(self, rates: dict[str, str] | None = None, reference: str = "USD") -> None:
        self.table = RateTable.parse(json.dumps({"reference": reference, "rates": rates or {}}))
        self.reads = 0

    def current(self) -> RateTable:
        self.reads += 1
        return self.table


class InMemoryLedger:
    """The payment processor as a ledger: one entry per payment id, like LedgerPaymentProcessor."""

    def __init__(self) -> None:
        self.entries: dict[str, tuple[str, Payment]] = {}
        self.charges = 0
        self.decline_next = False
        self.unreachable = False  # charge and settle raise StorageUnavailable, nothing moved
        self.voided: set[str] = set()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def charge(self, payment: Payment) -> str:
        with self._lock:
            self.charges += 1
            if self.unreachable:
                raise StorageUnavailable()
            if self.decline_next or payment.payment_id in self.voided:
                self.decline_next = False
                raise PaymentDeclined()
            if payment.payment_id not in self.entries:
                self.entries[payment.payment_id] = (f"txn_{next(self._ids)}", payment)
            return self.entries[payment.payment_id][0]

    def settle(self, payment: Payment) -> ProcessorSettlement:
        with self._lock:
            if self.unreachable:
                raise StorageUnavailable()
            entry = self.entries.get(payment.payment_id)
            if entry is not None:
                return ProcessorSettlement(Settlement.CHARGED, entry[0])
            self.voided.add(payment.payment_id)
            return ProcessorSettlement(Settlement.NOT_CHARGED)


class InMemoryIdempotency:
    """Idempotency-Key semantics of PowertoolsIdempotentRequests, in memory; answers are kept
    in its stored format (stored_answer), so a repeat replays what a record holds."""

    def __init__(self) -> None:
        self.records: dict[tuple[str, str], tuple[dict[str, Any], dict[str, Any] | None]] = {}
        self._lock = threading.Lock()

    def run(
        self,
        scope: str,
        key: str,
        request: Mapping[str, Any],
        compute: Callable[[], PaymentAnswer],
    ) -> PaymentAnswer:
        with self._lock:
            record = self.records.get((scope, key))
            if record is not None:
                first_request, answer = record
                if first_request != dict(request):
                    raise IdempotencyKeyReused()
                if answer is None:
                    raise IdempotencyKeyInUse()
                return answer_from_stored(answer)
            self.records[(scope, key)] = (dict(request), None)
        try:
            stored = stored_answer(compute())
        except Exception:
            with self._lock:
                del self.records[(scope, key)]
            raise
        with self._lock:
            self.records[(scope, key)] = (dict(request), stored)
        return answer_from_stored(stored)


def check_binding(users: UserLookup | None, binding: PhoneBinding | None) -> None:
    """The ConditionCheck on the account's phone generation (adapters/dynamo/users.py)."""
    if binding is not None:
        assert users is not None, "a bound flow needs the users"
        account = users.get(binding.user_id)
        if account is None or account.phone_generation != binding.phone_generation:
            raise PhoneSuperseded()
        tokens = binding.token_generation
        if tokens is not None and account.token_generation != tokens:
            raise SessionsEnded()


# Caps no unit test reaches unless it means to: flows are tested with their send limits wired.
PERMISSIVE_CAPS = SendCaps(
    per_phone=1_000, per_ip=1_000, per_account=1_000, budget=10_000, window_secs=3_600
)


class InMemorySendLimits:
    """SendGuard with DynamoSendLimits' keys, windows and answers;
    tests/integration/test_send_limits_store.py runs one contract against both. `caps` may
    be replaced between calls; `metrics` lists the metric names counted."""

    def __init__(
        self,
        clock: FakeClock,
        caps: SendCaps = PERMISSIVE_CAPS,
        metric: Callable[[str], None] | None = None,
        users: UserLookup | None = None,
        failures: InMemoryAccountLock | None = None,
        fraud: InMemoryFraudGuard | None = None,
    ) -> None:
        """`users`: where a bound resend's account phone generation is checked; `failures`:
        the wrong codes per account whose lock a send may be checked against; `fraud`: the
        fraud guard codes to unproven numbers pass."""
        self.clock = clock
        self.caps = caps
        self.users = users
        self.failures = failures
        self.fraud = fraud
        self.counts: dict[str, int] = {}
        self.metrics: list[str] = []
        self._metric = metric or self.metrics.append
        self._lock = threading.Lock()

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
        now = self.clock.now()
        locked_subject = None
        if account_lock:
            assert self.failures is not None, "a send under the account lock needs the failures"
            locked_subject = subject
        at_risk = gated and not vouched
        fraud = None
        if tier is SendTier.UNPROVEN and self.fraud is not None:
            fraud = (self.fraud, phone_number, vouched)
        return self._count(
            lambda shard: send_counters(
                self.caps, phone_number, subject, origin, now, channel, shard, tier, at_risk=at_risk
            ),
            now,
            binding,
            locked_subject,
            tier=tier,
            at_risk=at_risk,
            fraud=fraud,
        )

    def admit_notice(self, phone_number: str) -> SendPermit:
        now = self.clock.now()
        return self._count(
            lambda shard: notice_counters(self.caps, phone_number, now, shard),
            now,
            tier=NOTICE_TIER,
        )

    def _count(
        self,
        counters_on: Callable[[int], list[tuple[str, str, int]]],
        now: float,
        binding: PhoneBinding | None = None,
        locked_subject: str | None = None,
        *,
        tier: SendTier,
        at_risk: bool = False,
        fraud: tuple[InMemoryFraudGuard, str, bool] | None = None,
    ) -> SendPermit:
        with self._lock:
            # The ConditionChecks of the same transaction, in DynamoSendLimits' order.
            if locked_subject is not None and self.failures is not None:
                self.failures.ensure_unlocked(locked_subject)
            check_binding(self.users, binding)
            counted_prefix = None
            if fraud is not None:
                guard, phone, vouched = fraud
                counted_prefix = guard.screen(phone, now, vouched=vouched)
            # Admitted by the budget when any of its shards has room (the first one that has).
            shards = range(len(budget_shard_caps(self.caps, tier)))
            options = [counters_on(shard) for shard in shards]

            def budget_has_room(counters: list[tuple[str, str, int]]) -> bool:
                return all(
                    self.counts.get(key, 0) < cap for layer, key, cap in counters if layer == GLOBAL
                )

            counters = next((c for c in options if budget_has_room(c)), options[0])
            refused = [layer for layer, key, cap in counters if self.counts.get(key, 0) >= cap]
            if refused:
                for layer in refused:
                    self._metric(METRIC_REFUSED.format(layer=layer))
                error = refusal(refused, self.caps, now, at_risk=at_risk)
                if isinstance(error, SendBudgetExhausted):
                    self._metric(METRIC_BUDGET_EXHAUSTED)
                    self._metric(METRIC_TIER_EXHAUSTED.format(tier=tier))
                raise error
            for _, key, _ in counters:
                self.counts[key] = self.counts.get(key, 0) + 1
            if fraud is not None and counted_prefix is not None:
                fraud[0].count_sent(counted_prefix)
        self._metric(METRIC_ADMITTED)
        self._metric(METRIC_TIER_ADMITTED.format(tier=tier))
        return SendPermit(tuple(key for _, key, _ in counters), counted_prefix)

    def release(self, permit: SendPermit) -> None:
        with self._lock:
            for key in permit.keys:
                if self.counts.get(key, 0) > 0:
                    self.counts[key] -= 1
            if permit.prefix_key is not None and self.fraud is not None:
                self.fraud.give_back(permit.prefix_key)


class InMemoryFraudGuard:
    """PrefixGuard, and the fraud guard's part of a send, with DynamoFraudGuard's keys and
    conditions (adapters/dynamo/fraud_guard.py): `counters` holds each prefix counter's
    [sent, verified, deficit], `holds` each hold's until, `rules` the operators' lists."""

    def __init__(self, clock: FakeClock, policy: FraudPolicy | None = None) -> None:
        self.clock = clock
        self.policy = policy or FraudPolicy()
        self.rules = FraudRules()
        self.counters: dict[str, list[int]] = {}
        self.holds: dict[str, float] = {}
        self.held_per_country: dict[str, int] = {}

    def screen(self, phone_number: str, now: float, *, vouched: bool) -> str | None:
        """The checks and the counter's condition of the send's transaction: the counter's
        key when it is to be counted, None for an allowed destination."""
        where = destination(phone_number, self.policy)
        ensure_not_denied(self.rules, where)
        if self.rules.allows(where):
            return None
        key = prefix_counter_key(where.prefix, window_of(now, self.policy))
        if not vouched:
            for scope, target in ((HOLD_PREFIX, where.prefix), (HOLD_COUNTRY, where.country)):
                until = self.holds.get(hold_key(scope, target))
                if until is not None and until > now:
                    raise held(until, now, self.policy)
            sent, _, deficit = self.counters.get(key, [0, 0, 0])
            if sent >= self.policy.min_codes and deficit > 0:
                raise PrefixTripped(where, self.policy.hold_secs)
        return key

    def count_sent(self, key: str) -> None:
        counter = self.counters.setdefault(key, [0, 0, 0])
        counter[0] += 1
        counter[2] += self.policy.min_conversion_percent

    def give_back(self, key: str) -> None:
        counter = self.counters.get(key)
        if counter is not None and counter[0] > 0:
            counter[0] -= 1
            counter[2] -= self.policy.min_conversion_percent

    def hold(self, tripped: PrefixTripped) -> list[Hold]:
        now = self.clock.now()
        until = hold_until(now, self.policy)
        key = hold_key(HOLD_PREFIX, tripped.where.prefix)
        if self.holds.get(key, 0) > now:
            return []
        self.holds[key] = until
        placed = [Hold(HOLD_PREFIX, tripped.where.prefix, until)]
        country = tripped.where.country
        if country in self.rules.allow_countries:
            return placed
        self.held_per_country[country] = self.held_per_country.get(country, 0) + 1
        country_key = hold_key(HOLD_COUNTRY, country)
        if (
            self.held_per_country[country] >= self.policy.country_min_prefixes
            and self.holds.get(country_key, 0) <= now
        ):
            self.holds[country_key] = until
            placed.append(Hold(HOLD_COUNTRY, country, until))
        return placed

    def count_verified(self, phone_number: str, sent_at: float) -> None:
        where = destination(phone_number, self.policy)
        counter = self.counters.get(
            prefix_counter_key(where.prefix, window_of(sent_at, self.policy))
        )
        if counter is not None:
            counter[1] += 1
            counter[2] -= 100


class InMemoryAccountLock:
    """AccountLock by DynamoAccountLock's rule (AccountLockRule): subject -> its
    FailureCount, as (failures, expiry)."""

    def __init__(
        self, clock: FakeClock, *, max_failures: int = 100, lockout_secs: int = 30 * 86_400
    ) -> None:
        self.clock = clock
        self.rule = AccountLockRule(max_failures, lockout_secs)
        self.counts: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    @property
    def max_failures(self) -> int:
        return self.rule.max_failures

    @max_failures.setter
    def max_failures(self, value: int) -> None:
        self.rule = replace(self.rule, max_failures=value)

    @property
    def lockout_secs(self) -> int:
        return self.rule.lockout_secs

    def count(self, subject: str) -> FailureCount | None:
        held = self.counts.get(subject)
        return None if held is None else FailureCount(*held)

    def failures(self, subject: str) -> int:
        count = self.count(subject)
        live = count is not None and self.rule.live(count, self.clock.now())
        return count.failures if count is not None and live else 0

    def ensure_unlocked(self, subject: str) -> None:
        locked_for = self.rule.locked_for(self.count(subject), self.clock.now())
        if locked_for is not None:
            raise AccountLocked(locked_for)

    def reserve(self, subject: str) -> int:
        with self._lock:
            counted = self.rule.counted(self.count(subject), self.clock.now())
            if counted is None:
                self.ensure_unlocked(subject)
                raise StorageUnavailable()  # not reached: counted is None only when locked
            self.counts[subject] = (counted.failures, counted.expires)
            return self.rule.attempts_left(counted)

    def refund(self, subject: str) -> None:
        with self._lock:
            refunded = self.rule.refunded(self.count(subject))
            if refunded is not None:
                self.counts[subject] = (refunded.failures, refunded.expires)

    def reset(self, subject: str) -> None:
        with self._lock:
            self.counts.pop(subject, None)


class InMemoryPasswordThrottle:
    """PasswordThrottle with DynamoPasswordThrottle's rules (PasswordThrottlePolicy) and
    conditions: account key -> (failures, until, forgotten_at); source key -> failures."""

    def __init__(self, clock: FakeClock, policy: PasswordThrottlePolicy | None = None) -> None:
        self.clock = clock
        self.policy = policy or PasswordThrottlePolicy()
        self.accounts: dict[str, tuple[int, float, float]] = {}
        self.subjects: dict[str, str] = {}  # account key -> whom its wait is audited under
        self.sources: dict[str, int] = {}
        self._lock = threading.Lock()

    def admit(
        self, account_key: str, origin: RequestOrigin, *, vouched: bool = False
    ) -> PasswordAttempt:
        now, policy = self.clock.now(), self.policy
        source = policy.source_key(origin, now)
        with self._lock:
            if self.sources.get(source, 0) >= policy.per_source and not vouched:
                raise SourceThrottled(policy.source_retry_after(now))
            failures, until, forgotten_at = self.accounts.get(account_key, (0, 0.0, 0.0))
            if forgotten_at <= now:
                failures = 0
            if failures >= policy.free_failures and until > now:
                raise LoginThrottled(
                    max(1, math.ceil(until - now)), self.subjects.get(account_key) or None
                )
            failures += 1
            lease = now + policy.check_lease_secs
            self.accounts[account_key] = (failures, lease, now + policy.failure_memory_secs)
            self.sources[source] = self.sources.get(source, 0) + 1
        return PasswordAttempt(account_key, source, failures)

    def failed(self, attempt: PasswordAttempt, subject: str | None = None) -> int:
        delay = self.policy.delay_after(attempt.failures)
        with self._lock:
            failures, _, forgotten_at = self.accounts.get(attempt.account_key, (0, 0.0, 0.0))
            if delay and failures == attempt.failures:
                until = self.clock.now() + delay
                self.accounts[attempt.account_key] = (failures, until, forgotten_at)
                self.subjects[attempt.account_key] = subject or ""
        return delay

    def succeeded(self, attempt: PasswordAttempt) -> None:
        self.clear(attempt.account_key)
        with self._lock:
            if self.sources.get(attempt.source_key, 0) > 0:
                self.sources[attempt.source_key] -= 1

    def clear(self, account_key: str) -> None:
        with self._lock:
            self.accounts.pop(account_key, None)
            self.subjects.pop(account_key, None)


class InMemoryWatcherRegistry:
    """Live-status connections per flow key, with the cap and ttl of the DynamoDB registry
    (tests/integration/test_connections_store.py runs the same contract against both)."""

    def __init__(self) -> None:
        self.flows: dict[str, tuple[set[str], int]] = {}  # flow key -> (connection ids, ttl)
        self.pointers: dict[str, str] = {}  # connection id -> flow key
        self.connected_at: dict[str, float] = {}  # connection id -> when it was added
        self.fail: bool = False  # every call raises StorageUnavailable while set

    def _check(self) -> None:
        if self.fail:
            raise StorageUnavailable()

    def add(self, flow_key: str, connection_id: str, *, ttl: int, cap: int, now: float) -> bool:
        self._check()
        ids, old_ttl = self.flows.get(flow_key, (set(), 0))
        if old_ttl <= now:
            ids = set()
        elif len(ids) >= cap:
            return False
        self.flows[flow_key] = ({*ids, connection_id}, ttl)
        self.pointers[connection_id] = flow_key
        self.connected_at[connection_id] = now
        return True

    def remove(self, connection_id: str, now: float) -> None:
        self._check()
        if connection_id in self.pointers:
            self.drop(self.pointers[connection_id], connection_id)

    def drop(
        self, flow_key: str, connection_id: str, *, connected_before: float | None = None
    ) -> None:
        self._check()
        if connected_before is not None and (
            connection_id not in self.pointers
            or self.connected_at.get(connection_id, 0.0) >= connected_before
        ):
            return  # may still be in its $connect: stays counted
        self.pointers.pop(connection_id, None)
        self.connected_at.pop(connection_id, None)
        if flow_key in self.flows:
            self.flows[flow_key][0].discard(connection_id)

    def watchers(self, flow_key: str, now: float) -> list[str]:
        self._check()
        ids, ttl = self.flows.get(flow_key, (set(), 0))
        return sorted(ids) if ttl > now else []


class RecordingStatusPush:
    """Open connections and what each was sent (status bodies, as dicts); connections not in
    `open` are gone. `failing` ones raise PushUnavailable."""

    def __init__(self) -> None:
        self.open: set[str] = set()
        self.failing: set[str] = set()
        self.sent: dict[str, list[dict[str, Any]]] = {}

    def post(self, connection_id: str, state: ChallengeState) -> bool:
        if connection_id in self.failing:
            raise PushUnavailable()
        if connection_id not in self.open:
            return False
        self.sent.setdefault(connection_id, []).append(
            {
                "status": state.status,
                "delivery_status": state.delivery_status.value,
                "expires_in": state.expires_in,
            }
        )
        return True


class InMemoryNoticesOutbox:
    """NoticeOutbox by the rules of domain/notices.py, as DynamoNoticesOutbox;
    tests/integration/test_notices_outbox_store.py runs one contract against both. `items`
    holds each notice's attributes as the table would (no `phone` once settled)."""

    def __init__(self, policy: OutboxPolicy | None = None) -> None:
        self.policy = policy or OutboxPolicy()
        self.items: dict[str, dict[str, Any]] = {}
        self.puts = 0
        self._lock = threading.Lock()

    def put(self, notice: OutboxNotice) -> None:
        with self._lock:
            self.puts += 1
            self.items.setdefault(
                notice.notice_id,
                {
                    "status": NoticeStatus.PENDING,
                    "phone": notice.phone,
                    "event": notice.event,
                    "created_at": notice.created_at,
                    "attempts": 0,
                    "lease_until": 0.0,
                    "ttl": pending_ttl(notice.created_at, self.policy),
                },
            )

    def claim(self, notice_id: str, now: float) -> OutboxNotice | None:
        with self._lock:
            item = self.items.get(notice_id)
            if item is None or not claimable(item["status"], item["lease_until"], now):
                return None
            item["lease_until"] = now + self.policy.lease_secs
            item["attempts"] += 1
            return OutboxNotice(
                notice_id, item["phone"], item["event"], item["created_at"], item["attempts"]
            )

    def delivered(self, notice_id: str, now: float, message_id: str) -> None:
        self._settle(notice_id, now, NoticeStatus.DELIVERED, message_id=message_id)

    def give_up(self, notice_id: str, now: float, reason: str) -> None:
        self._settle(notice_id, now, NoticeStatus.GIVEN_UP, settle_reason=reason)

    def retry(self, notice_id: str, reason: str) -> None:
        with self._lock:
            item = self.items.get(notice_id)
            if item is not None and item["status"] is NoticeStatus.PENDING:
                item.update(lease_until=0.0, last_reason=reason)

    def undelivered(self, limit: int) -> list[tuple[str, float]]:
        with self._lock:
            pending = [
                (notice_id, item["created_at"])
                for notice_id, item in self.items.items()
                if item["status"] is NoticeStatus.PENDING
            ]
        return sorted(pending, key=lambda found: found[1])[:limit]

    def _settle(self, notice_id: str, now: float, status: NoticeStatus, **detail: str) -> None:
        with self._lock:
            item = self.items.get(notice_id)
            if item is None or item["status"] is not NoticeStatus.PENDING:
                return
            item.pop("phone", None)
            item.update(status=status, ttl=settled_ttl(now, self.policy), **detail)
