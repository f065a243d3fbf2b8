"""The account's email (docs/email.md), driven through EmailChangeFlow with in-memory adapters:
a change needs the step-up and the new address's code; a taken address gets its owner a notice
and the changer a code that is never right; an unproven address is proven without a step-up."""

from __future__ import annotations

from typing import Any

import pytest

from phoneverify.domain.email_limits import EmailCaps
from phoneverify.domain.errors import (
    EmailAlreadyRegistered,
    EmailSuperseded,
    InvalidCode,
    InvalidRequest,
    NoPendingVerification,
    ReauthRequired,
    SendLimitReached,
)
from phoneverify.flows.email_change import ALREADY_PROVEN
from phoneverify.flows.engine.policy import OpenedChallenge
from phoneverify.http.errors import error_body, status_of
from phoneverify.http.responses import email_code_response
from tests.support.builders import ORIGIN
from tests.support.email_change import EmailChangeWorld, email_change_world

DEMO = "demo@example.com"
NEW = "ada.new@example.com"
DEMO_ID = "u-phone"


@pytest.fixture
def world() -> EmailChangeWorld:
    return email_change_world()


def answer(started: OpenedChallenge) -> dict[str, Any]:
    """What POST /account/email/start answers."""
    return email_code_response(started).model_dump(mode="json")


def wrong(code: str) -> str:
    return "".join(str((int(digit) + 1) % 10) for digit in code)


def test_a_proven_email_changes_with_the_step_up_and_the_new_code(world: EmailChangeWorld) -> None:
    # Given the owner, stepped up
    caller = world.base.caller(DEMO_ID)
    # When they ask for a new address and enter its code
    started = answer(world.flow.start(caller, " Ada.New@Example.com ", ORIGIN))
    assert started["email_hint"] == "a***@***.com"
    changed = world.flow.verify(DEMO_ID, started["flow_id"], world.emails.last_code(NEW), ORIGIN)
    # Then the account has the new address, proven, and the old one is free
    assert (changed.email, changed.changed) == (NEW, True)
    users = world.base.world.users
    user = users.get(DEMO_ID)
    assert user is not None and user.email == NEW and user.email_proven_at is not None
    assert users.email_holder(DEMO) is None and users.email_holder(NEW) == DEMO_ID
    # and both addresses were told
    assert any("was changed" in subject for subject in world.emails.to(DEMO))
    assert any("now your account's email" in subject for subject in world.emails.to(NEW))
    # and the audit says so, never with either address
    events = world.base.world.events
    assert "email_changed" in events.types
    assert DEMO not in repr(events.events) and NEW not in repr(events.events)


def test_a_change_without_the_step_up_is_refused_and_sends_nothing(
    world: EmailChangeWorld,
) -> None:
    with pytest.raises(ReauthRequired) as caught:
        world.flow.start(world.base.caller(DEMO_ID, reauth=False), NEW, ORIGIN)
    assert status_of(caught.value) == 401
    assert world.emails.outbox == []


def test_a_taken_address_gets_its_owner_a_notice_and_the_changer_a_code_never_right(
    world: EmailChangeWorld,
) -> None:
    # Given another account's address (u-plain's)
    plain = world.base.world.users.get("u-plain")
    assert plain is not None
    # When the demo owner asks for it
    started = answer(world.flow.start(world.base.caller(DEMO_ID), plain.email, ORIGIN))
    # Then the answer is a code's, the owner of the address got a notice and no code
    assert set(started) == {"flow_id", "email_hint", "timeout_secs", "code_length"}
    (subject,) = world.emails.to(plain.email)
    assert "someone tried" in subject
    # and no code is right: it fails as a wrong one
    with pytest.raises(InvalidCode):
        world.flow.verify(DEMO_ID, started["flow_id"], "123456", ORIGIN)
    user = world.base.world.users.get(DEMO_ID)
    assert user is not None and user.email == DEMO


def test_an_unproven_email_is_proven_without_the_step_up(world: EmailChangeWorld) -> None:
    # Given an account made before sign-up proved emails
    world = email_change_world(demo_proven=False)
    caller = world.base.caller(DEMO_ID, reauth=False)
    # When it asks to prove its own address
    started = answer(world.flow.start(caller, DEMO, ORIGIN))
    proven = world.flow.verify(DEMO_ID, started["flow_id"], world.emails.last_code(DEMO), ORIGIN)
    # Then the address is proven, nothing else changed
    assert (proven.email, proven.changed) == (DEMO, False)
    user = world.base.world.users.get(DEMO_ID)
    assert user is not None and user.email == DEMO and user.email_proven_at is not None
    # and asking again is a clear 400
    with pytest.raises(InvalidRequest) as again:
        world.flow.start(caller, DEMO, ORIGIN)
    assert error_body(again.value) == {
        "error": ALREADY_PROVEN,
        "code": "invalid_request",
        "field": "email",
    }


def test_a_code_is_the_caller_s_own(world: EmailChangeWorld) -> None:
    started = answer(world.flow.start(world.base.caller(DEMO_ID), NEW, ORIGIN))
    with pytest.raises(NoPendingVerification):
        world.flow.verify("u-plain", started["flow_id"], world.emails.last_code(NEW), ORIGIN)


def test_wrong_codes_are_capped(world: EmailChangeWorld) -> None:
    started = answer(world.flow.start(world.base.caller(DEMO_ID), NEW, ORIGIN))
    bad = wrong(world.emails.last_code(NEW))
    with pytest.raises(InvalidCode) as caught:
        world.flow.verify(DEMO_ID, started["flow_id"], bad, ORIGIN)
    assert error_body(caught.value)["attempts_remaining"] == 4


def test_an_address_taken_while_the_code_was_pending_is_a_409_to_its_prover(
    world: EmailChangeWorld,
) -> None:
    # Given a pending change, and the address taken meanwhile by a sign-up that won
    started = answer(world.flow.start(world.base.caller(DEMO_ID), NEW, ORIGIN))
    code = world.emails.last_code(NEW)
    plain = world.base.world.users.get("u-plain")
    assert plain is not None
    world.base.world.users.change_email("u-plain", plain.email, NEW, 1.0)
    # When the code is entered
    with pytest.raises(EmailAlreadyRegistered) as caught:
        world.flow.verify(DEMO_ID, started["flow_id"], code, ORIGIN)
    # Then the prover (who holds the address) is told it is taken
    assert (status_of(caught.value), error_body(caught.value)["code"]) == (409, "email_taken")


def test_a_change_made_meanwhile_ends_the_other(world: EmailChangeWorld) -> None:
    caller = world.base.caller(DEMO_ID)
    first = answer(world.flow.start(caller, NEW, ORIGIN))
    first_code = world.emails.last_code(NEW)
    second = answer(world.flow.start(caller, "other@example.com", ORIGIN))
    world.flow.verify(
        DEMO_ID, second["flow_id"], world.emails.last_code("other@example.com"), ORIGIN
    )
    with pytest.raises(EmailSuperseded):
        world.flow.verify(DEMO_ID, first["flow_id"], first_code, ORIGIN)


def test_the_email_limits_cap_codes_to_one_address(world: EmailChangeWorld) -> None:
    world.limits.caps = EmailCaps(per_address=2, per_ip=100, budget=100)
    caller = world.base.caller(DEMO_ID)
    world.flow.start(caller, NEW, ORIGIN)
    world.flow.start(caller, NEW, ORIGIN)
    with pytest.raises(SendLimitReached):
        world.flow.start(caller, NEW, ORIGIN)
    assert len(world.emails.to(NEW)) == 2
