"""Send limits across flows, the SMS budget, and wrong codes per account, driven through the
login, registration and payment flows with in-memory adapters."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest

from phoneverify.adapters.dynamo.send_limits import (
    METRIC_ADMITTED,
    METRIC_BUDGET_EXHAUSTED,
)
from phoneverify.domain.errors import (
    AccountLocked,
    CodeCheckFailed,
    CodeDeliveryFailed,
    InvalidCode,
    ResendTooSoon,
    SendBudgetExhausted,
    SendLimitReached,
    StorageUnavailable,
    TooManyAttempts,
)
from phoneverify.domain.models import Channel, PhoneBinding, RequestOrigin, SendPermit
from phoneverify.domain.money import ExemptionLimits, Thresholds
from phoneverify.domain.tiers import SendTier
from phoneverify.flows.engine.any_flow import flow_key
from phoneverify.flows.engine.challenges import Challenges
from phoneverify.flows.login import SecondFactorRequired
from phoneverify.flows.payment import PaymentFlow, PaymentOrder
from phoneverify.http.errors import error_body, error_headers, status_of
from tests.support.answers import answer
from tests.support.builders import (
    ORIGIN,
    PASSWORD,
    PHONE,
    RegistrationWorld,
    payment_policy,
    policy,
    registration_world,
)
from tests.support.fakes import (
    FakeClock,
    FixedRates,
    InMemoryExemptPayments,
    InMemoryIdempotency,
    InMemoryLedger,
    InMemoryPayments,
)

HOUR = 3_600
USER = "u-phone"  # demo@example.com, PHONE
LOCKOUT = 30 * 86_400


@dataclass
class World:
    """Login, registration and payments over one store, outbox, send guard and failure count."""

    base: RegistrationWorld
    payments: PaymentFlow

    @property
    def clock(self) -> FakeClock:
        return self.base.clock

    @property
    def outbox(self) -> list[tuple[str, str, str]]:
        return self.base.sender.outbox

    def limit(self, **caps: int) -> None:
        self.base.limits.caps = replace(self.base.limits.caps, **caps)

    def login(self, origin: RequestOrigin = ORIGIN) -> str:
        started = self.base.login.start("demo@example.com", PASSWORD, origin)
        assert isinstance(started, SecondFactorRequired)
        return started.challenge.flow_id

    def pay(self, origin: RequestOrigin = ORIGIN) -> str:
        order = PaymentOrder.parse("250.00", "USD", "Acme Supplies", None)
        body = answer(self.payments.initiate(USER, order, origin))
        payment_id: str = body["payment_id"]
        return payment_id

    def register(self, phone: str, origin: RequestOrigin = ORIGIN) -> str:
        started = self.base.flow.start(
            "Ada Lovelace", f"ada{phone[-4:]}@example.com", phone, "analytical engine notes", origin
        )
        flow_id: str = answer(started)["flow_id"]
        return flow_id

    def code(self, phone: str = PHONE) -> str:
        return self.base.sender.last_code(phone)

    def email_code(self, phone: str) -> str:
        """The email code of `register(phone)`'s sign-up."""
        return self.base.email_code(f"ada{phone[-4:]}@example.com")

    def wrong(self, phone: str = PHONE) -> str:
        return self.base.sender.wrong_code(phone)


@pytest.fixture
def world() -> World:
    base = registration_world()
    challenges = Challenges(
        payment_policy(),
        store=base.store,
        sender=base.sender,
        flows=base.any_flow,
        audit=base.audit,
        clock=base.clock,
        guard=base.limits,
        failures=base.failures,
    )
    stored = InMemoryPayments()
    payments = PaymentFlow(
        thresholds=Thresholds.from_config({}, "100.00"),
        exemption_limits=ExemptionLimits.from_config({}, 5),
        users=base.users,
        payments=stored,
        exemptions=InMemoryExemptPayments(stored, base.failures),
        processor=InMemoryLedger(),
        challenges=challenges,
        idempotency=InMemoryIdempotency(),
        clock=base.clock,
        rates=FixedRates(),
    )
    base.clock.advance(600)  # ten minutes into the hour: a full window has 3000 s left
    return World(base, payments)


