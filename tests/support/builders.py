"""Flows wired with in-memory adapters."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from phoneverify.domain.channels import DEFAULT_CHANNEL_POLICY, ChannelPolicy
from phoneverify.domain.email_messages import CodePurpose
from phoneverify.domain.models import DeliveryStatus, FlowKind, RequestOrigin, User
from phoneverify.domain.money import ExemptionLimits, Thresholds
from phoneverify.domain.passwords import PasswordHasher
from phoneverify.domain.tokens import AccessTokenIssuer, ReauthTokenIssuer
from phoneverify.flows import password_reset, phone_change, reauth, registration
from phoneverify.flows import payment as payment_flow
from phoneverify.flows.engine.any_flow import AnyFlow, DeliveryUpdate, FlowObserver
from phoneverify.flows.engine.audit import FlowAudit
from phoneverify.flows.engine.challenges import Challenges
from phoneverify.flows.engine.email_codes import EmailCodeSender
from phoneverify.flows.engine.email_proof import EmailProof, EmailProofSender, EmailSendGuard
from phoneverify.flows.engine.policy import ChallengePolicy
from phoneverify.flows.engine.step_up import Caller, StepUp
from phoneverify.flows.login import LoginFlow
from phoneverify.flows.password_reset import PasswordResetFlow
from phoneverify.flows.payment import PaymentFlow
from phoneverify.flows.payment_status import PaymentVerificationStatus
from phoneverify.flows.phone_change import PhoneChangeFlow
from phoneverify.flows.reauth import ReauthFlow
from phoneverify.flows.registration import RegistrationFlow
from phoneverify.flows.sessions import Sessions
from phoneverify.ports.abuse import SendGuard
from phoneverify.ports.messaging import CodeSender
from tests.support.emails import InMemoryEmailLimits, RecordingEmails
from tests.support.fakes import (
    FakeClock,
    FakeCodeSender,
    FixedRates,
    InMemoryAccountLock,
    InMemoryExemptPayments,
    InMemoryFraudGuard,
    InMemoryIdempotency,
    InMemoryLedger,
    InMemoryPasswordThrottle,
    InMemoryPayments,
    InMemorySendLimits,
    InMemoryTokenRevocations,
    InMemoryUsers,
    InMemoryVerificationStore,
    InMemoryWatcherRegistry,
    InMemoryWebhookEventLedger,
    RecordingEvents,
    RecordingNotices,
)

SIGNING_SECRET = "unit-test-signing-secret-0123456789abcdef"
ISSUER = "phone-verify-test"
AUDIENCE = "phone-verify-test-api"
PASSWORD = "correct horse battery staple"
PHONE = "+14155550123"
ORIGIN = RequestOrigin(source_ip="203.0.113.9", user_agent="pytest")
PEPPER = b"unit-test-hash-pepper-0123456789abcdef"


def policy(kind: FlowKind = FlowKind.LOGIN, **overrides: object) -> ChallengePolicy:
    values: dict[str, object] = {
        "kind": kind,
        "timeout_secs": 300,
        "code_length": 6,
        "max_attempts": 5,
        "resend_cooldown_secs": 30,
        "max_sends": 5,
        "send_window_secs": 3600,
        "retention_secs": 86_400,
        "restart_hint": "Start login again.",
        "too_many_attempts_message": "Too many attempts. Please start the login process again.",
    }
    values.update(overrides)
    return ChallengePolicy(**values)  # type: ignore[arg-type]


class StepTimer:
    """A perf_counter stand-in: each reading `step` seconds after the one before."""

    def __init__(self, step: float) -> None:
        self.step = step
        self.readings = 0

    def __call__(self) -> float:
        self.readings += 1
        return self.readings * self.step


@dataclass
class LoginWorld:
    clock: FakeClock
    sender: FakeCodeSender
    store: InMemoryVerificationStore
    events: RecordingEvents
    tokens: AccessTokenIssuer
    passwords: PasswordHasher
    users: InMemoryUsers
    limits: InMemorySendLimits  # permissive caps; replace `limits.caps` to test them
    failures: InMemoryAccountLock
    throttle: InMemoryPasswordThrottle
    flow: LoginFlow = field(init=False)
    revocations: InMemoryTokenRevocations = field(init=False)  # over `users`
    sessions: Sessions = field(init=False)  # bearer tokens and logout
    pauses: list[float] = field(default_factory=list)  # how long decoys waited, in seconds
    notices: RecordingNotices = field(default_factory=RecordingNotices)  # SMS to the owner
    channels: ChannelPolicy = DEFAULT_CHANNEL_POLICY  # of every Challenges built here
    # How provider calls are timed: each reading 10 ms after the last, so a real send or
    # check "takes" 10 ms and a decoy draws its pause from those (no wall clock).
    timer: StepTimer = field(default_factory=lambda: StepTimer(0.01))
    audit: FlowAudit = field(init=False)  # where every flow's events go (`events`)
    # The one AnyFlow every Challenges built here ends flows through, as the runtime's.
    any_flow: AnyFlow = field(init=False)

    def __post_init__(self) -> None:
        self.audit = FlowAudit(events=self.events, clock=self.clock)
        self.observe(None)

    def observe(self, observer: FlowObserver | None) -> AnyFlow:
        """The world's AnyFlow, told of changes by `observer` from now on (live status)."""
        self.any_flow = AnyFlow(
            store=self.store, audit=self.audit, clock=self.clock, observer=observer
        )
        return self.any_flow

    def challenges(
        self,
        kind_or_policy: FlowKind | ChallengePolicy,
        *,
        sender: CodeSender | None = None,
        guard: SendGuard | None = None,
    ) -> Challenges:
        """Challenges over this world's store, outbox, clock, limits and failure counter (or
        this `sender` and `guard`: a code by email's)."""
        chosen = kind_or_policy if isinstance(kind_or_policy, ChallengePolicy) else None
        return Challenges(
            chosen or policy(FlowKind(kind_or_policy)),
            store=self.store,
            sender=sender or self.sender,
            flows=self.any_flow,
            audit=self.audit,
            clock=self.clock,
            guard=guard or self.limits,
            failures=self.failures,
            pause=self.pauses.append,
            account_tokens=self.users,
            notices=self.notices,
            channels=self.channels,
            prefixes=self.limits.fraud,
            pepper=lambda: PEPPER,
            timer=self.timer,
        )


