"""A payment confirmed by the payer's passkey (docs/factors.md#passkeys): the signature is over
a challenge derived from the payment, so the confirmation completes that payment and no other,
and is refused when the stored amount or recipient changed after the options; refused, the
payment stays pending (its code still works)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from phoneverify.adapters.webauthn_ceremony import LibraryWebAuthn
from phoneverify.domain.models import Payment, PaymentStatus
from phoneverify.domain.passkeys import MAX_PASSKEYS, Passkey, PasskeyRejected
from phoneverify.domain.payment_errors import PaymentDetailsChanged, PaymentNotPending
from phoneverify.flows.engine.audit import FlowAudit
from phoneverify.flows.engine.passkey_assertion import PasskeyAssertions
from phoneverify.flows.payment import PaymentOrder
from phoneverify.flows.payment_passkey import PaymentPasskey
from tests.support.answers import answer
from tests.support.builders import ORIGIN, PHONE, PaymentWorld, payment_world
from tests.support.passkeys import ORIGIN as PAGE
from tests.support.passkeys import (
    RP_ID,
    InMemoryPasskeyChallenges,
    InMemoryPasskeys,
    SoftAuthenticator,
)

PAYER = "u-phone"


class PasskeyPayments:
    def __init__(self, world: PaymentWorld) -> None:
        self.world = world
        self.passkeys = InMemoryPasskeys()
        assertions = PasskeyAssertions(
            passkeys=self.passkeys,
            challenges=InMemoryPasskeyChallenges(),
            ceremony=LibraryWebAuthn(rp_id=RP_ID, rp_name="pv", origins=[PAGE], timeout_secs=300),
            audit=FlowAudit(events=world.events, clock=world.clock),
            clock=world.clock,
            timeout_secs=300,
        )
        self.payment_passkey = PaymentPasskey(assertions=assertions)
        self.authenticator = SoftAuthenticator()
        cose = self.authenticator.cose_key()  # the payer's passkey, as registered
        self.passkeys.add(
            Passkey(self.authenticator.passkey_id, PAYER, cose, 0, (), 0.0), limit=MAX_PASSKEYS
        )

    def initiate(self, amount: str = "250.00", recipient: str = "Acme Supplies") -> str:
        order = PaymentOrder.parse(amount, "USD", recipient, None)
        return str(answer(self.world.flow.initiate(PAYER, order, ORIGIN))["payment_id"])

    def stored(self, payment_id: str) -> Payment:
        payment = self.world.payments.get(payment_id)
        assert payment is not None
        return payment

    def options(self, payment_id: str) -> dict:
        return self.payment_passkey.options(PAYER, self.stored(payment_id))

    def check(self, credential: dict) -> Callable[[Payment], object]:
        return lambda payment: self.payment_passkey.verify(PAYER, payment, credential, ORIGIN)

    def confirm(self, payment_id: str, credential: dict) -> dict:
        completed = self.world.flow.confirm(
            PAYER, payment_id, None, ORIGIN, passkey=self.check(credential)
        )
        return answer(completed)


@pytest.fixture
def pp() -> PasskeyPayments:
    return PasskeyPayments(payment_world())


def test_a_payment_is_confirmed_by_a_passkey_signature_bound_to_it(pp: PasskeyPayments) -> None:
    payment_id = pp.initiate()
    signed = pp.authenticator.get(pp.options(payment_id))
    body = pp.confirm(payment_id, signed)
    assert body["status"] == "completed"
    assert pp.stored(payment_id).status is PaymentStatus.COMPLETED
    assert list(pp.world.ledger.entries) == [payment_id]
    # the SMS code, no longer needed, was cancelled: it completes nothing now
    code = pp.world.sender.last_code(PHONE)
    with pytest.raises(PaymentNotPending):
        pp.world.flow.confirm(PAYER, payment_id, code, ORIGIN)
    # Attack: the same signature replayed
    with pytest.raises(PaymentNotPending):
        pp.confirm(payment_id, signed)


def test_a_replayed_signature_on_a_payment_still_pending_is_refused(pp: PasskeyPayments) -> None:
    payment_id = pp.initiate()
    signed = pp.authenticator.get(pp.options(payment_id))
    pp.world.payments.tamper(payment_id, amount="2500.00")
    with pytest.raises(PasskeyRejected):
        pp.confirm(payment_id, signed)
    pp.world.payments.tamper(payment_id, amount="250.00")
    with pytest.raises(PasskeyRejected):  # its challenge was spent by the first try
        pp.confirm(payment_id, signed)


@pytest.mark.parametrize(
    "changed", [{"amount": "2500.00"}, {"recipient": "Mallory Ltd"}], ids=["amount", "recipient"]
)
def test_the_signature_is_refused_when_the_stored_payment_changed_after_the_options(
    pp: PasskeyPayments, changed: dict
) -> None:
    payment_id = pp.initiate()
    signed = pp.authenticator.get(pp.options(payment_id))
    pp.world.payments.tamper(payment_id, **changed)
    with pytest.raises(PasskeyRejected):
        pp.confirm(payment_id, signed)
    assert pp.stored(payment_id).status is PaymentStatus.PENDING
    assert pp.world.ledger.entries == {}


def test_a_signature_for_another_payment_completes_neither(pp: PasskeyPayments) -> None:
    small, large = pp.initiate("150.00"), pp.initiate("9000.00", "Mallory Ltd")
    signed_for_small = pp.authenticator.get(pp.options(small))
    pp.options(large)
    with pytest.raises(PasskeyRejected):
        pp.confirm(large, signed_for_small)
    assert pp.stored(large).status is PaymentStatus.PENDING
    assert pp.confirm(small, signed_for_small)["status"] == "completed"


def test_a_payment_changed_between_the_claim_and_processing_is_refused(
    pp: PasskeyPayments,
) -> None:
    payment_id = pp.initiate()
    signed = pp.authenticator.get(pp.options(payment_id))
    check = pp.check(signed)

    def changed_while_checking(payment: Payment) -> object:
        used = check(payment)
        pp.world.payments.tamper(payment_id, amount="2500.00")
        return used

    with pytest.raises(PaymentDetailsChanged):
        pp.world.flow.confirm(PAYER, payment_id, None, ORIGIN, passkey=changed_while_checking)
    assert pp.stored(payment_id).status is PaymentStatus.FAILED