def from_ip(ip: str) -> RequestOrigin:
    return RequestOrigin(source_ip=ip, user_agent="pytest")


# -- cooldown and send caps -------------------------------------------------------------------
def test_a_new_flow_right_after_another_is_not_held_by_its_cooldown(world: World) -> None:
    # Given a login that just sent a code
    first = world.login()
    # When the person logs in again at once (another tab), then pays at once
    second = world.login()
    world.pay()
    # Then each flow sent its own code; the cooldown holds only resends of one flow
    assert len(world.outbox) == 3
    assert first != second
    with pytest.raises(ResendTooSoon):
        world.base.login.resend(second, ORIGIN)


def test_the_phone_cap_counts_sends_of_every_flow(world: World) -> None:
    # Given at most 3 codes per phone an hour
    world.limit(per_phone=3)
    flow_id = world.login()
    world.pay()
    world.clock.advance(31)
    world.base.login.resend(flow_id, ORIGIN)
    # When a fourth code is asked for, by a payment this time
    with pytest.raises(SendLimitReached) as refused:
        world.pay()
    # Then 429 until the hour is over, and no SMS
    assert status_of(refused.value) == 429
    assert refused.value.retry_after == HOUR - 600 - 31
    assert error_headers(refused.value) == {"Retry-After": str(HOUR - 631)}
    assert error_body(refused.value) == {
        "error": "Too many codes requested. Please try again later.",
        "code": "send_limit_reached",
        "retry_after": HOUR - 631,
    }
    assert len(world.outbox) == 3
    with pytest.raises(SendLimitReached):
        world.login()
    # And the next hour starts afresh
    world.clock.advance(HOUR)
    world.login()
    assert len(world.outbox) == 4


def test_a_resend_refused_across_flows_keeps_the_flow_budget(world: World) -> None:
    # Given a phone at its hourly cap
    world.limit(per_phone=1)
    flow_id = world.login()
    key = flow_key(flow_id)
    before = world.base.store.items[key]
    world.clock.advance(31)
    # When
    with pytest.raises(SendLimitReached):
        world.base.login.resend(flow_id, ORIGIN)
    # Then the flow's own send count and cooldown are as they were
    after = world.base.store.items[key]
    assert (after.send_count, after.last_sent_at) == (before.send_count, before.last_sent_at)
    assert key not in world.base.store.send_tokens
    # And once the hour is over the resend goes through at once
    world.clock.advance(HOUR)
    world.base.login.resend(flow_id, ORIGIN)
    assert len(world.outbox) == 2


def test_one_source_address_cannot_pump_codes_to_many_numbers(world: World) -> None:
    # Given at most 2 sends an hour per source address
    world.limit(per_ip=2)
    world.register("+14155550150")
    world.register("+14155550151")
    # When the same address asks for a third number
    with pytest.raises(SendLimitReached):
        world.register("+14155550152")
    # Then no third SMS; another address is not held back
    assert [phone for phone, _, _ in world.outbox] == ["+14155550150", "+14155550151"]
    world.register("+14155550152", from_ip("198.51.100.7"))


def test_the_account_cap_holds_whatever_the_source(world: World) -> None:
    world.limit(per_account=2)
    world.login(from_ip("198.51.100.1"))
    world.pay(from_ip("198.51.100.2"))
    with pytest.raises(SendLimitReached):
        world.login(from_ip("198.51.100.3"))
    assert len(world.outbox) == 2


def test_a_tiers_budget_opens_that_tiers_circuit_breaker(world: World) -> None:
    # Given a service-wide budget of 4 codes an hour: 2 for signed-in people, 1 for resets,
    # 1 for unproven numbers (50/10/40 %, rounded to add up to 4)
    world.limit(budget=4)
    world.login()
    world.pay(from_ip("198.51.100.1"))
    # When a signed-in person asks for a third code
    with pytest.raises(SendBudgetExhausted) as refused:
        world.login(from_ip("198.51.100.2"))
    # Then 503 with Retry-After, metrics for the alarms, and no SMS
    assert status_of(refused.value) == 503
    assert refused.value.code == "sms_budget_exhausted"
    assert error_headers(refused.value) == {"Retry-After": str(HOUR - 600)}
    assert world.base.limits.metrics.count(METRIC_BUDGET_EXHAUSTED) == 1
    assert world.base.limits.metrics.count("SmsBudgetExhausted_verified") == 1
    assert world.base.limits.metrics.count(METRIC_ADMITTED) == 2
    assert len(world.outbox) == 2
    # And a sign-up, in a tier of its own, still gets its code
    world.register("+14155550161", from_ip("198.51.100.3"))
    assert len(world.outbox) == 3


