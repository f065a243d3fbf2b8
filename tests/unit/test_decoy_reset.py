"""The decoy password reset nothing tells apart (docs/abuse-controls.md#the-decoy-password-reset):
equal work on both kinds, counted call by call with in-memory adapters and no wall clock; one
hint shape; the holder's password rules only after the code; wrong codes in the account's
lock; one reset ending the others; a cap of the account's own number answered as a decoy."""

from __future__ import annotations

from typing import Any

import pytest

from phoneverify.domain.errors import (
    InvalidCode,
    NoPendingVerification,
    PasswordSuperseded,
    SendLimitReached,
    WeakPassword,
)
from phoneverify.domain.keyed import keyed_digest
from phoneverify.domain.models import User
from phoneverify.domain.send_limits import SendCaps
from phoneverify.domain.tiers import SendTier
from phoneverify.flows.engine.any_flow import AnyFlow
from phoneverify.flows.engine.audit import FlowAudit
from phoneverify.flows.engine.challenges import Challenges
from phoneverify.flows.password_reset import PasswordResetFlow, stand_in_phone
from tests.support.answers import answer
from tests.support.builders import (
    ORIGIN,
    PASSWORD,
    PEPPER,
    PHONE,
    LoginWorld,
    password_reset_world,
)

NEW_PASSWORD = "a brand new passphrase for demo"
UNKNOWN = "nobody@example.com"

Log = list[tuple[str, str]]


class Spy:
    """Records every method call on `target` as (port, method) in `log`."""

    def __init__(self, target: Any, port: str, log: Log) -> None:
        self._target, self._port, self._log = target, port, log

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if not callable(value):
            return value

        def call(*args: Any, **kwargs: Any) -> Any:
            result = value(*args, **kwargs)
            if name == "find_by_email":
                # DynamoUserRepository reads the EMAIL# pointer, then the account (or, with
                # no pointer, a key no account has): two reads either way.
                self._log += [(self._port, "read"), (self._port, "read")]
            elif name == "get":
                self._log.append((self._port, "read"))
            else:
                self._log.append((self._port, name))
            return result

        return call


def spied(world: LoginWorld, flow: PasswordResetFlow) -> Log:
    """Every DynamoDB-backed port, the provider, the audit and the pause of the reset,
    recorded in one log: what one request does, call by call."""
    log: Log = []
    store = Spy(world.store, "verifications", log)
    audit = FlowAudit(events=Spy(world.events, "audit", log), clock=world.clock)

    def logged_pause(seconds: float) -> None:
        log.append(("provider", "pause"))
        world.pauses.append(seconds)

    flow._challenges = Challenges(
        flow._challenges.policy,
        store=store,
        sender=Spy(world.sender, "provider", log),
        flows=AnyFlow(store=store, audit=audit, clock=world.clock),
        audit=audit,
        clock=world.clock,
        guard=Spy(world.limits, "send_limits", log),
        failures=Spy(world.failures, "failures", log),
        account_tokens=Spy(world.users, "users", log),
        notices=world.notices,
        channels=world.channels,
        prefixes=world.limits.fraud,
        pepper=lambda: PEPPER,
        pause=logged_pause,
        timer=world.timer,
    )
    flow._audit = audit
    flow._users = Spy(world.users, "users", log)  # type: ignore[assignment]
    return log


def work(log: Log, since: int) -> list[tuple[str, str]]:
    """The calls after `since`, a provider call and a decoy's pause counted alike (a decoy
    readies the provider's credentials first: a cold worker reads the same secrets)."""
    return [
        (port, "call" if port == "provider" else name)
        for port, name in log[since:]
        if (port, name) != ("provider", "ready")
    ]


def reset_world() -> tuple[LoginWorld, PasswordResetFlow, Log]:
    world, flow = password_reset_world()
    return world, flow, spied(world, flow)


