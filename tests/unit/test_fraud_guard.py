"""The fraud guard through the registration flow with in-memory adapters: pumped prefixes are
held, prefixes whose codes are entered are not, a country only when many of its prefixes
are, operators' lists, the proof-of-work gate's part, and no bcrypt for a refused sign-up."""

from __future__ import annotations

import itertools
from dataclasses import replace

import pytest

from phoneverify.domain.audit_events import VerificationEventType
from phoneverify.domain.errors import (
    ChallengeRequired,
    PhoneNotAllowed,
    PrefixHeld,
    SendLimitReached,
)
from phoneverify.domain.fraud import FraudRules
from phoneverify.domain.models import FlowKind, RequestOrigin
from phoneverify.flows.engine.challenges import Challenges
from phoneverify.flows.engine.proof_of_work_gate import GateMode, ProofOfWorkGate
from phoneverify.http.errors import error_body, status_of
from tests.support.answers import answer
from tests.support.builders import RegistrationWorld, registration_policy, registration_world
from tests.support.fakes import InMemoryFraudGuard

HOUR = 3_600
HOLD = 6 * HOUR
PUMPED = "+1415556"  # the attacker's prefix: +1 415 556 xxxx
OTHER = "+1415557"  # the same area code, another prefix
_addresses = itertools.count(1)


def fresh_source() -> RequestOrigin:
    n = next(_addresses)
    return RequestOrigin(source_ip=f"198.51.{n // 250}.{n % 250 + 1}", user_agent="pytest")


def number(prefix: str, n: int) -> str:
    return f"{prefix}{n:04d}"


@pytest.fixture
def world() -> RegistrationWorld:
    w = registration_world()
    w.clock.advance(600)
    return w


def fraud(world: RegistrationWorld) -> InMemoryFraudGuard:
    assert world.limits.fraud is not None
    return world.limits.fraud


def register(world: RegistrationWorld, phone: str, origin: RequestOrigin | None = None) -> str:
    started = world.flow.start(
        "Pat Doe",
        f"p{phone[-7:]}@example.com",
        phone,
        "analytical engine notes",
        origin or fresh_source(),
    )
    flow_id: str = answer(started)["flow_id"]
    return flow_id


def sent_to(world: RegistrationWorld, prefix: str) -> int:
    return sum(1 for phone, _, _ in world.sender.outbox if phone.startswith(prefix))


def pump(world: RegistrationWorld, prefix: str, count: int) -> None:
    for n in range(count):
        register(world, number(prefix, n))


def test_a_prefix_whose_codes_nobody_enters_is_held_after_its_share(
    world: RegistrationWorld,
) -> None:
    # Given 8 codes to one prefix from 8 addresses, none of them entered
    pump(world, PUMPED, 8)
    # When a ninth number of that prefix signs up, from yet another address
    with pytest.raises(PrefixHeld) as refused:
        register(world, number(PUMPED, 500))
    # Then 429 prefix_held for the whole hold, no SMS, and the hold is audited
    assert status_of(refused.value) == 429
    assert error_body(refused.value)["code"] == "prefix_held"
    assert refused.value.retry_after == HOLD
    assert sent_to(world, PUMPED) == 8
    held = [e for e in world.events.events if e.type is VerificationEventType.HOLD_PLACED]
    assert [(e.subject, e.kind, e.detail["scope"]) for e in held] == [
        (f"prefix#{PUMPED}", FlowKind.FRAUD_GUARD, "prefix")
    ]
    # And another prefix of the same country is not held
    register(world, number(OTHER, 1))
    # The hold outlives the window the prefix tripped in, and ends after its time
    world.clock.advance(HOUR)
    with pytest.raises(PrefixHeld):
        register(world, number(PUMPED, 501))
    world.clock.advance(HOLD)
    register(world, number(PUMPED, 502))
    assert sent_to(world, PUMPED) == 9


def test_a_prefix_whose_codes_are_entered_is_never_held(world: RegistrationWorld) -> None:
    # Given sign-ups to one prefix where one code in three is entered (over the 20 %)
    for n in range(30):
        phone = number(PUMPED, n)
        flow_id = register(world, phone)
        if n % 3 == 0:
            email = world.email_code(f"p{phone[-7:]}@example.com")
            world.flow.verify(flow_id, world.sender.last_code(phone), email, fresh_source())
    # Then every one got its code
    assert sent_to(world, PUMPED) == 30


def test_a_resend_to_a_held_prefix_is_refused_too(world: RegistrationWorld) -> None:
    flow_id = register(world, number(PUMPED, 9000))
    pump(world, PUMPED, 7)
    with pytest.raises(PrefixHeld):
        register(world, number(PUMPED, 500))
    world.clock.advance(31)
    with pytest.raises(PrefixHeld):
        world.flow.resend(flow_id, fresh_source())
    assert sent_to(world, PUMPED) == 8


