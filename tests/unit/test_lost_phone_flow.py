"""The password reset's "I no longer have this phone", through LostPhoneFlow with in-memory
adapters and an injected clock (docs/phone-lifecycle.md#a-lost-phone)."""

from __future__ import annotations

import pytest

from phoneverify.domain.errors import (
    InvalidCode,
    InvalidPhoneNumber,
    LostPhoneWaiting,
    NoPendingPhoneSwap,
    PhoneSwapPending,
)
from phoneverify.domain.lifecycle.phone_swap import (
    CANCEL,
    COMPLETE,
    RECORD,
    PhoneSwapRule,
    SwapAsk,
    SwapStatus,
)
from phoneverify.domain.models import NoticeEvent
from phoneverify.flows.engine.any_flow import flow_key
from tests.support.answers import answer
from tests.support.builders import ORIGIN, PHONE
from tests.support.lost_phone import GRACE, WAIT, LostPhoneWorld, lost_phone_world

EMAIL = "demo@example.com"
NEW_PHONE = "+14155550199"
NEW_PASSWORD = "a brand new passphrase for demo"


@pytest.fixture
def lost() -> LostPhoneWorld:
    return lost_phone_world()


def swap_waiting(lost: LostPhoneWorld) -> str:
    """Walk the email and the new number; answers the flow id that completes the swap."""
    started = lost.flow.start(EMAIL, NEW_PHONE, ORIGIN)
    phone_step = lost.flow.verify(started.flow_id, lost.emails.last_code(EMAIL), ORIGIN)
    code = lost.world.sender.last_code(NEW_PHONE)
    state = lost.flow.confirm_phone(phone_step.flow_id, code, ORIGIN)
    assert state.status == "pending" and state.retry_after == WAIT
    return phone_step.flow_id


def test_the_new_number_binds_only_after_the_wait(lost: LostPhoneWorld) -> None:
    flow_id = swap_waiting(lost)
    # Told at the old number and the email the moment it is recorded
    assert (PHONE, NoticeEvent.PHONE_SWAP_PENDING) in lost.world.notices.sent
    assert any("waiting" in subject for subject in lost.emails.to(EMAIL))
    # Before binds_at: refused with the seconds left, nothing changed
    lost.world.clock.advance(WAIT - 10)
    with pytest.raises(LostPhoneWaiting) as waiting:
        lost.flow.complete(flow_id, NEW_PASSWORD, ORIGIN)
    assert waiting.value.retry_after == 10
    assert lost.world.users.get("u-phone").phone_number == PHONE  # type: ignore[union-attr]
    # After it: bound, the new password, every session ended
    lost.world.clock.advance(10)
    done = lost.flow.complete(flow_id, NEW_PASSWORD, ORIGIN)
    user = lost.world.users.get("u-phone")
    assert user is not None and done.status == "completed"
    assert user.phone_number == NEW_PHONE and user.token_generation == 1
    assert lost.world.passwords.verify(NEW_PASSWORD, user.password_hash)
    assert PHONE not in lost.world.users.by_phone
    assert (PHONE, NoticeEvent.PHONE_SWAP_DONE) in lost.world.notices.sent
    assert "phone_swap_done" in lost.world.events.types
    # and once only
    with pytest.raises(NoPendingPhoneSwap):
        lost.flow.complete(flow_id, NEW_PASSWORD, ORIGIN)


def test_the_owner_cancels_from_a_session_and_the_swap_never_binds(lost: LostPhoneWorld) -> None:
    flow_id = swap_waiting(lost)
    assert lost.flow.pending("u-phone").status == "pending"
    # When the owner, signed in (no step-up), cancels
    cancelled = lost.flow.cancel("u-phone", ORIGIN)
    # Then it is over, audited and told; the wait passing changes nothing
    assert cancelled.status == "cancelled" and cancelled.new_phone_hint == "+1******0199"
    assert lost.flow.pending("u-phone").status == "cancelled"
    assert (PHONE, NoticeEvent.PHONE_SWAP_CANCELLED) in lost.world.notices.sent
    assert "phone_swap_cancelled" in lost.world.events.types
    lost.world.clock.advance(WAIT + 1)
    with pytest.raises(NoPendingPhoneSwap):
        lost.flow.complete(flow_id, NEW_PASSWORD, ORIGIN)
    assert lost.world.users.get("u-phone").phone_number == PHONE  # type: ignore[union-attr]
    with pytest.raises(NoPendingPhoneSwap):
        lost.flow.cancel("u-phone", ORIGIN)