def test_a_spent_sign_up_budget_leaves_sign_in_and_payments_their_codes(world: World) -> None:
    # Given a campaign that spent the unproven tier's budget (40 % of 10)
    world.limit(budget=10)
    for n in range(4):
        world.register(f"+1415555{n:04d}", from_ip(f"198.51.100.{n + 1}"))
    with pytest.raises(SendBudgetExhausted):
        world.register("+14155559999", from_ip("198.51.100.9"))
    # When the demo account signs in and pays
    flow_id = world.login(from_ip("192.0.2.1"))
    assert world.base.login.verify(flow_id, world.code(), ORIGIN).token
    world.pay(from_ip("192.0.2.1"))
    # Then both codes went out
    assert [phone for phone, _, _ in world.outbox[-2:]] == [PHONE, PHONE]
    assert world.base.limits.metrics.count("SmsBudgetExhausted_unproven") == 1


def test_sign_ups_to_a_victims_number_do_not_block_their_login_codes(world: World) -> None:
    # Given at most 3 codes per phone an hour, all spent by sign-ups naming the victim's phone
    world.limit(per_phone=3)
    for n in range(3):
        world.register(PHONE, from_ip(f"198.51.100.{n + 1}"))
    with pytest.raises(SendLimitReached):
        world.register(PHONE, from_ip("198.51.100.9"))
    # When the victim signs in, from an address the sign-ups also used
    flow_id = world.login(from_ip("198.51.100.1"))
    # Then the login code is sent: its tier has caps of its own
    assert world.base.login.verify(flow_id, world.code(), ORIGIN).token


# -- Telnyx failing --------------------------------------------------------------------------
def test_a_send_telnyx_fails_counts_against_no_limit(world: World) -> None:
    # Given one code per phone an hour, and Telnyx failing once
    world.limit(per_phone=1)
    world.base.sender.fail_sends = 1
    # When
    with pytest.raises(CodeDeliveryFailed):
        world.login()
    # Then the send was given back: the next login gets its code
    world.login()
    assert len(world.outbox) == 1


def test_a_resend_telnyx_fails_leaves_the_flow_usable(world: World) -> None:
    world.limit(per_phone=2)
    flow_id = world.login()
    world.clock.advance(31)
    world.base.sender.fail_sends = 1
    with pytest.raises(CodeDeliveryFailed):
        world.base.login.resend(flow_id, ORIGIN)
    # The flow's reservation and the phone's count were given back: the resend works at once
    world.base.login.resend(flow_id, ORIGIN)
    token = world.base.login.verify(flow_id, world.code(), ORIGIN)
    assert token.token


def test_a_check_telnyx_fails_costs_no_attempt_and_no_account_failure(world: World) -> None:
    flow_id = world.login()
    world.base.sender.fail_checks = 1
    with pytest.raises(CodeCheckFailed):
        world.base.login.verify(flow_id, world.wrong(), ORIGIN)
    assert world.base.store.items[flow_key(flow_id)].attempts == 0
    assert world.base.failures.failures(USER) == 0
    world.base.login.verify(flow_id, world.code(), ORIGIN)


# -- wrong codes per account -----------------------------------------------------------------
def fail_flow(world: World, flow_id: str, wrongs: int, *, payment: bool = False) -> None:
    """`wrongs` wrong codes on one flow (a payment id when `payment`)."""
    for _ in range(wrongs):
        try:
            if payment:
                world.payments.confirm(USER, flow_id, world.wrong(), ORIGIN)
            else:
                world.base.login.verify(flow_id, world.wrong(), ORIGIN)
        except (InvalidCode, TooManyAttempts, AccountLocked):
            continue