def login_world(
    channels: ChannelPolicy = DEFAULT_CHANNEL_POLICY, **policy_overrides: object
) -> LoginWorld:
    clock = FakeClock()
    sender = FakeCodeSender()
    store = InMemoryVerificationStore()
    events = RecordingEvents()
    passwords = PasswordHasher(cost=4)  # fast in unit tests; production uses 12
    users = InMemoryUsers(
        User("u-phone", "demo@example.com", passwords.hash(PASSWORD), PHONE),
        User("u-plain", "plain@example.com", passwords.hash(PASSWORD), None),
    )
    tokens = AccessTokenIssuer(
        lambda: SIGNING_SECRET, issuer=ISSUER, audience=AUDIENCE, ttl_seconds=3600, clock=clock
    )
    store.users = users
    failures = InMemoryAccountLock(clock)
    limits = InMemorySendLimits(
        clock, users=users, failures=failures, fraud=InMemoryFraudGuard(clock)
    )
    throttle = InMemoryPasswordThrottle(clock)
    world = LoginWorld(
        clock,
        sender,
        store,
        events,
        tokens,
        passwords,
        users,
        limits,
        failures,
        throttle,
        channels=channels,
    )
    world.flow = LoginFlow(
        users=users,
        passwords=passwords,
        challenges=world.challenges(policy(**policy_overrides)),
        audit=world.audit,
        tokens=tokens,
        throttle=throttle,
    )
    world.revocations = InMemoryTokenRevocations(users, clock)
    world.sessions = Sessions(
        tokens=tokens,
        revocations=world.revocations,
        events=events,
        clock=clock,
        notices=world.notices,
    )
    return world


def reset_policy() -> ChallengePolicy:
    """The password reset's policy, as its functions build it."""
    return policy(
        FlowKind.PASSWORD_RESET,
        timeout_secs=600,
        restart_hint=password_reset.RESTART_HINT,
        too_many_attempts_message=password_reset.TOO_MANY_ATTEMPTS,
        account_lock_applies=False,
        counts_toward_lock=True,
        conceals_account=True,
    )


def reauth_policy() -> ChallengePolicy:
    """The step-up's policy (/account/reauth)."""
    return policy(
        FlowKind.REAUTH,
        restart_hint=reauth.RESTART_HINT,
        too_many_attempts_message=reauth.TOO_MANY_ATTEMPTS,
    )


def password_reset_world(
    channels: ChannelPolicy = DEFAULT_CHANNEL_POLICY,
) -> tuple[LoginWorld, PasswordResetFlow]:
    """A login world (u-phone with PHONE, u-plain without) and a password reset over it."""
    world = login_world(channels)
    flow = PasswordResetFlow(
        users=world.users,
        passwords=world.passwords,
        challenges=world.challenges(reset_policy()),
        audit=world.audit,
        throttle=world.throttle,
        clock=world.clock,
        pepper=lambda: PEPPER,
        notices=world.notices,
    )
    return world, flow


