"""The payment reconciler (flows/payment_reconcile.py) on in-memory adapters with an injected
clock: payments left `processing` or `pending` with an accepted code by a worker killed
between two writes are settled once, the ledger holds each at most once, the payer then reads
completed or failed, and a confirmation that comes back to life never wins as well."""

from __future__ import annotations

from typing import Any

import pytest

from phoneverify.domain.audit_events import VerificationEventType
from phoneverify.domain.errors import InvalidCode
from phoneverify.domain.models import Payment, PaymentStatus
from phoneverify.flows.engine.audit import FlowAudit
from phoneverify.flows.payment_reconcile import PaymentReconciler
from tests.support.answers import answer
from tests.support.builders import ORIGIN, PHONE, PaymentWorld, payment_world

PAYER = "u-phone"
GRACE = 300


class WorkerKilled(BaseException):
    """The function's process ended (a crash, a timeout): nothing after it runs."""


class Killed:
    """`inner` (the payments store, or the processor) as seen by a worker that dies when it
    calls `kill_at`, and calls nothing after (a dead process releases no claim)."""

    def __init__(self, inner: Any, kill_at: str) -> None:
        self._inner = inner
        self._kill_at = kill_at
        self._dead = False

    def __getattr__(self, name: str) -> Any:
        if self._dead or name == self._kill_at:
            self._dead = True
            raise WorkerKilled()
        return getattr(self._inner, name)


def reconciler(world: PaymentWorld) -> PaymentReconciler:
    return PaymentReconciler(
        payments=world.payments,
        processor=world.ledger,
        exemptions=world.exemptions,
        flows=world.any_flow,
        audit=FlowAudit(events=world.events, clock=world.clock),
        clock=world.clock,
        grace_secs=GRACE,
    )


def initiate(world: PaymentWorld, amount: str = "250.00") -> dict[str, Any]:
    from phoneverify.flows.payment import PaymentOrder

    order = PaymentOrder.parse(amount, "USD", "Acme Supplies", None)
    return answer(world.flow.initiate(PAYER, order, ORIGIN))


def payment(world: PaymentWorld, payment_id: str) -> Payment:
    found = world.payments.get(payment_id)
    assert found is not None
    return found


def reconciled_events(world: PaymentWorld) -> list[dict[str, Any]]:
    return [
        e.detail for e in world.events.events if e.type is VerificationEventType.PAYMENT_RECONCILED
    ]


@pytest.fixture
def world() -> PaymentWorld:
    return payment_world()


def kill_confirm(world: PaymentWorld, payment_id: str, *, at: str) -> None:
    """Confirm with the right code on a worker that dies at `at` ("begin_processing": after
    the code was accepted; "charge": after `processing` was written; "complete": after the
    charge went through)."""
    flow: Any = world.flow
    if at == "charge":
        flow._processor = Killed(world.ledger, "charge")
    else:
        flow._payments = Killed(world.payments, at)
    try:
        with pytest.raises(WorkerKilled):
            flow.confirm(PAYER, payment_id, world.sender.last_code(PHONE), ORIGIN)
    finally:
        flow._payments, flow._processor = world.payments, world.ledger


def test_a_payment_left_processing_before_its_charge_is_failed_and_never_charged(
    world: PaymentWorld,
) -> None:
    # Given a confirm killed after writing processing, before the charge went out
    payment_id = initiate(world)["payment_id"]
    kill_confirm(world, payment_id, at="charge")
    assert payment(world, payment_id).status is PaymentStatus.PROCESSING
    # Within the grace period nothing is touched (the function may still be running)
    world.clock.advance(GRACE - 1)
    assert reconciler(world).run().outcomes == {}
    # When the reconciler runs past it
    world.clock.advance(2)
    report = reconciler(world).run()
    # Then the payment failed, the processor voided its id, and nothing was charged
    assert report.outcomes == {"failed": 1}
    assert payment(world, payment_id).status is PaymentStatus.FAILED
    assert world.ledger.entries == {} and payment_id in world.ledger.voided
    assert reconciled_events(world) == [
        {"payment_id": payment_id, "outcome": "failed", "was": "processing"}
    ]
    assert payment(world, payment_id).unsettled_since is None
    assert reconciler(world).run().outcomes == {}  # settled once