def test_a_hundred_wrong_codes_across_flows_lock_the_account(world: World) -> None:
    # Given a login still pending whose right code the attacker will learn too late
    spare = world.login()
    spare_code = world.code()
    # When 99 wrong codes go to 20 flows, logins and payments alike
    for n in range(10):
        fail_flow(world, world.login(), 5)
        fail_flow(world, world.pay(), 5 if n < 9 else 4, payment=True)
    assert world.base.failures.failures(USER) == 99
    # Then the hundredth is answered 429 account_locked, for the whole lockout
    last = world.login()
    with pytest.raises(AccountLocked) as locked:
        world.base.login.verify(last, world.wrong(), ORIGIN)
    assert status_of(locked.value) == 429
    assert locked.value.retry_after == LOCKOUT
    assert error_body(locked.value) == {
        "error": AccountLocked.message,
        "code": "account_locked",
        "retry_after": LOCKOUT,
    }
    assert world.base.events.types.count("account_locked") == 1
    # And nothing gets through: the right code of an open flow is not even checked
    checks = len(world.base.sender.checks)
    with pytest.raises(AccountLocked):
        world.base.login.verify(spare, spare_code, ORIGIN)
    assert len(world.base.sender.checks) == checks
    # nor does the lock cost SMS: new logins, payments and resends send nothing
    sent = len(world.outbox)
    world.clock.advance(31)
    for attempt in (world.login, world.pay, lambda: world.base.login.resend(spare, ORIGIN)):
        with pytest.raises(AccountLocked):
            attempt()
    assert len(world.outbox) == sent


def test_the_lock_ends_after_the_lockout(world: World) -> None:
    world.base.failures.max_failures = 5
    fail_flow(world, world.login(), 5)
    with pytest.raises(AccountLocked):
        world.login()
    world.clock.advance(LOCKOUT)
    flow_id = world.login()
    assert world.base.login.verify(flow_id, world.code(), ORIGIN).token


def test_a_locked_account_is_refused_at_send_with_the_locks_retry_after(world: World) -> None:
    # Given an account locked by a wrong code 100 s ago, with a login still pending
    world.base.failures.max_failures = 5
    pending = world.login()
    fail_flow(world, world.login(), 5)
    world.clock.advance(100)
    counted = dict(world.base.limits.counts)
    sent = len(world.outbox)
    # When its owner (or whoever has the password) asks for a code: login, resend, payment
    for attempt in (world.login, lambda: world.base.login.resend(pending, ORIGIN), world.pay):
        with pytest.raises(AccountLocked) as locked:
            attempt()
        # Then 429 account_locked, with the time left of the lock
        assert status_of(locked.value) == 429
        assert error_headers(locked.value) == {"Retry-After": str(LOCKOUT - 100)}
    # and no SMS went, and no send limit counted the refusals
    assert len(world.outbox) == sent
    assert world.base.limits.counts == counted


def test_a_locked_account_at_its_send_cap_is_answered_locked(world: World) -> None:
    # Given an account that has had its two sends of the hour
    world.base.failures.max_failures = 5
    world.limit(per_account=2)
    flow_id = world.login()
    world.login()
    with pytest.raises(SendLimitReached):
        world.login()
    # and is then locked by wrong codes
    fail_flow(world, flow_id, 5)
    # When it asks for another code
    with pytest.raises(AccountLocked) as locked:
        world.login()
    # Then the lock answers, not the cap: its Retry-After is the one that matters
    assert locked.value.retry_after == LOCKOUT


def test_an_accepted_code_starts_the_count_over(world: World) -> None:
    # Given 99 wrong codes in a row
    world.base.failures.max_failures = 100
    for _ in range(19):
        fail_flow(world, world.login(), 5)
    flow_id = world.login()
    fail_flow(world, flow_id, 4)
    assert world.base.failures.failures(USER) == 99
    # When the right code comes before the hundredth wrong one
    world.base.login.verify(flow_id, world.code(), ORIGIN)
    # Then the count starts over: 99 more wrong codes do not lock the account
    assert world.base.failures.failures(USER) == 0
    for _ in range(19):
        fail_flow(world, world.login(), 5)
    fail_flow(world, world.login(), 4)
    world.base.failures.ensure_unlocked(USER)


