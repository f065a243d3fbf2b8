"""A payment's lifecycle (docs/payments.md#state), the one authoritative copy: each
write on a payment as data, and the pure functions that decide whether it applies and what
it changes.

    claim             pending (the payer's, unexpired, no live claim)    -> pending + a claim
    release           any (the claim is the caller's)                    -> the claim dropped
    begin_processing  pending (the caller's claim, details unchanged)    -> processing
    complete          processing                                         -> completed
    fail              pending | processing (the status the caller names) -> failed
    expire            pending                                            -> expired
    cancel            pending                                            -> cancelled
    extend            pending (unexpired)                                -> pending, a new expiry
    abandon           pending (no live claim, unsettled since as read)   -> failed
    settle_unclaimed  pending (no live claim, unsettled since as read)   -> pending, settled

A payment is *unsettled* (`unsettled_since`, the reconciler's sparse index) from the claim of
a confirmation (its code may be accepted before the function dies) or from its creation as
`processing`, until it ends; the claim and begin_processing stamp it anew. The reconciler's
writes (abandon: a code accepted that never reached processing; settle_unclaimed: no code
was accepted) hold only while no confirmation holds a live claim and none claimed since it
read the payment: a concurrent confirm and the reconciler never both win.

A claim (token, until) is one confirmation's hold on its payment (PaymentRepository.claim);
it lives beside the payment, not in it. The DynamoDB repository turns `from_statuses` and
`guards` into its ConditionExpression (adapters/dynamo/payments.py); the in-memory fake asks
`applies` and `after` (tests/support/fakes.py); tests/integration/test_lifecycles.py walks
every transition on both.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from phoneverify.domain.models import Payment, PaymentStatus

# What no write after a payment's creation changes: a payment found under a new payment's
# fresh random id with these is the one being created (a 500 after DynamoDB wrote it, retried).
CREATION_IDENTITY = ("user_id", "amount", "currency", "recipient", "created_at")


def same_payment(found: Payment, created: Payment) -> bool:
    """Whether `found` is the payment `created` (CREATION_IDENTITY), whatever came since."""
    return all(getattr(found, name) == getattr(created, name) for name in CREATION_IDENTITY)


class PaymentGuard(StrEnum):
    """A condition of a payment write besides its status."""

    OWNER = "owner"  # the payment is the caller's (`user_id`)
    UNEXPIRED = "unexpired"  # its code is still accepted: expires_at > now
    CLAIM_FREE = "claim_free"  # no claim, or one whose lease ended by now
    CLAIM_HELD = "claim_held"  # the caller's token holds the claim
    UNCHANGED = "unchanged"  # user, amount, currency and recipient are the ones asked for
    NAMED_FROM = "named_from"  # the status is the one the caller names (of `from_statuses`)
    UNSETTLED_AS_SEEN = "unsettled_as_seen"  # unsettled_since is the one the caller read


class PaymentEffect(StrEnum):
    """What a payment write changes besides its status."""

    TAKE_CLAIM = "take_claim"  # the claim becomes (token, now + lease_secs)
    DROP_CLAIM = "drop_claim"
    SET_TRANSACTION = "set_transaction"  # the processor's transaction id
    SET_EXPIRY = "set_expiry"  # a new expires_at
    MARK_UNSETTLED = "mark_unsettled"  # unsettled_since becomes now
    SETTLED = "settled"  # unsettled_since dropped


@dataclass(frozen=True)
class PaymentTransition:
    """One conditional write: from any of `from_statuses` (empty: any status) to `to_status`
    (None: the status stays), while every guard holds."""

    name: str
    from_statuses: tuple[PaymentStatus, ...]
    to_status: PaymentStatus | None
    guards: tuple[PaymentGuard, ...] = ()
    effects: tuple[PaymentEffect, ...] = ()


P, G, E = PaymentStatus, PaymentGuard, PaymentEffect
CLAIM = PaymentTransition(
    "claim",
    (P.PENDING,),
    None,
    (G.OWNER, G.UNEXPIRED, G.CLAIM_FREE),
    (E.TAKE_CLAIM, E.MARK_UNSETTLED),
)
RELEASE = PaymentTransition("release", (), None, (G.CLAIM_HELD,), (E.DROP_CLAIM,))
BEGIN_PROCESSING = PaymentTransition(
    "begin_processing",
    (P.PENDING,),
    P.PROCESSING,
    (G.CLAIM_HELD, G.UNCHANGED),
    (E.DROP_CLAIM, E.MARK_UNSETTLED),
)
COMPLETE = PaymentTransition(
    "complete", (P.PROCESSING,), P.COMPLETED, (), (E.SET_TRANSACTION, E.SETTLED)
)
FAIL = PaymentTransition("fail", (P.PENDING, P.PROCESSING), P.FAILED, (G.NAMED_FROM,), (E.SETTLED,))
EXPIRE = PaymentTransition("expire", (P.PENDING,), P.EXPIRED, (), (E.SETTLED,))
CANCEL = PaymentTransition("cancel", (P.PENDING,), P.CANCELLED, (), (E.SETTLED,))
EXTEND = PaymentTransition("extend", (P.PENDING,), None, (G.UNEXPIRED,), (E.SET_EXPIRY,))
ABANDON = PaymentTransition(
    "abandon", (P.PENDING,), P.FAILED, (G.CLAIM_FREE, G.UNSETTLED_AS_SEEN), (E.SETTLED,)
)
SETTLE_UNCLAIMED = PaymentTransition(
    "settle_unclaimed", (P.PENDING,), None, (G.CLAIM_FREE, G.UNSETTLED_AS_SEEN), (E.SETTLED,)
)
del P, G, E

PAYMENT_TRANSITIONS = (
    CLAIM,
    RELEASE,
    BEGIN_PROCESSING,
    COMPLETE,
    FAIL,
    EXPIRE,
    CANCEL,
    EXTEND,
    ABANDON,
    SETTLE_UNCLAIMED,
)


@dataclass(frozen=True)
class Claim:
    """One confirmation's hold on a payment: its token, and until when it holds."""

    token: str
    until: float