def test_a_refused_sign_up_costs_no_password_hash(
    world: RegistrationWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    pump(world, PUMPED, 8)
    hashes: list[str] = []
    real_hash = world.passwords.hash
    monkeypatch.setattr(world.passwords, "hash", lambda p: hashes.append(p) or real_hash(p))
    with pytest.raises(PrefixHeld):
        register(world, number(PUMPED, 500))
    world.limits.caps = replace(world.limits.caps, per_ip=1)
    source = fresh_source()
    register(world, number(OTHER, 1), source)
    with pytest.raises(SendLimitReached):
        register(world, number(OTHER, 2), source)
    assert len(hashes) == 1  # only the sign-up that was sent


def test_a_country_is_held_only_when_many_of_its_prefixes_are(world: RegistrationWorld) -> None:
    prefixes = [f"+1415{n}" for n in range(560, 565)]
    # Four held prefixes: the country's other sign-ups still get codes
    for prefix in prefixes[:4]:
        pump(world, prefix, 8)
        with pytest.raises(PrefixHeld):
            register(world, number(prefix, 500))
    register(world, number(OTHER, 1))
    # The fifth held prefix holds the country
    pump(world, prefixes[4], 8)
    with pytest.raises(PrefixHeld):
        register(world, number(prefixes[4], 500))
    with pytest.raises(PrefixHeld):
        register(world, number(OTHER, 2))
    held = [e.subject for e in world.events.events if e.type is VerificationEventType.HOLD_PLACED]
    assert held[-1] == "country#US"
    # Another country's numbers are not held
    register(world, "+447400123456")


def test_operators_deny_and_allow_lists(world: RegistrationWorld) -> None:
    fraud(world).rules = FraudRules(
        deny_prefixes=frozenset({OTHER}), allow_prefixes=frozenset({PUMPED})
    )
    with pytest.raises(PhoneNotAllowed) as refused:
        register(world, number(OTHER, 1))
    assert status_of(refused.value) == 400
    # An allowed prefix is never held, however few of its codes are entered
    pump(world, PUMPED, 20)
    assert sent_to(world, PUMPED) == 20


def test_a_send_telnyx_fails_does_not_count_for_its_prefix(world: RegistrationWorld) -> None:
    world.sender.fail_sends = 5
    for n in range(5):
        with pytest.raises(Exception, match="send"):
            register(world, number(PUMPED, 900 + n))
    pump(world, PUMPED, 8)
    assert sent_to(world, PUMPED) == 8


# -- the proof-of-work gate's part ---------------------------------------------------------------
def sign_up_challenges(world: RegistrationWorld) -> Challenges:
    return Challenges(
        registration_policy(),
        store=world.store,
        sender=world.sender,
        flows=world.any_flow,
        audit=world.audit,
        clock=world.clock,
        guard=world.limits,
        prefixes=world.limits.fraud,
    )


def test_with_the_gate_on_a_held_prefix_asks_for_a_solved_challenge(
    world: RegistrationWorld,
) -> None:
    challenges = sign_up_challenges(world)
    pump(world, PUMPED, 8)
    with pytest.raises(ChallengeRequired) as refused:
        challenges.open("s-1", number(PUMPED, 500), fresh_source(), gated=True)
    assert error_body(refused.value)["code"] == "challenge_required"
    # A solved one lets the code through, and it still counts for the prefix
    challenges.open("s-2", number(PUMPED, 501), fresh_source(), gated=True, vouched=True)
    assert sent_to(world, PUMPED) == 9


def test_with_the_gate_on_a_source_past_half_its_cap_asks_for_a_challenge(
    world: RegistrationWorld,
) -> None:
    world.limits.caps = replace(world.limits.caps, per_ip=4)
    challenges = sign_up_challenges(world)
    source = fresh_source()
    challenges.open("s-1", number(OTHER, 1), source, gated=True)
    challenges.open("s-2", number(OTHER, 2), source, gated=True)
    with pytest.raises(ChallengeRequired):
        challenges.open("s-3", number(OTHER, 3), source, gated=True)
    # Solved: up to the full cap, then the cap's own answer
    challenges.open("s-4", number(OTHER, 4), source, gated=True, vouched=True)
    challenges.open("s-5", number(OTHER, 5), source, gated=True, vouched=True)
    with pytest.raises(SendLimitReached):
        challenges.open("s-6", number(OTHER, 6), source, gated=True, vouched=True)
    assert sent_to(world, OTHER) == 4


class AcceptingCheck:
    """A HumanCheck whose every solution is right (the adapter has tests of its own)."""

    def issue(self) -> dict[str, object]:
        return {}

    def verify(self, payload: str) -> None:
        return None


def test_in_risky_mode_a_held_prefix_asks_the_sign_up_for_a_solution_audited(
    world: RegistrationWorld,
) -> None:
    world.flow._gate = ProofOfWorkGate(GateMode.RISKY, AcceptingCheck(), world.events, world.clock)
    pump(world, PUMPED, 8)
    # When a sign-up to the held prefix comes without a solution
    with pytest.raises(ChallengeRequired):
        register(world, number(PUMPED, 500))
    # Then it is refused, audited as the gate's own refusals are, and no SMS goes
    refused = [e for e in world.events.events if e.type is VerificationEventType.CHALLENGE_REFUSED]
    assert [e.detail["reason"] for e in refused] == ["risky"]
    assert sent_to(world, PUMPED) == 8
    # And with a solution the person gets their code
    started = world.flow.start(
        "Pat Doe",
        "pat@example.com",
        number(PUMPED, 501),
        "analytical engine notes",
        fresh_source(),
        proof="solved",
    )
    assert answer(started)["flow_id"]
    assert sent_to(world, PUMPED) == 9