def test_a_lock_reached_mid_flow_answers_account_locked_not_invalid_code(world: World) -> None:
    world.base.failures.max_failures = 7
    fail_flow(world, world.login(), 5)
    flow_id = world.login()
    with pytest.raises(InvalidCode):
        world.base.login.verify(flow_id, world.wrong(), ORIGIN)
    with pytest.raises(AccountLocked):
        world.base.login.verify(flow_id, world.wrong(), ORIGIN)
    # The flow itself had attempts left; the lock, not the flow, refuses the next code
    record = world.base.store.items[flow_key(flow_id)]
    assert record.attempts == 2
    with pytest.raises(AccountLocked):
        world.base.login.verify(flow_id, world.code(), ORIGIN)
    assert world.base.store.items[flow_key(flow_id)].attempts == 2


def test_registration_failures_count_per_pending_registration(world: World) -> None:
    world.base.failures.max_failures = 3
    flow_id = world.register("+14155550170")
    with pytest.raises(InvalidCode):
        world.base.flow.verify(
            flow_id, world.wrong("+14155550170"), world.email_code("+14155550170"), ORIGIN
        )
    # Another sign-up (another subject) is not concerned
    other = world.register("+14155550171", from_ip("198.51.100.9"))
    code, email_code = world.code("+14155550171"), world.email_code("+14155550171")
    assert world.base.flow.verify(other, code, email_code, ORIGIN).user_id


# -- DynamoDB failing --------------------------------------------------------------------------
class UnavailableCounter:
    """A AccountLock whose table throttles."""

    def ensure_unlocked(self, subject: str) -> None:
        return None

    def reserve(self, subject: str) -> int:
        raise StorageUnavailable()

    def refund(self, subject: str) -> None:
        raise AssertionError("nothing was counted")

    def reset(self, subject: str) -> None:
        raise AssertionError("nothing was counted")


class UnavailableGuard:
    def admit(
        self,
        phone_number: str,
        subject: str,
        origin: RequestOrigin,
        channel: Channel,
        binding: PhoneBinding | None = None,
        *,
        account_lock: bool = False,
        tier: SendTier = SendTier.VERIFIED,
        gated: bool = False,
        vouched: bool = False,
    ) -> SendPermit:
        raise StorageUnavailable()

    def release(self, permit: SendPermit) -> None:
        raise AssertionError("nothing was counted")


def test_a_throttled_failure_counter_answers_503_and_costs_no_attempt(world: World) -> None:
    flow_id = world.login()
    challenges = Challenges(
        policy(),  # the login policy login_world uses
        store=world.base.store,
        sender=world.base.sender,
        flows=world.base.any_flow,
        audit=world.base.audit,
        clock=world.clock,
        failures=UnavailableCounter(),
    )
    with pytest.raises(StorageUnavailable) as caught:
        challenges.check(flow_id, world.code(), ORIGIN)
    assert status_of(caught.value) == 503
    assert error_headers(caught.value) == {"Retry-After": "1"}
    record = world.base.store.items[flow_key(flow_id)]
    assert record.attempts == 0
    assert record.check_lease_until == 0
    world.base.login.verify(flow_id, world.code(), ORIGIN)


def test_a_throttled_send_guard_answers_503_and_leaves_the_flow_as_it_was(world: World) -> None:
    flow_id = world.login()
    challenges = Challenges(
        policy(),  # the login policy login_world uses
        store=world.base.store,
        sender=world.base.sender,
        flows=world.base.any_flow,
        audit=world.base.audit,
        clock=world.clock,
        guard=UnavailableGuard(),
    )
    world.clock.advance(31)
    with pytest.raises(StorageUnavailable):
        challenges.open(USER, PHONE, ORIGIN)
    with pytest.raises(StorageUnavailable):
        challenges.resend(flow_id, ORIGIN)
    assert len(world.outbox) == 1
    assert world.base.store.items[flow_key(flow_id)].send_count == 1
    world.base.login.resend(flow_id, ORIGIN)
