"""Review finding 4: a source address over its cap of wrong passwords (100 an hour) used to
refuse every password from it, the right ones included, for up to an hour: everyone behind one
NAT could be locked out by one guesser. With the proof-of-work gate on, such a source is asked
for a solved challenge instead, and a right password with one signs in."""

from __future__ import annotations

from dataclasses import replace

import pytest

from phoneverify.domain.audit_events import VerificationEventType
from phoneverify.domain.errors import ChallengeRequired, LoginThrottled
from phoneverify.flows.engine.proof_of_work_gate import GateMode, ProofOfWorkGate
from phoneverify.flows.login import LoginFlow, SecondFactorRequired
from phoneverify.http.errors import error_body, status_of
from tests.support.builders import ORIGIN, PASSWORD, LoginWorld, login_world, policy


class SpendOnce:
    """A HumanCheck whose solutions are right, each accepted once."""

    def __init__(self) -> None:
        self.spent: list[str] = []

    def issue(self) -> dict[str, object]:
        return {}

    def verify(self, payload: str) -> None:
        from phoneverify.domain.errors import ChallengeInvalid

        if payload in self.spent:
            raise ChallengeInvalid()
        self.spent.append(payload)


def gated_login(mode: GateMode) -> tuple[LoginWorld, LoginFlow]:
    """The demo world's login behind the gate in `mode`, with a source cap of 3."""
    world = login_world()
    world.throttle.policy = replace(world.throttle.policy, per_source=3)
    gate = ProofOfWorkGate(mode, SpendOnce(), world.events, world.clock)
    flow = LoginFlow(
        users=world.users,
        passwords=world.passwords,
        challenges=world.challenges(policy()),
        audit=world.audit,
        tokens=world.tokens,
        throttle=world.throttle,
        proof_of_work=gate,
    )
    return world, flow


def busy_address(mode: GateMode) -> tuple[LoginWorld, LoginFlow]:
    """A gated login from an address whose cap (3) a guesser spent."""
    world, flow = gated_login(mode)
    for n in range(3):  # one guess each at three accounts, from the shared address
        with pytest.raises(Exception, match="Invalid credentials"):
            flow.start(f"victim{n}@example.com", "guess", ORIGIN)
    return world, flow


@pytest.mark.parametrize("mode", [GateMode.RISKY, GateMode.ALWAYS])
def test_a_right_password_from_a_busy_address_is_asked_for_a_challenge(mode: GateMode) -> None:
    world, flow = busy_address(mode)
    # When the account's owner, behind the same address, signs in without a solution
    with pytest.raises(ChallengeRequired) as asked:
        flow.start("demo@example.com", PASSWORD, ORIGIN)
    # Then 400 challenge_required naming altcha (not 429 for an hour), audited
    assert status_of(asked.value) == 400
    assert error_body(asked.value)["code"] == "challenge_required"
    refused = [e for e in world.events.events if e.type is VerificationEventType.CHALLENGE_REFUSED]
    assert [e.detail["reason"] for e in refused] == ["risky"]
    # And with a solved challenge the right password signs in (a code is sent)
    assert isinstance(
        flow.start("demo@example.com", PASSWORD, ORIGIN, proof="p1"), SecondFactorRequired
    )
    # A wrong password with a solution is still just a wrong password, and still counted
    with pytest.raises(Exception, match="Invalid credentials"):
        flow.start("demo@example.com", "guess", ORIGIN, proof="p2")
    # and a solution is spent once
    with pytest.raises(Exception, match="invalid"):
        flow.start("demo@example.com", PASSWORD, ORIGIN, proof="p1")


def test_with_the_gate_off_a_busy_address_is_throttled_as_before() -> None:
    _, flow = busy_address(GateMode.OFF)
    with pytest.raises(LoginThrottled) as throttled:
        flow.start("demo@example.com", PASSWORD, ORIGIN, proof="ignored")
    assert error_body(throttled.value)["code"] == "login_throttled"


def test_an_address_under_its_cap_signs_in_without_a_challenge() -> None:
    _, flow = gated_login(GateMode.RISKY)
    assert isinstance(flow.start("demo@example.com", PASSWORD, ORIGIN), SecondFactorRequired)
