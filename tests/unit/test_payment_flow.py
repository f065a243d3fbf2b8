"""Payment step-up, driven through PaymentFlow with in-memory adapters: what the payer, and
someone trying to pay with another's account or change a payment, would notice."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from typing import Any

import pytest

from phoneverify.domain.errors import (
    AccountLocked,
    CodeDeliveryFailed,
    DomainError,
    InvalidCode,
    NotAuthenticated,
    ResendTooSoon,
    TooManyAttempts,
    VerificationExpired,
    VerificationNotFound,
)
from phoneverify.domain.models import DeliveryStatus, FlowKind, PaymentStatus
from phoneverify.domain.payment_errors import (
    ConfirmationInProgress,
    IdempotencyKeyReused,
    PaymentDeclined,
    PaymentDetailsChanged,
    PaymentNotFound,
    PaymentNotPending,
    PhoneRequiredForPayment,
)
from phoneverify.domain.rates import RateTable
from phoneverify.flows.engine.any_flow import flow_key
from phoneverify.flows.payment import PaymentOrder
from phoneverify.http.errors import error_body, error_headers
from phoneverify.http.errors import status_of as http_status
from phoneverify.ports.payments import PaymentCompleted
from tests.support.answers import answer
from tests.support.builders import ORIGIN, PHONE, PaymentWorld, payment_world, report_delivery

PAYER = "u-phone"  # has PHONE
NO_PHONE = "u-plain"


@pytest.fixture
def world() -> PaymentWorld:
    return payment_world()


def order(
    amount: object = "250.00",
    currency: str = "USD",
    recipient: str = "Acme Supplies",
    description: str | None = "Invoice 42",
) -> PaymentOrder:
    return PaymentOrder.parse(amount, currency, recipient, description)


def initiate(world: PaymentWorld, user: str = PAYER, **kwargs: Any) -> dict[str, Any]:
    return answer(world.flow.initiate(user, order(**kwargs), ORIGIN))


def confirm(world: PaymentWorld, payment_id: str, code: str, user: str = PAYER) -> dict[str, Any]:
    return answer(world.flow.confirm(user, payment_id, code, ORIGIN))


def status_of(world: PaymentWorld, payment_id: str) -> PaymentStatus:
    payment = world.payments.get(payment_id)
    assert payment is not None
    return payment.status


# -- initiate ------------------------------------------------------------------------------
def test_a_payment_below_the_threshold_completes_at_once_without_a_code(
    world: PaymentWorld,
) -> None:
    # When
    body = initiate(world, amount="99.99")
    # Then
    assert body["status"] == "completed"
    assert body["transaction_id"].startswith("txn_")
    assert (body["amount"], body["currency"]) == ("99.99", "USD")
    assert world.sender.outbox == []
    assert status_of(world, body["payment_id"]) == PaymentStatus.COMPLETED
    assert list(world.ledger.entries) == [body["payment_id"]]


def test_a_payment_at_the_threshold_waits_for_a_code_sent_to_the_payer(
    world: PaymentWorld,
) -> None:
    # When
    body = initiate(world, amount=100)
    # Then
    assert body == {
        "payment_id": body["payment_id"],
        "requires_verification": True,
        "reason": "amount",
        "status": "pending",
        "amount": "100.00",
        "currency": "USD",
        "timeout_secs": 300,
        "code_length": 6,
        "phone_hint": "+1******0123",
        "resend_after_secs": 30,
        "channel": "sms",
        "channels": ["sms", "call"],
    }
    assert body["payment_id"].startswith("pay_") and len(body["payment_id"]) >= 36
    # Only the code goes out, to the account's phone; nothing is paid yet.
    assert [phone for phone, _, _ in world.sender.outbox] == [PHONE]
    assert status_of(world, body["payment_id"]) == PaymentStatus.PENDING
    assert world.ledger.entries == {}
    # The challenge's flow id stays on the server.
    assert "flow_id" not in body


@pytest.mark.parametrize(
    ("amount", "currency", "needs_code"),
    [
        ("14999", "JPY", False),
        ("15000", "JPY", True),
        ("29.999", "KWD", False),
        ("30", "KWD", True),
        ("89.99", "EUR", False),
        ("99.99", "THB", False),
        ("100", "THB", True),
    ],
)
def test_the_threshold_depends_on_the_currency(
    world: PaymentWorld, amount: str, currency: str, needs_code: bool
) -> None:
    body = initiate(world, amount=amount, currency=currency)
    assert body.get("requires_verification", False) is needs_code
    assert ("transaction_id" in body) is not needs_code


def test_configured_thresholds_apply() -> None:
    world = payment_world({"USD": "1000.00"})
    assert initiate(world, amount="999.99")["status"] == "completed"
    assert initiate(world, amount="1000")["requires_verification"] is True


def test_an_account_without_a_phone_cannot_make_a_payment_that_needs_a_code(
    world: PaymentWorld,
) -> None:
    # When
    with pytest.raises(PhoneRequiredForPayment) as caught:
        initiate(world, user=NO_PHONE, amount="500")
    # Then
    assert http_status(caught.value) == 403
    assert error_body(caught.value)["code"] == "phone_required"
    assert world.payments.items == {} and world.store.items == {}
    # but small payments go through
    assert initiate(world, user=NO_PHONE, amount="5")["status"] == "completed"


def test_a_token_for_an_account_that_is_gone_gets_401(world: PaymentWorld) -> None:
    with pytest.raises(NotAuthenticated) as caught:
        initiate(world, user="u-deleted", amount="5")
    assert http_status(caught.value) == 401
    assert world.payments.items == {}


def test_telnyx_failing_at_initiate_leaves_nothing_behind(world: PaymentWorld) -> None:
    # Given
    world.sender.fail_sends = 1
    # When
    with pytest.raises(CodeDeliveryFailed) as caught:
        initiate(world, amount="250")
    # Then
    assert http_status(caught.value) == 502
    assert error_body(caught.value)["error"] == "Failed to send verification code"
    assert world.payments.items == {} and world.store.items == {}


def test_a_declined_payment_is_failed(world: PaymentWorld) -> None:
    # Given
    world.ledger.decline_next = True
    # When
    with pytest.raises(PaymentDeclined) as caught:
        initiate(world, amount="10")
    # Then
    assert http_status(caught.value) == 402
    assert [p.status for p in world.payments.items.values()] == [PaymentStatus.FAILED]


# -- confirm -------------------------------------------------------------------------------
def test_the_right_code_processes_the_payment_once(world: PaymentWorld) -> None:
    # Given
    payment_id = initiate(world)["payment_id"]
    code = world.sender.last_code(PHONE)
    # When
    body = confirm(world, payment_id, code)
    # Then
    assert body["status"] == "completed" and body["payment_id"] == payment_id
    assert world.ledger.entries[payment_id][0] == body["transaction_id"]
    assert status_of(world, payment_id) == PaymentStatus.COMPLETED
    with pytest.raises(PaymentNotPending) as again:
        confirm(world, payment_id, code)
    assert http_status(again.value) == 400
    assert error_body(again.value)["error"] == "Payment already completed"
    assert world.ledger.charges == 1
    assert [(e.kind, e.subject) for e in world.events.events] == [
        (FlowKind.PAYMENT, PAYER),
        (FlowKind.PAYMENT, PAYER),
    ]
    assert world.events.types == ["sent", "accepted"]
    assert {e.origin for e in world.events.events} == {ORIGIN}


def test_another_users_payment_is_not_found(world: PaymentWorld) -> None:
    # Given someone else's pending payment
    payment_id = initiate(world)["payment_id"]
    code = world.sender.last_code(PHONE)
    # When / Then: same answer as for a payment that does not exist, and nothing changes
    for user, pid in [(NO_PHONE, payment_id), (PAYER, "pay_" + "0" * 32)]:
        with pytest.raises(PaymentNotFound) as caught:
            confirm(world, pid, code, user=user)
        assert http_status(caught.value) == 404
        assert error_body(caught.value) == {
            "error": "Payment not found",
            "code": "payment_not_found",
        }
        with pytest.raises(PaymentNotFound):
            world.flow.resend(user, pid, ORIGIN)
    assert status_of(world, payment_id) == PaymentStatus.PENDING
    assert world.sender.checks == []
    assert confirm(world, payment_id, code)["status"] == "completed"


def test_an_expired_verification_answers_410_and_expires_the_payment(
    world: PaymentWorld,
) -> None:
    # Given
    payment_id = initiate(world)["payment_id"]
    code = world.sender.last_code(PHONE)
    # When
    world.clock.advance(300)
    with pytest.raises(VerificationExpired) as caught:
        confirm(world, payment_id, code)
    # Then
    assert http_status(caught.value) == 410
    assert error_body(caught.value)["error"] == "Verification expired. Initiate a new payment."
    assert status_of(world, payment_id) == PaymentStatus.EXPIRED
    with pytest.raises(PaymentNotPending) as again:
        confirm(world, payment_id, code)
    assert error_body(again.value)["error"] == "Payment already expired"
    assert world.ledger.entries == {}


def test_wrong_codes_count_down_then_fail_the_payment_for_good(world: PaymentWorld) -> None:
    # Given
    payment_id = initiate(world)["payment_id"]
    wrong = world.sender.wrong_code(PHONE)
    # When
    remaining = []
    for _ in range(4):
        with pytest.raises(InvalidCode) as caught:
            confirm(world, payment_id, wrong)
        assert http_status(caught.value) == 401
        remaining.append(error_body(caught.value)["attempts_remaining"])
    with pytest.raises(TooManyAttempts) as closing:
        confirm(world, payment_id, wrong)
    # Then
    assert remaining == [4, 3, 2, 1]
    assert http_status(closing.value) == 429
    assert error_headers(closing.value) == {"Retry-After": "0"}
    assert error_body(closing.value)["error"] == "Too many attempts. Initiate a new payment."
    assert status_of(world, payment_id) == PaymentStatus.FAILED
    with pytest.raises(PaymentNotPending) as after:
        confirm(world, payment_id, world.sender.last_code(PHONE))
    assert error_body(after.value)["error"] == "Payment already failed"
    assert world.ledger.entries == {}


@pytest.mark.parametrize(
    "change",
    [{"amount": "2500.00"}, {"recipient": "Mallory"}, {"currency": "KWD"}],
    ids=["amount", "recipient", "currency"],
)
def test_a_payment_changed_after_the_code_was_sent_is_refused_and_failed(
    world: PaymentWorld, change: dict[str, str]
) -> None:
    # Given a pending payment whose stored details are then changed
    payment_id = initiate(world)["payment_id"]
    world.payments.tamper(payment_id, **change)
    # When the payer confirms with the right code
    with pytest.raises(PaymentDetailsChanged) as caught:
        confirm(world, payment_id, world.sender.last_code(PHONE))
    # Then nothing is paid and the payment is over
    assert http_status(caught.value) == 409
    assert status_of(world, payment_id) == PaymentStatus.FAILED
    assert world.ledger.charges == 0


def test_a_changed_binding_in_the_challenge_is_refused_too(world: PaymentWorld) -> None:
    # Given the challenge's digest no longer matches the payment
    payment_id = initiate(world)["payment_id"]
    key, record = next(iter(world.store.items.items()))
    world.store.items[key] = replace(record, data={**record.data, "binding": "v1:" + "0" * 64})
    # When / Then
    with pytest.raises(PaymentDetailsChanged):
        confirm(world, payment_id, world.sender.last_code(PHONE))
    assert world.ledger.charges == 0


def test_a_change_between_the_check_and_processing_is_refused(world: PaymentWorld) -> None:
    # Given the amount is changed while the code is being checked
    payment_id = initiate(world)["payment_id"]
    code = world.sender.last_code(PHONE)
    real_check = world.sender.check

    def check_then_tamper(verification_id: str, candidate: str) -> bool:
        accepted = real_check(verification_id, candidate)
        world.payments.tamper(payment_id, amount="9999.00")
        return accepted

    world.sender.check = check_then_tamper  # type: ignore[method-assign]
    # When / Then: the conditional write still holds the details the code was sent for
    with pytest.raises(PaymentDetailsChanged):
        confirm(world, payment_id, code)
    assert world.ledger.charges == 0
    assert status_of(world, payment_id) == PaymentStatus.FAILED


def test_twenty_concurrent_right_codes_process_the_payment_exactly_once(
    world: PaymentWorld,
) -> None:
    # Given a pending payment, and a provider that accepts a code once and takes its time
    payment_id = initiate(world)["payment_id"]
    code = world.sender.last_code(PHONE)
    real_check = world.sender.check
    accepted: set[str] = set()
    provider = threading.Lock()

    def accept_once(verification_id: str, candidate: str) -> bool:
        time.sleep(0.01)
        with provider:
            ok = verification_id not in accepted and real_check(verification_id, candidate)
            if ok:
                accepted.add(verification_id)
            return ok

    world.sender.check = accept_once  # type: ignore[method-assign]
    start = threading.Barrier(20)
    outcomes: list[object] = []

    def attempt() -> None:
        start.wait()
        try:
            outcomes.append(world.flow.confirm(PAYER, payment_id, code, ORIGIN))
        except DomainError as exc:
            outcomes.append(http_status(exc))

    # When
    threads = [threading.Thread(target=attempt) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then
    completed = [o for o in outcomes if isinstance(o, PaymentCompleted)]
    assert len(completed) == 1, outcomes
    assert set(outcomes) - set(completed) <= {400, 409}
    assert 409 in outcomes  # the others were told a confirmation is under way
    assert world.ledger.charges == 1 and len(world.ledger.entries) == 1
    assert status_of(world, payment_id) == PaymentStatus.COMPLETED


def test_a_confirmation_under_way_makes_others_wait_without_using_an_attempt(
    world: PaymentWorld,
) -> None:
    # Given another confirmation holds the payment
    payment_id = initiate(world)["payment_id"]
    assert world.payments.claim(payment_id, PAYER, "someone-else", world.clock.now(), 30).done
    # When
    with pytest.raises(ConfirmationInProgress) as caught:
        confirm(world, payment_id, world.sender.last_code(PHONE))
    # Then
    assert http_status(caught.value) == 409 and error_headers(caught.value) == {"Retry-After": "1"}
    assert next(iter(world.store.items.values())).attempts == 0
    # and a claim left by a confirmation that died is taken over once its lease is over
    world.clock.advance(30)
    assert confirm(world, payment_id, world.sender.last_code(PHONE))["status"] == "completed"


# -- resend --------------------------------------------------------------------------------
def test_resend_waits_for_the_cooldown_then_replaces_the_code(world: PaymentWorld) -> None:
    # Given
    payment_id = initiate(world)["payment_id"]
    old_code = world.sender.last_code(PHONE)
    # When
    with pytest.raises(ResendTooSoon):
        world.flow.resend(PAYER, payment_id, ORIGIN)
    world.clock.advance(30)
    resent = answer(world.flow.resend(PAYER, payment_id, ORIGIN))
    new_code = world.sender.last_code(PHONE)
    # Then
    assert resent == {
        "message": "Code resent",
        "timeout_secs": 300,
        "resend_after_secs": 30,
        "channel": "sms",
    }
    with pytest.raises(InvalidCode):
        confirm(world, payment_id, old_code)
    assert confirm(world, payment_id, new_code)["status"] == "completed"


def test_resend_restarts_the_five_minutes(world: PaymentWorld) -> None:
    # Given
    payment_id = initiate(world)["payment_id"]
    world.clock.advance(250)
    # When
    world.flow.resend(PAYER, payment_id, ORIGIN)
    world.clock.advance(250)  # 500 s after the first code, 250 s after the second
    # Then
    assert confirm(world, payment_id, world.sender.last_code(PHONE))["status"] == "completed"


def test_resend_after_the_payment_expired_answers_410(world: PaymentWorld) -> None:
    # Given
    payment_id = initiate(world)["payment_id"]
    world.clock.advance(301)
    # When / Then
    with pytest.raises(VerificationExpired):
        world.flow.resend(PAYER, payment_id, ORIGIN)
    assert status_of(world, payment_id) == PaymentStatus.EXPIRED
    assert len(world.sender.outbox) == 1


def test_resend_of_a_completed_payment_is_refused(world: PaymentWorld) -> None:
    payment_id = initiate(world)["payment_id"]
    confirm(world, payment_id, world.sender.last_code(PHONE))
    world.clock.advance(30)
    with pytest.raises(PaymentNotPending) as caught:
        world.flow.resend(PAYER, payment_id, ORIGIN)
    assert error_body(caught.value)["error"] == "Payment already completed"


# -- Idempotency-Key -----------------------------------------------------------------------
def test_a_retried_request_with_the_same_key_gets_the_first_answer(world: PaymentWorld) -> None:
    # When the same request is sent twice with one key (amount written differently)
    first = answer(world.flow.initiate(PAYER, order(amount="250"), ORIGIN, "key-1"))
    second = answer(world.flow.initiate(PAYER, order(amount=250.0), ORIGIN, "key-1"))
    # Then
    assert first == second
    assert list(world.payments.items) == [first["payment_id"]]
    assert len(world.sender.outbox) == 1


def test_the_same_key_with_another_request_is_refused(world: PaymentWorld) -> None:
    world.flow.initiate(PAYER, order(amount="10"), ORIGIN, "key-1")
    with pytest.raises(IdempotencyKeyReused) as caught:
        world.flow.initiate(PAYER, order(amount="11"), ORIGIN, "key-1")
    assert http_status(caught.value) == 422
    assert error_body(caught.value)["field"] == "Idempotency-Key"
    assert len(world.payments.items) == 1


def test_keys_are_scoped_per_user_and_optional(world: PaymentWorld) -> None:
    mine = answer(world.flow.initiate(PAYER, order(amount="10"), ORIGIN, "shared"))
    theirs = answer(world.flow.initiate(NO_PHONE, order(amount="10"), ORIGIN, "shared"))
    no_key = [answer(world.flow.initiate(PAYER, order(amount="10"), ORIGIN)) for _ in range(2)]
    assert len({mine["payment_id"], theirs["payment_id"], *(b["payment_id"] for b in no_key)}) == 4
    assert len(world.ledger.entries) == 4


def test_a_failed_first_attempt_keeps_nothing_so_the_retry_runs(world: PaymentWorld) -> None:
    world.sender.fail_sends = 1
    with pytest.raises(CodeDeliveryFailed):
        world.flow.initiate(PAYER, order(), ORIGIN, "key-1")
    body = answer(world.flow.initiate(PAYER, order(), ORIGIN, "key-1"))
    assert body["requires_verification"] is True
    assert len(world.payments.items) == 1


def test_the_verifications_table_never_holds_the_payment_flow_id(world: PaymentWorld) -> None:
    payment_id = initiate(world)["payment_id"]
    payment = world.payments.get(payment_id)
    assert payment is not None and payment.flow_id is not None
    assert payment.flow_id not in world.store.items
    assert flow_key(payment.flow_id) in world.store.items


def test_the_payer_can_cancel_a_pending_payment_and_its_code(world: PaymentWorld) -> None:
    # Given a payment waiting for its code
    pid = initiate(world)["payment_id"]
    code = world.sender.last_code(PHONE)
    # When the payer walks away
    cancelled = world.flow.cancel(PAYER, pid, ORIGIN)
    # Then the payment and its code are over, and a second cancel has nothing to do
    assert cancelled is True
    assert status_of(world, pid) == PaymentStatus.CANCELLED
    with pytest.raises(PaymentNotPending) as caught:
        confirm(world, pid, code)
    assert error_body(caught.value)["error"] == "Payment already cancelled"
    assert world.ledger.entries == {}
    assert world.flow.cancel(PAYER, pid, ORIGIN) is False
    assert "cancelled" in world.events.types


def test_no_one_else_can_cancel_a_payment(world: PaymentWorld) -> None:
    pid = initiate(world)["payment_id"]
    with pytest.raises(PaymentNotFound):
        world.flow.cancel(NO_PHONE, pid, ORIGIN)
    assert status_of(world, pid) == PaymentStatus.PENDING


def test_a_completed_payment_is_not_cancelled(world: PaymentWorld) -> None:
    pid = initiate(world)["payment_id"]
    confirm(world, pid, world.sender.last_code(PHONE))
    assert world.flow.cancel(PAYER, pid, ORIGIN) is False
    assert status_of(world, pid) == PaymentStatus.COMPLETED


# -- status: GET /verify/status?payment_id=… ------------------------------------------------
def payment_status(world: PaymentWorld, payment_id: str, user: str = PAYER) -> dict[str, Any]:
    return answer(world.verification_status.status(user, payment_id))


def test_the_payer_sees_the_sms_of_the_payment_code_delivered(world: PaymentWorld) -> None:
    # Given a payment waiting for its code
    payment_id = initiate(world)["payment_id"]
    assert payment_status(world, payment_id) == {
        "status": "pending",
        "delivery_status": "unknown",
        "expires_in": 300,
        "channel": "sms",
        "payment_status": "pending",
    }
    # When Telnyx reports the SMS delivered
    _, verification_id, _ = world.sender.outbox[-1]
    report_delivery(world.any_flow, world.store, verification_id, DeliveryStatus.DELIVERED)
    world.clock.advance(12)
    # Then the payer, by the payment id alone, sees it
    assert payment_status(world, payment_id) == {
        "status": "pending",
        "delivery_status": "delivered",
        "expires_in": 288,
        "channel": "sms",
        "payment_status": "pending",
    }


def test_someone_elses_payment_status_is_not_found_like_an_unknown_payment(
    world: PaymentWorld,
) -> None:
    # Given the payer's pending payment
    payment_id = initiate(world)["payment_id"]
    # When someone else asks for its status, and the payer for an id that does not exist
    for user, pid in [(NO_PHONE, payment_id), (PAYER, "pay_" + "0" * 32)]:
        with pytest.raises(PaymentNotFound) as caught:
            world.verification_status.status(user, pid)
        # Then both get the same 404, and learn nothing about the payment
        assert http_status(caught.value) == 404
        assert error_body(caught.value) == {
            "error": "Payment not found",
            "code": "payment_not_found",
        }
    assert status_of(world, payment_id) == PaymentStatus.PENDING


@pytest.mark.parametrize(
    ("ending", "status"),
    [
        ("confirmed", "verified"),
        ("expired", "expired"),
        ("wrong codes", "locked"),
        ("cancelled", "cancelled"),
    ],
)
def test_the_status_follows_the_payment_code_to_its_end(
    world: PaymentWorld, ending: str, status: str
) -> None:
    # Given a payment waiting for its code
    payment_id = initiate(world)["payment_id"]
    # When its code is used, runs out, is guessed at or walked away from
    if ending == "confirmed":
        confirm(world, payment_id, world.sender.last_code(PHONE))
    elif ending == "expired":
        world.clock.advance(300)
    elif ending == "wrong codes":
        for _ in range(5):
            with pytest.raises((InvalidCode, TooManyAttempts)):
                confirm(world, payment_id, world.sender.wrong_code(PHONE))
    else:
        world.flow.cancel(PAYER, payment_id, ORIGIN)
    # Then the status says so, with no time left
    body = payment_status(world, payment_id)
    assert (body["status"], body["expires_in"]) == (status, 0)


def test_a_payment_ended_before_its_code_was_is_not_reported_pending(
    world: PaymentWorld,
) -> None:
    # Given a payment cancelled by a function that stopped before it cancelled the code
    payment_id = initiate(world)["payment_id"]
    assert world.payments.cancel(payment_id, world.clock.now())
    # When / Then: the payment has the last word
    body = payment_status(world, payment_id)
    assert (body["status"], body["expires_in"]) == ("cancelled", 0)


def test_a_payment_made_without_a_code_has_no_verification_to_report(
    world: PaymentWorld,
) -> None:
    payment_id = initiate(world, amount="99.99")["payment_id"]
    with pytest.raises(VerificationNotFound) as caught:
        world.verification_status.status(PAYER, payment_id)
    assert http_status(caught.value) == 404


# -- no threshold splitting (PSD2 RTS Art. 16) ---------------------------------------------
def pay_small(world: PaymentWorld, amount: str = "1.00", **kwargs: Any) -> dict[str, Any]:
    return initiate(world, amount=amount, recipient="Mallory", **kwargs)


def completes(body: dict[str, Any]) -> bool:
    return body.get("status") == "completed" and "transaction_id" in body


def test_slicing_an_amount_below_the_threshold_still_asks_for_a_code(
    world: PaymentWorld,
) -> None:
    # Given a first payment just below the threshold, completed without a code
    assert completes(pay_small(world, "99.99"))
    # When the same amount is sent again to the same recipient
    second = pay_small(world, "99.99")
    # Then the two together would reach 100.00: a code is asked for, and nothing is paid yet
    assert second["requires_verification"] is True
    assert second["reason"] == "cumulative_amount"
    assert status_of(world, second["payment_id"]) == PaymentStatus.PENDING
    assert len(world.ledger.entries) == 1
    assert [phone for phone, _, _ in world.sender.outbox] == [PHONE]
    # and so is every slice that would reach it, the smallest included
    for amount in ("50.00", "0.01"):
        sliced = pay_small(world, amount)
        assert (sliced.get("requires_verification"), sliced.get("reason")) == (
            True,
            "cumulative_amount",
        )
    assert len(world.ledger.entries) == 1


def test_the_sixth_payment_in_a_row_without_a_code_asks_for_one(world: PaymentWorld) -> None:
    # Given five small payments, completed without a code
    assert all(completes(pay_small(world, "1.00")) for _ in range(5))
    # When a sixth follows
    sixth = pay_small(world, "1.00")
    # Then it waits for a code, and says why
    assert (sixth["requires_verification"], sixth["reason"]) == (True, "payment_count")
    assert len(world.ledger.entries) == 5


def test_a_payment_at_the_threshold_says_its_own_amount_asked_for_the_code(
    world: PaymentWorld,
) -> None:
    # Given a count that is nearly used up
    pay_small(world, "99.00")
    # When a payment at the threshold is made
    body = initiate(world, amount="100.00")
    # Then its own amount is the reason, and it counts nowhere
    assert body["reason"] == "amount"
    assert world.exemptions.counted(PAYER) == (1, {"USD": 9900})


def test_one_sum_across_currencies_in_the_reference_currency(world: PaymentWorld) -> None:
    # Given 30.00 USD, then 20.00 EUR (21.60 USD at 1.08) and 3000 JPY (19.50 USD at 0.0065)
    bodies = [
        pay_small(world, "30.00"),
        pay_small(world, "20.00", currency="EUR"),
        pay_small(world, "3000", currency="JPY"),
    ]
    # Then each completes, and the account's one sum is 71.10 USD, in cents
    assert all(completes(body) for body in bodies)
    assert world.exemptions.counted(PAYER) == (3, {"USD": 7110})
    # When 23.00 GBP follows (29.21 USD): the converted sum would reach 100.00 USD
    pound = pay_small(world, "23.00", currency="GBP")
    # Then it asks for a code, although 23.00 GBP is far below the GBP threshold
    assert (pound["requires_verification"], pound["reason"]) == (True, "cumulative_amount")
    # while 22.00 GBP (27.94 USD) still fits, and then the count is the account's too
    assert completes(pay_small(world, "22.00", currency="GBP"))
    assert world.exemptions.counted(PAYER) == (4, {"USD": 9904})
    assert completes(pay_small(world, "1", currency="THB"))  # 0.029 USD: 3 cents
    assert pay_small(world, "0.01")["reason"] == "payment_count"


def test_the_reviewers_five_currencies_move_one_slice_at_most(world: PaymentWorld) -> None:
    # Given a fresh account, and five slices each just below its currency's threshold
    # (about USD 480 against the 100.00 limit); KYD has no rate in the table
    slices = [("99.99", "USD"), ("89.99", "EUR"), ("84.99", "CHF"), ("74.99", "GBP")]
    bodies = [pay_small(world, amount, currency=currency) for amount, currency in slices]
    kyd = pay_small(world, "79.99", currency="KYD")
    # Then only the first is paid; the converted sum reaches the limit with the second
    assert completes(bodies[0])
    assert [body["reason"] for body in bodies[1:]] == ["cumulative_amount"] * 3
    assert (kyd["requires_verification"], kyd["reason"]) == (True, "currency_without_rate")
    assert len(world.ledger.entries) == 1


def test_a_currency_without_a_rate_always_asks_for_a_code(world: PaymentWorld) -> None:
    # Given a fresh account, and a currency the operators' table has no rate for
    body = pay_small(world, "0.01", currency="KYD")
    # Then even a cent asks for a code, and nothing is counted
    assert (body["requires_verification"], body["reason"]) == (True, "currency_without_rate")
    assert world.exemptions.counted(PAYER) == (0, {})
    # and once the operators set a rate, it is converted like any other
    world.rates.table = RateTable.parse('{"reference": "USD", "rates": {"KYD": "1.20"}}')
    assert completes(pay_small(world, "0.01", currency="KYD"))
    assert world.exemptions.counted(PAYER) == (1, {"USD": 2})  # 0.012 USD, rounded up


def test_the_reference_currency_needs_no_rate_table() -> None:
    # Given a table the functions could not read (an empty one)
    world = payment_world(rates={})
    # Then payments in the reference currency are counted as ever, without reading it
    assert completes(pay_small(world, "99.99"))
    assert world.rates.reads == 0
    assert pay_small(world, "1.00", currency="EUR")["reason"] == "currency_without_rate"
    assert world.rates.reads == 1


def test_splitting_into_tiny_payments_cannot_round_under_the_limit() -> None:
    # Given a rate that makes a cent of EUR worth 1.08 US cents, and room for 1000 payments
    world = payment_world(max_exempt_payments=1_000, cumulative_limits={"USD": "0.10"})
    # When the attacker pays 0.01 EUR again and again
    paid = 0
    while completes(pay_small(world, "0.01", currency="EUR")):
        paid += 1
    # Then each cent counts as 2 US cents (rounded up), never as 1: four go through, 0.04 EUR
    # (0.0432 USD), not the nine that rounding down would let through
    assert paid == 4
    assert world.exemptions.counted(PAYER) == (4, {"USD": 8})


def test_a_verified_payment_starts_the_count_and_the_sums_over(world: PaymentWorld) -> None:
    # Given the count is used up, and the payment that asked for a code
    assert all(completes(pay_small(world, "10.00")) for _ in range(5))
    stepped_up = pay_small(world, "10.00")
    assert stepped_up["reason"] == "payment_count"
    # When the owner confirms it with the code
    assert confirm(world, stepped_up["payment_id"], world.sender.last_code(PHONE))["status"] == (
        "completed"
    )
    # Then small payments go through without a code again, five of them
    assert all(completes(pay_small(world, "10.00")) for _ in range(5))
    assert pay_small(world, "10.00")["reason"] == "payment_count"
    assert world.ledger.charges == 11


def test_a_verified_payment_at_the_threshold_starts_the_count_over_too(
    world: PaymentWorld,
) -> None:
    # Given 99.00 USD paid without a code
    assert completes(pay_small(world, "99.00"))
    # When a payment at the threshold is confirmed with its code
    big = initiate(world, amount="250.00")
    confirm(world, big["payment_id"], world.sender.last_code(PHONE))
    # Then 99.00 USD may go without a code again
    assert completes(pay_small(world, "99.00"))


@pytest.mark.parametrize("ending", ["expired", "wrong codes", "cancelled"])
def test_a_payment_that_was_not_verified_does_not_start_the_count_over(
    world: PaymentWorld, ending: str
) -> None:
    # Given a step-up for a slice, which then ends without the right code
    assert completes(pay_small(world, "99.99"))
    payment_id = pay_small(world, "99.99")["payment_id"]
    if ending == "expired":
        world.clock.advance(300)
        with pytest.raises(VerificationExpired):
            confirm(world, payment_id, world.sender.last_code(PHONE))
    elif ending == "wrong codes":
        for _ in range(5):
            with pytest.raises((InvalidCode, TooManyAttempts)):
                confirm(world, payment_id, world.sender.wrong_code(PHONE))
    else:
        assert world.flow.cancel(PAYER, payment_id, ORIGIN) is True
    # When the next slice is tried
    body = pay_small(world, "0.01")
    # Then it still needs a code
    assert body["reason"] == "cumulative_amount"
    assert len(world.ledger.entries) == 1


def test_a_declined_payment_gives_its_count_back(world: PaymentWorld) -> None:
    # Given a small payment the processor declines
    world.ledger.decline_next = True
    with pytest.raises(PaymentDeclined):
        pay_small(world, "99.00")
    # When the payer tries again
    body = pay_small(world, "99.00")
    # Then the declined one did not count
    assert completes(body)
    assert world.exemptions.counted(PAYER) == (1, {"USD": 9900})


def test_a_locked_account_cannot_pay_even_below_the_threshold(world: PaymentWorld) -> None:
    # Given an account locked by 100 wrong codes
    for _ in range(100):
        world.failures.reserve(PAYER)
    # When a small payment is initiated with its token
    with pytest.raises(AccountLocked) as caught:
        pay_small(world, "5.00")
    # Then 429 account_locked: nothing paid, written, counted or sent
    assert http_status(caught.value) == 429
    assert error_body(caught.value)["code"] == "account_locked"
    assert int(error_headers(caught.value)["Retry-After"]) > 0
    assert world.payments.items == {} and world.ledger.entries == {}
    assert world.exemptions.counted(PAYER) == (0, {})
    assert world.sender.outbox == []
    # and a payment that needs a code is refused the same way, before any SMS
    with pytest.raises(AccountLocked):
        initiate(world, amount="250.00")
    assert world.sender.outbox == []


def test_an_account_without_a_phone_cannot_slice_either(world: PaymentWorld) -> None:
    # Given a small payment from an account without a phone
    assert completes(pay_small(world, "99.00", user=NO_PHONE))
    # When the next slice would reach the threshold
    with pytest.raises(PhoneRequiredForPayment) as caught:
        pay_small(world, "99.00", user=NO_PHONE)
    # Then 403: no code can be sent, so the slice is not paid
    assert http_status(caught.value) == 403
    assert len(world.ledger.entries) == 1


def test_the_limits_are_configurable() -> None:
    # Given PSD2's own figures in euros: 50.00 a payment, 100.00 in all (the reference
    # currency EUR), at most 2 in a row here
    world = payment_world(
        {"EUR": "50.00"},
        cumulative_limits={"EUR": "100.00"},
        max_exempt_payments=2,
        reference="EUR",
        rates={"USD": "0.93"},
    )
    # When / Then
    assert completes(pay_small(world, "49.99", currency="EUR"))
    assert completes(pay_small(world, "49.99", currency="EUR"))
    assert pay_small(world, "0.01", currency="EUR")["reason"] == "payment_count"
    assert world.exemptions.counted(PAYER) == (2, {"EUR": 9998})
    # A cumulative limit below the threshold asks for a code for a payment reaching it alone
    lower = payment_world(cumulative_limits={"USD": "30.00"})
    assert answer(lower.flow.initiate(PAYER, order(amount="30.00"), ORIGIN))["reason"] == (
        "cumulative_amount"
    )
    # converted, too: 27.78 EUR is 30.0024 USD
    assert pay_small(lower, "27.78", currency="EUR")["reason"] == "cumulative_amount"
    assert lower.exemptions.counted(PAYER) == (0, {})


def test_a_replayed_idempotency_key_counts_once(world: PaymentWorld) -> None:
    # When one small payment is sent three times with one key
    bodies = [
        answer(world.flow.initiate(PAYER, order(amount="60.00"), ORIGIN, "key-1")) for _ in range(3)
    ]
    # Then it was paid and counted once
    assert all(body == bodies[0] for body in bodies) and completes(bodies[0])
    assert world.exemptions.counted(PAYER) == (1, {"USD": 6000})


def test_twenty_concurrent_60_usd_payments_complete_without_a_code_only_once(
    world: PaymentWorld,
) -> None:
    # Given twenty 60.00 USD payments sent at the same moment from one account
    start = threading.Barrier(20)
    bodies: list[dict[str, Any]] = []

    def attempt() -> None:
        start.wait()
        bodies.append(pay_small(world, "60.00"))

    # When
    threads = [threading.Thread(target=attempt) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Then one completes without a code; the other nineteen wait for one
    assert len(bodies) == 20
    assert sum(completes(body) for body in bodies) == 1
    assert {body.get("reason") for body in bodies if not completes(body)} == {"cumulative_amount"}
    assert len(world.ledger.entries) == 1