@dataclass
class PhoneChangeWorld:
    """Adding or changing the phone of u-phone (PHONE) or u-plain (none), beside the login,
    the password reset and the step-up over the same users, store and outbox."""

    world: LoginWorld
    flow: PhoneChangeFlow
    reset: PasswordResetFlow
    notices: RecordingNotices
    step_up: StepUp
    reauth: ReauthFlow  # /account/reauth: the password, then a code to the account's phone
    reauth_tokens: ReauthTokenIssuer

    def caller(self, user_id: str, *, session: str = "s-1", reauth: bool = True) -> Caller:
        """`user_id` signed in with session `session`, holding (`reauth`) a fresh reauth
        token of that session, as /account/reauth grants it."""
        token = None
        if reauth:
            user = self.world.users.get(user_id)
            generation = user.token_generation if user else 0
            token = self.step_up.grant(user_id, generation, session, ORIGIN).token
        return Caller(user_id, session, token)


def reauth_tokens(world: LoginWorld) -> ReauthTokenIssuer:
    return ReauthTokenIssuer(
        lambda: SIGNING_SECRET, issuer=ISSUER, audience=AUDIENCE, ttl_seconds=300, clock=world.clock
    )


def phone_change_world() -> PhoneChangeWorld:
    world, reset = password_reset_world()
    notices = RecordingNotices()
    change_policy = policy(
        FlowKind.PHONE_CHANGE,
        restart_hint=phone_change.RESTART_HINT,
        too_many_attempts_message=phone_change.TOO_MANY_ATTEMPTS,
    )
    tokens = reauth_tokens(world)
    step_up = StepUp(tokens=tokens, audit=world.audit)
    flow = PhoneChangeFlow(
        users=world.users,
        passwords=world.passwords,
        challenges=world.challenges(change_policy),
        audit=world.audit,
        throttle=world.throttle,
        notices=notices,
        clock=world.clock,
        step_up=step_up,
        tokens=world.tokens,
    )
    reauth_flow = ReauthFlow(
        users=world.users,
        passwords=world.passwords,
        challenges=world.challenges(reauth_policy()),
        audit=world.audit,
        throttle=world.throttle,
        step_up=step_up,
    )
    return PhoneChangeWorld(world, flow, reset, notices, step_up, reauth_flow, tokens)


@dataclass
class RegistrationWorld:
    """Registration and login over the same users, store and SMS outbox."""

    flow: RegistrationFlow
    login: LoginFlow
    clock: FakeClock
    sender: FakeCodeSender
    store: InMemoryVerificationStore
    events: RecordingEvents
    tokens: AccessTokenIssuer
    passwords: PasswordHasher
    users: InMemoryUsers
    limits: InMemorySendLimits
    failures: InMemoryAccountLock
    audit: FlowAudit
    any_flow: AnyFlow
    emails: RecordingEmails
    email_limits: InMemoryEmailLimits
    pauses: list[float]  # how long the sends not made (a decoy's, a notice's) waited

    def email_code(self, address: str) -> str:
        """The code of the last email to `address` (AssertionError when it carried none)."""
        return self.emails.last_code(address)


def email_proof_sender(
    world: LoginWorld,
    emails: RecordingEmails,
    limits: InMemoryEmailLimits,
    purpose: CodePurpose,
    timeout_secs: int,
) -> EmailProofSender:
    """The runtime's EmailProofSender over the world's users and these fakes."""
    codes = EmailCodeSender(
        emails,
        code_length=6,
        timeout_secs=timeout_secs,
        pepper=lambda: PEPPER,
        service_name="Demo",
        purpose=purpose,
    )
    return EmailProofSender(
        users=world.users,
        limits=limits,
        codes=codes,
        emails=emails,
        pepper=lambda: PEPPER,
        service_name="Demo",
        pause=world.pauses.append,
        timer=world.timer,
    )


def sign_up_email(
    world: LoginWorld,
    emails: RecordingEmails | None = None,
    limits: InMemoryEmailLimits | None = None,
) -> EmailProof:
    """A sign-up's code by email, as the runtime builds it, over these fakes (fresh ones when
    not given)."""
    limits = limits or InMemoryEmailLimits(world.clock)
    sender = email_proof_sender(
        world, emails or RecordingEmails(), limits, CodePurpose.SIGN_UP, 600
    )
    return EmailProof(EmailSendGuard(limits, lambda: PEPPER), sender)


def registration_policy(**overrides: object) -> ChallengePolicy:
    """The registration policy the runtime builds (600 s, no retention), with overrides."""
    values: dict[str, object] = {
        "timeout_secs": 600,
        "retention_secs": 0,
        "restart_hint": registration.RESTART_HINT,
        "too_many_attempts_message": registration.TOO_MANY_ATTEMPTS,
    }
    values.update(overrides)
    return policy(FlowKind.REGISTRATION, **values)