def test_one_swap_at_a_time(lost: LostPhoneWorld) -> None:
    swap_waiting(lost)
    started = lost.flow.start(EMAIL, "+14155550177", ORIGIN)
    phone_step = lost.flow.verify(started.flow_id, lost.emails.last_code(EMAIL), ORIGIN)
    with pytest.raises(PhoneSwapPending):
        lost.flow.confirm_phone(
            phone_step.flow_id, lost.world.sender.last_code("+14155550177"), ORIGIN
        )


def test_past_the_grace_window_the_flow_completes_nothing(lost: LostPhoneWorld) -> None:
    flow_id = swap_waiting(lost)
    lost.world.clock.advance(WAIT + GRACE)
    assert lost.flow.pending("u-phone").status == "none"  # expiry checked on read
    with pytest.raises(NoPendingPhoneSwap):
        lost.flow.complete(flow_id, NEW_PASSWORD, ORIGIN)


def test_the_email_code_is_kept_only_as_a_keyed_digest(lost: LostPhoneWorld) -> None:
    started = lost.flow.start(EMAIL, NEW_PHONE, ORIGIN)
    code = lost.emails.last_code(EMAIL)
    record = lost.world.store.get(flow_key(started.flow_id))
    assert record is not None and code not in record.verification_id
    assert started.phone_hint == "d***@***.com"
    # and the audit shows the address masked, never in full
    assert lost.world.events.events[-1].masked_phone == "d***@***.com"
    with pytest.raises(InvalidCode):
        lost.flow.verify(started.flow_id, "000000" if code != "000000" else "111111", ORIGIN)


@pytest.mark.parametrize(
    ("email", "proven"),
    [("nobody@example.com", True), (EMAIL, False), ("plain@example.com", True)],
    ids=["unknown", "unproven", "phoneless"],
)
def test_a_decoy_answers_like_a_real_start_with_the_same_counted_work(
    email: str, proven: bool
) -> None:
    real_world = lost_phone_world()
    decoy_world = lost_phone_world(proven=proven)
    # After each worker's first send (which opened its connection)
    real_world.flow.start(EMAIL, NEW_PHONE, ORIGIN)
    decoy_world.flow.start(EMAIL if proven else "other@example.com", NEW_PHONE, ORIGIN)
    real = answer(real_world.flow.start(EMAIL, NEW_PHONE, ORIGIN))
    counts_before = dict(decoy_world.email_limits.counts)
    sent_before = len(decoy_world.emails.outbox)
    readied_before = decoy_world.emails.readied
    decoy = answer(decoy_world.flow.start(email, NEW_PHONE, ORIGIN))
    # The same fields and values but the flow id and the hint (the address's own)
    assert decoy.keys() == real.keys()
    same = {k: v for k, v in decoy.items() if k not in ("flow_id", "phone_hint")}
    assert same == {k: v for k, v in real.items() if k not in ("flow_id", "phone_hint")}
    assert len(decoy["flow_id"]) == len(real["flow_id"])
    # The same counters counted (the email limits'), nothing sent, no code accepted
    counted = {k for k, v in decoy_world.email_limits.counts.items() if v != counts_before.get(k)}
    assert len(counted) == 3  # the address, the source, the email budget: as a real start
    assert len(decoy_world.emails.outbox) == sent_before
    assert decoy_world.emails.readied == readied_before + 1  # what a send resolves, it resolved
    with pytest.raises(InvalidCode):
        decoy_world.flow.verify(decoy["flow_id"], "123456", ORIGIN)


def test_a_number_that_is_not_one_is_refused_for_every_email_naming_its_field(
    lost: LostPhoneWorld,
) -> None:
    for email in (EMAIL, "nobody@example.com"):
        with pytest.raises(InvalidPhoneNumber) as refused:
            lost.flow.start(email, "12", ORIGIN)
        assert refused.value.extra["field"] == "new_phone"
    assert lost.emails.outbox == [] and lost.email_limits.counts == {}


def test_the_rule_walks_record_cancel_and_complete() -> None:
    rule = PhoneSwapRule(wait_secs=100, grace_secs=3600)
    swap = rule.opened("s1", NEW_PHONE, 1000.0)
    assert (swap.binds_at, swap.expires_at, swap.status) == (1100, 4700, SwapStatus.PENDING)
    assert RECORD.applies(None, SwapAsk(1000.0))
    assert not RECORD.applies(swap, SwapAsk(1000.0))
    assert RECORD.applies(swap, SwapAsk(4700.0))  # an expired swap is none
    assert CANCEL.applies(swap, SwapAsk(1000.0)) and not CANCEL.applies(swap, SwapAsk(4700.0))
    assert not COMPLETE.applies(swap, SwapAsk(1099.0, "s1"))  # the wait
    assert not COMPLETE.applies(swap, SwapAsk(1100.0, "s2"))  # another flow's
    assert COMPLETE.applies(swap, SwapAsk(1100.0, "s1"))