@dataclass(frozen=True)
class PaymentState:
    """A payment as stored, with the claim beside it."""

    payment: Payment
    claim: Claim | None = None


@dataclass(frozen=True)
class PaymentAsk:
    """What a caller brings to a write: the time, and what the transition's guards and
    effects read (the others are left at their defaults)."""

    now: float
    user_id: str | None = None  # OWNER
    token: str | None = None  # CLAIM_HELD, TAKE_CLAIM
    lease_secs: float = 0.0  # TAKE_CLAIM
    details: Payment | None = None  # UNCHANGED: the payment the code was sent for
    from_status: PaymentStatus | None = None  # NAMED_FROM
    transaction_id: str | None = None  # SET_TRANSACTION
    expires_at: float | None = None  # SET_EXPIRY
    unsettled_since: float | None = None  # UNSETTLED_AS_SEEN: as the caller read it


def details_of(payment: Payment) -> tuple[str, str, str, str]:
    """What a code authorises, and may not change under it (UNCHANGED)."""
    return (payment.user_id, payment.amount, payment.currency, payment.recipient)


def guard_holds(guard: PaymentGuard, state: PaymentState, ask: PaymentAsk) -> bool:
    payment, claim = state.payment, state.claim
    if guard is PaymentGuard.OWNER:
        return payment.user_id == ask.user_id
    if guard is PaymentGuard.UNEXPIRED:
        return payment.expires_at is not None and payment.expires_at > ask.now
    if guard is PaymentGuard.CLAIM_FREE:
        return claim is None or claim.until <= ask.now
    if guard is PaymentGuard.CLAIM_HELD:
        return claim is not None and claim.token == ask.token
    if guard is PaymentGuard.UNCHANGED:
        return ask.details is not None and details_of(payment) == details_of(ask.details)
    if guard is PaymentGuard.UNSETTLED_AS_SEEN:
        seen = ask.unsettled_since
        return seen is not None and payment.unsettled_since == seen
    return payment.status == ask.from_status  # NAMED_FROM


def status_allowed(transition: PaymentTransition, ask: PaymentAsk) -> tuple[PaymentStatus, ...]:
    """The statuses the write may find: the caller's named one for NAMED_FROM (none when it
    names one the transition does not move from), else the transition's."""
    if PaymentGuard.NAMED_FROM in transition.guards:
        named = ask.from_status
        return (named,) if named in transition.from_statuses and named is not None else ()
    return transition.from_statuses


def applies(transition: PaymentTransition, state: PaymentState | None, ask: PaymentAsk) -> bool:
    """Whether `transition` writes `state` (None: no payment) for `ask`."""
    if state is None:
        return False
    if transition.from_statuses and state.payment.status not in status_allowed(transition, ask):
        return False
    return all(guard_holds(guard, state, ask) for guard in transition.guards)


def after(transition: PaymentTransition, state: PaymentState, ask: PaymentAsk) -> PaymentState:
    """`state` once `transition` has written it (for a transition that `applies`)."""
    payment, claim = state.payment, state.claim
    if transition.to_status is not None:
        payment = replace(payment, status=transition.to_status)
    for effect in transition.effects:
        if effect is PaymentEffect.TAKE_CLAIM:
            assert ask.token is not None
            claim = Claim(ask.token, ask.now + ask.lease_secs)
        elif effect is PaymentEffect.DROP_CLAIM:
            claim = None
        elif effect is PaymentEffect.SET_TRANSACTION:
            payment = replace(payment, transaction_id=ask.transaction_id)
        elif effect is PaymentEffect.MARK_UNSETTLED:
            payment = replace(payment, unsettled_since=ask.now)
        elif effect is PaymentEffect.SETTLED:
            payment = replace(payment, unsettled_since=None)
        else:  # SET_EXPIRY
            payment = replace(payment, expires_at=ask.expires_at)
    return PaymentState(payment, claim)