def test_start_resend_and_a_wrong_code_cost_the_same_calls_on_both_kinds() -> None:
    world, flow, log = reset_world()
    # Given a worker that has made real sends and a real check (its timings)
    flow.start("demo@example.com", ORIGIN)  # its first send: the connection's, not kept
    warm = flow.start("demo@example.com", ORIGIN)
    with pytest.raises(InvalidCode):
        flow.verify(warm.flow_id, world.sender.wrong_code(PHONE), NEW_PASSWORD, ORIGIN)
    costs: dict[str, list[list[tuple[str, str]]]] = {"start": [], "resend": [], "check": []}
    for email in ("demo@example.com", UNKNOWN, "plain@example.com"):
        # When each kind is started, resent and checked with a wrong code
        mark = len(log)
        started = flow.start(email, ORIGIN)
        costs["start"].append(work(log, mark))
        world.clock.advance(30)
        mark = len(log)
        flow.resend(started.flow_id, ORIGIN)
        costs["resend"].append(work(log, mark))
        mark = len(log)
        with pytest.raises(InvalidCode):
            flow.verify(started.flow_id, "000000", NEW_PASSWORD, ORIGIN)
        costs["check"].append(work(log, mark))
    # Then a real flow, a decoy and an account without a phone make the same calls, in the
    # same order: DynamoDB, the audit, and the provider or a pause in its place
    for step, each in costs.items():
        assert each[0] == each[1] == each[2], step
    assert costs["start"][0].count(("users", "read")) == 2  # the pointer, the account
    assert ("provider", "call") in costs["check"][1]
    assert ("failures", "reserve") in costs["check"][1]
    # and the real ones reached the provider, the decoys only readied it and paused
    assert [name for port, name in log if port == "provider"].count("pause") == 6
    assert world.sender.readied == ["send", "send", "check"] * 2


def test_a_decoy_pauses_as_long_as_this_workers_real_calls_took_and_not_before() -> None:
    world, flow = password_reset_world()
    # Given a cold worker: a decoy's start and check before any real one
    cold = flow.start(UNKNOWN, ORIGIN)
    with pytest.raises(InvalidCode):
        flow.verify(cold.flow_id, "000000", NEW_PASSWORD, ORIGIN)
    assert world.pauses == []  # no pause of its own: no guess at what a send costs
    # When the worker's first real send and check open its connection (slow: not kept)
    world.timer.step = 0.075
    first = flow.start("demo@example.com", ORIGIN)
    with pytest.raises(InvalidCode):
        flow.verify(first.flow_id, world.sender.wrong_code(PHONE), NEW_PASSWORD, ORIGIN)
    # and further real ones are made (4 ms each by the world's timer)
    world.timer.step = 0.004
    real = flow.start("demo@example.com", ORIGIN)
    with pytest.raises(InvalidCode):
        flow.verify(real.flow_id, world.sender.wrong_code(PHONE), NEW_PASSWORD, ORIGIN)
    decoy = flow.start(UNKNOWN, ORIGIN)
    with pytest.raises(InvalidCode):
        flow.verify(decoy.flow_id, "000000", NEW_PASSWORD, ORIGIN)
    # Then each pause is one a warm real call took, never the connection's
    assert world.pauses == pytest.approx([0.004, 0.004])


def test_the_hint_has_one_shape_for_every_account_and_a_decoys_is_stable() -> None:
    world, flow = password_reset_world()
    world.users.put_user(User("u-uk", "uk@example.com", "x", "+447400122333"))
    # When resets of a US account, a UK account and unknown emails are started
    hints = {
        email: flow.start(email, ORIGIN).phone_hint
        for email in ("demo@example.com", "uk@example.com", UNKNOWN, "plain@example.com")
    }
    # Then every hint is six stars and four digits, with no country code
    assert hints["demo@example.com"] == "******0123"
    assert hints["uk@example.com"] == "******2333"
    assert all(h.startswith("******") and len(h) == 10 for h in hints.values())
    # and a decoy's digits come from the keyed digest of the email, the same each time
    assert hints[UNKNOWN] == flow.start(UNKNOWN, ORIGIN).phone_hint
    assert hints[UNKNOWN] == "******" + stand_in_phone(PEPPER, UNKNOWN, 1)[-4:]
    assert stand_in_phone(b"another pepper, another number....", UNKNOWN, 1) != stand_in_phone(
        PEPPER, UNKNOWN, 1
    )