def test_a_payment_charged_but_not_completed_is_completed_with_its_one_ledger_entry(
    world: PaymentWorld,
) -> None:
    # Given a confirm whose charge went through, killed before it wrote completed
    payment_id = initiate(world)["payment_id"]
    kill_confirm(world, payment_id, at="complete")
    [(txn, _)] = world.ledger.entries.values()
    world.clock.advance(GRACE + 1)
    # When
    assert reconciler(world).run().outcomes == {"completed": 1}
    # Then completed with the first charge's transaction, charged once
    assert payment(world, payment_id).status is PaymentStatus.COMPLETED
    assert payment(world, payment_id).transaction_id == txn
    assert list(world.ledger.entries) == [payment_id] and world.ledger.charges == 1


def test_a_code_accepted_by_a_confirm_killed_before_processing_is_settled_as_failed(
    world: PaymentWorld,
) -> None:
    # Given a confirm killed after the code was accepted, before `processing` was written
    payment_id = initiate(world)["payment_id"]
    kill_confirm(world, payment_id, at="begin_processing")
    assert payment(world, payment_id).status is PaymentStatus.PENDING
    # The payer cannot finish it: the code is spent
    world.clock.advance(GRACE + 1)
    assert reconciler(world).run().outcomes == {"abandoned": 1}
    assert payment(world, payment_id).status is PaymentStatus.FAILED
    assert world.payments.failure_reasons[payment_id] == "abandoned"
    assert world.ledger.charges == 0 and world.ledger.entries == {}


def test_a_claim_without_an_accepted_code_leaves_the_payment_to_its_payer(
    world: PaymentWorld,
) -> None:
    # Given a wrong code (the claim marked the payment unsettled), code still valid
    payment_id = initiate(world)["payment_id"]
    with pytest.raises(InvalidCode):
        world.flow.confirm(PAYER, payment_id, world.sender.wrong_code(PHONE), ORIGIN)
    world.clock.advance(GRACE - 100)  # the payment's code is valid for 300 s
    report = PaymentReconciler(
        payments=world.payments,
        processor=world.ledger,
        exemptions=world.exemptions,
        flows=world.any_flow,
        audit=FlowAudit(events=world.events, clock=world.clock),
        clock=world.clock,
        grace_secs=60,
    ).run()
    # Then it is only no longer unsettled; the right code still completes it
    assert report.outcomes == {"awaiting_code": 1}
    assert payment(world, payment_id).status is PaymentStatus.PENDING
    body = answer(world.flow.confirm(PAYER, payment_id, world.sender.last_code(PHONE), ORIGIN))
    assert body["status"] == "completed"


def test_an_expired_unaccepted_payment_is_expired(world: PaymentWorld) -> None:
    payment_id = initiate(world)["payment_id"]
    with pytest.raises(InvalidCode):
        world.flow.confirm(PAYER, payment_id, world.sender.wrong_code(PHONE), ORIGIN)
    world.clock.advance(GRACE + 1)
    assert reconciler(world).run().outcomes == {"expired": 1}
    assert payment(world, payment_id).status is PaymentStatus.EXPIRED


def test_an_exempt_payment_left_processing_gives_its_count_back(world: PaymentWorld) -> None:
    # Given a payment below the threshold whose worker died before the charge
    flow: Any = world.flow
    flow._processor = Killed(world.ledger, "charge")
    with pytest.raises(WorkerKilled):
        initiate(world, amount="60.00")
    flow._processor = world.ledger
    assert world.exemptions.counted(PAYER) == (1, {"USD": 6000})
    [payment_id] = world.payments.items
    world.clock.advance(GRACE + 1)
    # When
    assert reconciler(world).run().outcomes == {"failed": 1}
    # Then the count it took is given back
    assert world.exemptions.counted(PAYER) == (0, {})
    assert payment(world, payment_id).status is PaymentStatus.FAILED


