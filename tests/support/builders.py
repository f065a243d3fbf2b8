"""Flows wired with in-memory adapters."""

from __future__ import annotations

from dataclasses import dataclass

from phoneverify.flows.challenges import ChallengePolicy, Challenges
from phoneverify.flows.login import LoginFlow
from phoneverify.models import FlowKind, RequestOrigin, User
from phoneverify.passwords import PasswordHasher
from phoneverify.tokens import AccessTokenIssuer
from tests.support.fakes import (
    FakeClock,
    FakeCodeSender,
    InMemoryUsers,
    InMemoryVerificationStore,
    RecordingEvents,
)

SIGNING_SECRET = "unit-test-signing-secret-0123456789abcdef"
ISSUER = "phone-verify-test"
AUDIENCE = "phone-verify-test-api"
PASSWORD = "correct horse battery staple"
PHONE = "+14155550123"
ORIGIN = RequestOrigin(source_ip="203.0.113.9", user_agent="pytest")


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


@dataclass
class LoginWorld:
    flow: LoginFlow
    clock: FakeClock
    sender: FakeCodeSender
    store: InMemoryVerificationStore
    events: RecordingEvents
    tokens: AccessTokenIssuer
    passwords: PasswordHasher
    users: InMemoryUsers

    def challenges(self, kind: FlowKind) -> Challenges:
        return Challenges(
            policy(kind), store=self.store, sender=self.sender, events=self.events, clock=self.clock
        )


def login_world(**policy_overrides: object) -> LoginWorld:
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
    challenges = Challenges(
        policy(**policy_overrides), store=store, sender=sender, events=events, clock=clock
    )
    flow = LoginFlow(users=users, passwords=passwords, challenges=challenges, tokens=tokens)
    return LoginWorld(flow, clock, sender, store, events, tokens, passwords, users)