def test_keyed_digest_is_hmac_sha256_hex() -> None:
    assert keyed_digest(b"key", "The quick brown fox jumps over the lazy dog") == (
        "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
    )


@pytest.mark.parametrize("email", ["demo@example.com", UNKNOWN])
def test_the_holders_name_as_new_password_is_a_wrong_code_until_the_code_is_right(
    email: str,
) -> None:
    world, flow = password_reset_world()
    world.users.replace(User("u-phone", "demo@example.com", "x", PHONE, name="Demo Holder"))
    started = flow.start(email, ORIGIN)
    # When a wrong code comes with the holder's name as the new password
    with pytest.raises(InvalidCode) as wrong:
        flow.verify(started.flow_id, "000000", "Demo Holder", ORIGIN)
    # Then the answer is the wrong code's, on a real flow and on a decoy alike
    assert wrong.value.extra["attempts_remaining"] == 4


def test_a_new_password_refused_after_the_right_code_keeps_the_flow_for_a_retry() -> None:
    world, flow, log = reset_world()
    world.users.replace(
        User("u-phone", "demo@example.com", world.passwords.hash(PASSWORD), PHONE, name="Demo Who")
    )
    started = flow.start("demo@example.com", ORIGIN)
    code = world.sender.last_code(PHONE)
    # When the right code comes with the holder's name, then with a good password
    with pytest.raises(WeakPassword) as named:
        flow.verify(started.flow_id, code, "demo who", ORIGIN)
    checks = [name for port, name in log if port == "provider"].count("check")
    proven = next(iter(world.store.items.values()))
    done = flow.verify(started.flow_id, code, NEW_PASSWORD, ORIGIN)
    # Then the name was refused naming the field, no attempt was spent, and the same code
    # set the password without asking the provider again (it accepts a code once)
    assert named.value.extra == {"field": "new_password"}
    assert proven.attempts == 0 and proven.verification_id.startswith("proven_")
    assert code not in proven.verification_id
    assert answer(done) == {"password_reset": True}
    assert [name for port, name in log if port == "provider"].count("check") == checks == 1
    assert world.failures.failures("u-phone") == 0


def test_a_proven_flow_still_refuses_a_wrong_code() -> None:
    world, flow = password_reset_world()
    started = flow.start("demo@example.com", ORIGIN)
    code = world.sender.last_code(PHONE)
    with pytest.raises(WeakPassword):
        flow.verify(started.flow_id, code, "demo@example.com", ORIGIN)
    with pytest.raises(InvalidCode):
        flow.verify(started.flow_id, world.sender.wrong_code(PHONE), NEW_PASSWORD, ORIGIN)


def test_at_the_lock_the_right_reset_code_still_resets_and_clears_it() -> None:
    world, flow = password_reset_world()
    world.failures.max_failures = 3
    # Given wrong reset codes up to the account's cap
    first = flow.start("demo@example.com", ORIGIN)
    for _ in range(3):
        with pytest.raises(InvalidCode):
            flow.verify(first.flow_id, world.sender.wrong_code(PHONE), NEW_PASSWORD, ORIGIN)
    locked = world.failures.failures("u-phone")
    # When the owner resets (one more wrong code first: it answers as any wrong code)
    world.clock.advance(30)
    again = flow.start("demo@example.com", ORIGIN)
    with pytest.raises(InvalidCode):
        flow.verify(again.flow_id, world.sender.wrong_code(PHONE), NEW_PASSWORD, ORIGIN)
    done = flow.verify(again.flow_id, world.sender.last_code(PHONE), NEW_PASSWORD, ORIGIN)
    # Then the lock was reached, the reset went through and the lock is gone
    assert locked == 3
    assert "account_locked" in world.events.types
    assert answer(done) == {"password_reset": True}
    assert world.failures.failures("u-phone") == 0