def test_a_confirm_that_comes_back_to_life_after_the_settlement_never_charges(
    world: PaymentWorld,
) -> None:
    # Given a payment left processing, settled as not charged
    payment_id = initiate(world)["payment_id"]
    kill_confirm(world, payment_id, at="charge")
    world.clock.advance(GRACE + 1)
    stuck = payment(world, payment_id)
    reconciler(world).run()
    # When the charge of the first worker finally reaches the processor
    from phoneverify.domain.payment_errors import PaymentDeclined

    with pytest.raises(PaymentDeclined):
        world.flow._process(stuck)  # type: ignore[attr-defined]
    # Then nothing moved, and the payment stays failed
    assert world.ledger.entries == {}
    assert payment(world, payment_id).status is PaymentStatus.FAILED


def test_a_live_claim_keeps_the_reconciler_off_a_pending_payment(world: PaymentWorld) -> None:
    # Given a payment whose unsettled mark is old, and a confirmation claiming it right now
    payment_id = initiate(world)["payment_id"]
    world.payments.tamper(payment_id, unsettled_since=world.clock.now() - GRACE - 10)
    seen = payment(world, payment_id)
    claimed = world.payments.claim(payment_id, PAYER, "tok", world.clock.now(), 30)
    assert claimed.done
    # When the reconciler acts on what it read before the claim
    assert seen.unsettled_since is not None
    assert not world.payments.abandon(payment_id, seen.unsettled_since, world.clock.now())
    assert not world.payments.settle_unclaimed(payment_id, seen.unsettled_since, world.clock.now())
    # Then the confirmation keeps it
    assert payment(world, payment_id).status is PaymentStatus.PENDING


def test_an_unreachable_processor_leaves_the_payment_for_the_next_run(world: PaymentWorld) -> None:
    payment_id = initiate(world)["payment_id"]
    kill_confirm(world, payment_id, at="charge")
    world.clock.advance(GRACE + 1)
    world.ledger.unreachable = True
    report = reconciler(world).run()
    assert report.outcomes == {"retry": 1}
    assert report.oldest_unsettled_secs == pytest.approx(GRACE + 1)
    world.ledger.unreachable = False
    assert reconciler(world).run().outcomes == {"failed": 1}
    assert reconciler(world).run().oldest_unsettled_secs == 0.0


def test_the_payer_reads_the_settled_result_of_a_payment_left_processing(
    world: PaymentWorld,
) -> None:
    # Given a charge that went through on a worker killed before it wrote completed
    payment_id = initiate(world)["payment_id"]
    kill_confirm(world, payment_id, at="complete")
    status = world.verification_status
    assert status.status(PAYER, payment_id).payment_status == "processing"
    # When the reconciler settles it
    world.clock.advance(GRACE + 1)
    reconciler(world).run()
    # Then GET /verify/status?payment_id= says completed (the code itself: verified)
    state = status.status(PAYER, payment_id)
    assert state.public_fields()["payment_status"] == "completed"
    assert state.status == "verified"


def test_the_payer_reads_failed_for_an_accepted_code_that_never_reached_processing(
    world: PaymentWorld,
) -> None:
    payment_id = initiate(world)["payment_id"]
    kill_confirm(world, payment_id, at="begin_processing")
    status = world.verification_status
    # The code was accepted, yet the payment is not done: the status says both
    assert status.status(PAYER, payment_id).public_fields()["payment_status"] == "pending"
    world.clock.advance(GRACE + 1)
    reconciler(world).run()
    state = status.status(PAYER, payment_id)
    assert (state.status, state.payment_status) == ("verified", "failed")