def registration_world(**policy_overrides: object) -> RegistrationWorld:
    """A world with the demo account (PHONE) registered, ready for new sign-ups."""
    world = login_world()
    emails = RecordingEmails()
    email_limits = InMemoryEmailLimits(world.clock)
    flow = RegistrationFlow(
        users=world.users,
        passwords=world.passwords,
        challenges=world.challenges(registration_policy(**policy_overrides)),
        email=sign_up_email(world, emails, email_limits),
        tokens=world.tokens,
        clock=world.clock,
        default_phone_region="US",
    )
    return RegistrationWorld(
        flow,
        world.flow,
        world.clock,
        world.sender,
        world.store,
        world.events,
        world.tokens,
        world.passwords,
        world.users,
        world.limits,
        world.failures,
        world.audit,
        world.any_flow,
        emails,
        email_limits,
        world.pauses,
    )


# The operators' sample table of the unit tests (USD per unit), as `make run` has it plus the
# currencies the tests pay in. KYD has none: its payments always ask for a code.
SAMPLE_RATES = {
    "EUR": "1.08",
    "GBP": "1.27",
    "CHF": "1.13",
    "JPY": "0.0065",
    "KWD": "3.25",
    "THB": "0.029",
}


@dataclass
class PaymentWorld:
    """Payments for `u-phone` (PHONE) and `u-plain` (no phone), over in-memory adapters."""

    flow: PaymentFlow
    clock: FakeClock
    sender: FakeCodeSender
    store: InMemoryVerificationStore
    events: RecordingEvents
    payments: InMemoryPayments
    ledger: InMemoryLedger
    idempotency: InMemoryIdempotency
    limits: InMemorySendLimits
    failures: InMemoryAccountLock
    exemptions: InMemoryExemptPayments
    rates: FixedRates
    any_flow: AnyFlow  # status, cancel and delivery reports: the one the flow's Challenges use

    @property
    def verification_status(self) -> PaymentVerificationStatus:
        """GET /verify/status?payment_id=… over the same payments and flows."""
        return PaymentVerificationStatus(
            payments=self.payments, flows=self.any_flow, clock=self.clock
        )


def payment_policy(**overrides: object) -> ChallengePolicy:
    """The payment policy the runtime builds (300 s), with overrides."""
    values: dict[str, object] = {
        "restart_hint": payment_flow.RESTART_HINT,
        "too_many_attempts_message": payment_flow.TOO_MANY_ATTEMPTS,
    }
    values.update(overrides)
    return policy(FlowKind.PAYMENT, **values)


def payment_world(
    thresholds: dict[str, str] | None = None,
    default_threshold: str = "100.00",
    *,
    cumulative_limits: dict[str, str] | None = None,
    max_exempt_payments: int = 5,
    rates: dict[str, str] | None = None,
    reference: str = "USD",
) -> PaymentWorld:
    """`rates`: the operators' table to `reference` (by default SAMPLE_RATES)."""
    world = login_world()
    fixed_rates = FixedRates(SAMPLE_RATES if rates is None else rates, reference)
    limits = Thresholds.from_config(thresholds or {}, default_threshold)
    payments = InMemoryPayments()
    ledger = InMemoryLedger()
    idempotency = InMemoryIdempotency()
    exemptions = InMemoryExemptPayments(payments, world.failures)
    flow = PaymentFlow(
        thresholds=limits,
        exemption_limits=ExemptionLimits.from_config(
            cumulative_limits or {}, max_exempt_payments, reference=reference, thresholds=limits
        ),
        users=world.users,
        payments=payments,
        exemptions=exemptions,
        processor=ledger,
        challenges=world.challenges(payment_policy()),
        idempotency=idempotency,
        clock=world.clock,
        rates=fixed_rates,
    )
    return PaymentWorld(
        flow,
        world.clock,
        world.sender,
        world.store,
        world.events,
        payments,
        ledger,
        idempotency,
        world.limits,
        world.failures,
        exemptions,
        fixed_rates,
        world.any_flow,
    )


def report_delivery(
    flows: AnyFlow,
    store: InMemoryVerificationStore,
    verification_id: str,
    delivery: DeliveryStatus,
    registry: InMemoryWatcherRegistry | None = None,
) -> DeliveryUpdate:
    """Telnyx's report on `verification_id`, a new event, taken in as the webhook does (its
    claim and the flow's move in one write, the flow's watchers in `registry` learnt by it)."""
    ledger = InMemoryWebhookEventLedger(store, registry)
    return flows.record_delivery(ledger, f"e-{uuid.uuid4().hex}", verification_id, delivery)