def test_one_reset_ends_every_other_pending_reset_of_the_account() -> None:
    world, flow = password_reset_world()
    first = flow.start("demo@example.com", ORIGIN)
    first_code = world.sender.last_code(PHONE)
    second = flow.start("demo@example.com", ORIGIN)
    second_code = world.sender.last_code(PHONE)
    # When the second one resets the password
    flow.verify(second.flow_id, second_code, NEW_PASSWORD, ORIGIN)
    # Then the first, with its right code, sets nothing and says its flow is over
    with pytest.raises(PasswordSuperseded) as over:
        flow.verify(first.flow_id, first_code, "an attacker's passphrase now", ORIGIN)
    assert isinstance(over.value, NoPendingVerification)
    user = world.users.get("u-phone")
    assert user is not None and world.passwords.verify(NEW_PASSWORD, user.password_hash)
    assert user.password_generation == 1
    assert "password_reset_superseded" in world.events.types


@pytest.mark.parametrize(
    "caps",
    [
        SendCaps(per_phone=1, per_ip=100, per_account=10, budget=1_000),
        SendCaps(per_phone=10, per_ip=100, per_account=1, budget=1_000),
        SendCaps(per_phone=10, per_ip=1, per_account=10, budget=1_000),
    ],
    ids=["per-phone", "per-account", "per-source"],
)
def test_every_cap_refuses_a_real_reset_exactly_when_it_refuses_a_decoy(caps: SendCaps) -> None:
    # Given small caps, and for each kind a fresh world (a source of its own)
    answers: dict[str, list[str]] = {}
    for email in ("demo@example.com", UNKNOWN, "plain@example.com"):
        world, flow = password_reset_world()
        world.limits.caps = caps
        # When the reset is asked twice, and resent once
        seen: list[str] = []
        for _ in range(2):
            try:
                started = flow.start(email, ORIGIN)
                seen.append("200")
            except SendLimitReached:
                seen.append("429")
        world.clock.advance(30)
        try:
            flow.resend(started.flow_id, ORIGIN)
            seen.append("200")
        except SendLimitReached:
            seen.append("429")
        answers[email] = seen
    # Then every kind is answered alike: a real reset counts in the caps its decoy would
    assert answers["demo@example.com"] == answers[UNKNOWN] == answers["plain@example.com"]
    assert answers[UNKNOWN] == ["200", "429", "429"]


def test_a_real_reset_counts_under_its_emails_stand_in_and_its_code_goes_to_the_phone() -> None:
    world, flow = password_reset_world()
    world.limits.caps = SendCaps(per_phone=1, per_ip=100, per_account=10, budget=1_000)
    # Given the account's own number at its cap in the reset tier (a previous owner's resets)
    world.limits.admit(PHONE, "u-previous-owner", ORIGIN, tier=SendTier.RESET)
    # When the account's reset is asked
    started = flow.start("demo@example.com", ORIGIN)
    # Then it is not refused by a cap its decoy would not meet: the code went to the
    # account's phone, counted under the email's stand-in number
    assert world.sender.outbox[-1][0] == PHONE
    assert started.phone_hint == "******0123"
    record = next(r for r in world.store.items.values() if r.subject == "u-phone")
    assert record.data["counted_as"] == stand_in_phone(PEPPER, "demo@example.com", 1)


def test_a_phone_the_policy_refuses_is_answered_as_a_decoy_and_audited() -> None:
    world, flow = password_reset_world()
    world.users.put_user(User("u-br", "brasil@example.com", "x", "+5511987654321"))
    flow.start("brasil@example.com", ORIGIN)
    event = next(e for e in world.events.events if e.type.value == "reset_concealed")
    assert event.subject == "u-br" and event.detail["reason"] == "phone_not_allowed"
    assert world.sender.outbox == []
