"""A pending verification's (a flow's) lifecycle (docs/design.md), the one authoritative
copy: each write on a flow as data, and the pure functions that decide whether it applies
and what it changes.

    create           no flow (or this very flow: CREATION_IDENTITY) -> pending
    reserve_attempt  pending (kind, attempts left, code unexpired, no live check lease)
                                                              -> one more attempt, leased
    release_check    any (the caller's lease)                 -> the lease dropped
    refund_attempt   pending (the current code, an attempt taken) -> one attempt back
    prove            pending (the current code, an attempt taken) -> one attempt back, and
                                                                 the proven code's id kept
    mark_verified    pending (the current code)               -> verified, its data dropped
    lock             pending                                  -> locked, its data dropped
    reserve_send     pending (kind, cooldown over, sends left, attempts left, not past its
                     retention)                               -> one more send, a send token
    release_send     any (the caller's send token)            -> the send given back
    complete_send    pending (the caller's send token)        -> a new code, its expiry and
                                                                 channel; delivery unknown
    cancel           pending (not past its TTL)               -> cancelled, its data dropped
    record_delivery  pending (the current code, a later delivery status)
                                                              -> the delivery status

A flow's `ttl` (when the store deletes it) and its `send_token` (a send in flight) live
beside the record. The DynamoDB store turns `from_statuses` and `guards` into its
ConditionExpression (adapters/dynamo/verifications.py); the in-memory fake asks `applies`
and `after` (tests/support/fakes.py); tests/integration/test_lifecycles.py walks every
transition on both.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum

from phoneverify.domain.models import (
    Channel,
    DeliveryStatus,
    FlowKind,
    FlowStatus,
    PendingVerification,
)


class FlowGuard(StrEnum):
    """A condition of a flow write besides its status."""

    ABSENT = "absent"  # no flow under the key (create)
    KIND = "kind"  # the flow is of the kind asked for
    OWNER = "owner"  # the flow is the `owner`'s, when the caller names one
    ATTEMPTS_LEFT = "attempts_left"  # attempts < max_attempts
    UNEXPIRED = "unexpired"  # expires_at > now
    LEASE_FREE = "lease_free"  # no code check in flight: check_lease_until <= now
    LEASE_HELD = "lease_held"  # the caller's check lease holds it
    CURRENT_CODE = "current_code"  # verification_id is the caller's
    ATTEMPT_TAKEN = "attempt_taken"  # attempts > 0
    COOLDOWN_OVER = "cooldown_over"  # last_sent_at <= now - cooldown_secs
    SENDS_LEFT = "sends_left"  # send_count < max_sends
    REVIVABLE = "revivable"  # expires_at > now - retention_secs
    SEND_HELD = "send_held"  # the caller's send token holds it
    TTL_LEFT = "ttl_left"  # ttl > now: not yet due for deletion
    LATER_DELIVERY = "later_delivery"  # its delivery status ranks below the one reported


class FlowEffect(StrEnum):
    """What a flow write changes besides its status."""

    WRITE_NEW = "write_new"
    COUNT_ATTEMPT = "count_attempt"  # attempts + 1, leased until lease_until
    DROP_LEASE = "drop_lease"
    GIVE_ATTEMPT_BACK = "give_attempt_back"  # attempts - 1, lease dropped
    KEEP_PROVEN = "keep_proven"  # verification_id becomes the proven one
    DROP_DATA = "drop_data"  # an ended flow keeps no data
    COUNT_SEND = "count_send"  # last_sent_at = now, send_count + 1, the send token
    GIVE_SEND_BACK = "give_send_back"  # last_sent_at back, send_count - 1, no token
    NEW_CODE = "new_code"  # verification_id, expires_at, ttl, channel; no token, delivery
    SET_DELIVERY = "set_delivery"


@dataclass(frozen=True)
class FlowTransition:
    """One conditional write: from any of `from_statuses` (empty: any status, or no flow for
    ABSENT) to `to_status` (None: the status stays), while every guard holds."""

    name: str
    from_statuses: tuple[FlowStatus, ...]
    to_status: FlowStatus | None
    guards: tuple[FlowGuard, ...] = ()
    effects: tuple[FlowEffect, ...] = ()


S, G, E = FlowStatus, FlowGuard, FlowEffect
CREATE = FlowTransition("create", (), None, (G.ABSENT,), (E.WRITE_NEW,))
RESERVE_ATTEMPT = FlowTransition(
    "reserve_attempt",
    (S.PENDING,),
    None,
    (G.KIND, G.ATTEMPTS_LEFT, G.UNEXPIRED, G.LEASE_FREE, G.OWNER),
    (E.COUNT_ATTEMPT,),
)
RELEASE_CHECK = FlowTransition("release_check", (), None, (G.LEASE_HELD,), (E.DROP_LEASE,))
REFUND_ATTEMPT = FlowTransition(
    "refund_attempt",
    (S.PENDING,),
    None,
    (G.CURRENT_CODE, G.ATTEMPT_TAKEN),
    (E.GIVE_ATTEMPT_BACK,),
)
PROVE = FlowTransition(
    "prove",
    (S.PENDING,),
    None,
    (G.CURRENT_CODE, G.ATTEMPT_TAKEN),
    (E.GIVE_ATTEMPT_BACK, E.KEEP_PROVEN),
)
MARK_VERIFIED = FlowTransition(
    "mark_verified", (S.PENDING,), S.VERIFIED, (G.CURRENT_CODE,), (E.DROP_DATA,)
)
LOCK = FlowTransition("lock", (S.PENDING,), S.LOCKED, (), (E.DROP_DATA,))
RESERVE_SEND = FlowTransition(
    "reserve_send",
    (S.PENDING,),
    None,
    (G.KIND, G.COOLDOWN_OVER, G.SENDS_LEFT, G.ATTEMPTS_LEFT, G.REVIVABLE, G.OWNER),
    (E.COUNT_SEND,),
)
RELEASE_SEND = FlowTransition("release_send", (), None, (G.SEND_HELD,), (E.GIVE_SEND_BACK,))
COMPLETE_SEND = FlowTransition("complete_send", (S.PENDING,), None, (G.SEND_HELD,), (E.NEW_CODE,))
CANCEL = FlowTransition("cancel", (S.PENDING,), S.CANCELLED, (G.TTL_LEFT,), (E.DROP_DATA,))
RECORD_DELIVERY = FlowTransition(
    "record_delivery",
    (S.PENDING,),
    None,
    (G.CURRENT_CODE, G.LATER_DELIVERY),
    (E.SET_DELIVERY,),
)
del S, G, E

FLOW_TRANSITIONS = (
    CREATE,
    RESERVE_ATTEMPT,
    RELEASE_CHECK,
    REFUND_ATTEMPT,
    PROVE,
    MARK_VERIFIED,
    LOCK,
    RESERVE_SEND,
    RELEASE_SEND,
    COMPLETE_SEND,
    CANCEL,
    RECORD_DELIVERY,
)


@dataclass(frozen=True)
class FlowState:
    """A flow as stored: its record, when the store deletes it, and a send in flight."""

    record: PendingVerification
    ttl: int
    send_token: str | None = None


@dataclass(frozen=True)
class FlowAsk:
    """What a caller brings to a write: the time, and what the transition's guards and
    effects read (the others are left at their defaults)."""

    now: float
    kind: FlowKind | None = None  # KIND
    owner: str | None = None  # OWNER (None: anyone's)
    lease_until: float = 0.0  # LEASE_HELD, COUNT_ATTEMPT
    verification_id: str | None = None  # CURRENT_CODE; NEW_CODE: the new code's
    proven_id: str | None = None  # KEEP_PROVEN
    cooldown_secs: int = 0  # COOLDOWN_OVER
    max_sends: int = 0  # SENDS_LEFT
    retention_secs: int = 0  # REVIVABLE
    token: str | None = None  # SEND_HELD, COUNT_SEND
    previous_sent_at: float = 0.0  # GIVE_SEND_BACK
    expires_at: float = 0.0  # NEW_CODE
    ttl: int = 0  # NEW_CODE, WRITE_NEW
    channel: Channel = Channel.SMS  # NEW_CODE
    delivery: DeliveryStatus = DeliveryStatus.UNKNOWN  # LATER_DELIVERY, SET_DELIVERY
    record: PendingVerification | None = None  # WRITE_NEW


def guard_holds(guard: FlowGuard, state: FlowState, ask: FlowAsk) -> bool:
    r, now = state.record, ask.now
    if guard is FlowGuard.KIND:
        return r.kind == ask.kind
    if guard is FlowGuard.OWNER:
        return ask.owner is None or r.subject == ask.owner
    if guard is FlowGuard.ATTEMPTS_LEFT:
        return r.attempts < r.max_attempts
    if guard is FlowGuard.UNEXPIRED:
        return r.expires_at > now
    if guard is FlowGuard.LEASE_FREE:
        return r.check_lease_until <= now
    if guard is FlowGuard.LEASE_HELD:
        return r.check_lease_until != 0.0 and r.check_lease_until == ask.lease_until
    if guard is FlowGuard.CURRENT_CODE:
        return r.verification_id == ask.verification_id
    if guard is FlowGuard.ATTEMPT_TAKEN:
        return r.attempts > 0
    if guard is FlowGuard.COOLDOWN_OVER:
        return r.last_sent_at <= now - ask.cooldown_secs
    if guard is FlowGuard.SENDS_LEFT:
        return r.send_count < ask.max_sends
    if guard is FlowGuard.REVIVABLE:
        return r.expires_at > now - ask.retention_secs
    if guard is FlowGuard.SEND_HELD:
        return state.send_token is not None and state.send_token == ask.token
    if guard is FlowGuard.TTL_LEFT:
        return state.ttl > now
    if guard is FlowGuard.LATER_DELIVERY:
        return r.delivery_status.rank < ask.delivery.rank
    # ABSENT: a flow is there. Only the very flow being created counts as written: DynamoDB
    # made that write before answering 500, and the SDK's retry found it, perhaps updated since
    # (its code went out first: a delivery webhook may come before the retry).
    return ask.record is not None and same_flow(r, ask.record)


# What no write after `create` changes: a flow found under a new flow's fresh random key with
# these is the one being created (the DynamoDB store compares these attributes of its item).
CREATION_IDENTITY = ("kind", "subject", "phone_number", "created_at")


def same_flow(found: PendingVerification, created: PendingVerification) -> bool:
    """Whether `found` is the flow `created` (CREATION_IDENTITY), whatever was written since."""
    return all(getattr(found, name) == getattr(created, name) for name in CREATION_IDENTITY)


def applies(transition: FlowTransition, state: FlowState | None, ask: FlowAsk) -> bool:
    """Whether `transition` writes `state` (None: no flow under the key) for `ask`."""
    if state is None:
        return FlowGuard.ABSENT in transition.guards
    if transition.from_statuses and state.record.status not in transition.from_statuses:
        return False
    return all(guard_holds(guard, state, ask) for guard in transition.guards)


def after(transition: FlowTransition, state: FlowState | None, ask: FlowAsk) -> FlowState:
    """The flow once `transition` has written `state` (for a transition that `applies`)."""
    if state is None:
        assert ask.record is not None, "create writes the caller's record"
        return FlowState(ask.record, ask.ttl)
    r, ttl, token = state.record, state.ttl, state.send_token
    if transition.to_status is not None:
        r = replace(r, status=transition.to_status)
    for effect in transition.effects:
        r, ttl, token = _apply(effect, r, ttl, token, ask)
    return FlowState(r, ttl, token)


def _apply(
    effect: FlowEffect, r: PendingVerification, ttl: int, token: str | None, ask: FlowAsk
) -> tuple[PendingVerification, int, str | None]:
    if effect is FlowEffect.COUNT_ATTEMPT:
        return replace(r, attempts=r.attempts + 1, check_lease_until=ask.lease_until), ttl, token
    if effect is FlowEffect.DROP_LEASE:
        return replace(r, check_lease_until=0.0), ttl, token
    if effect is FlowEffect.GIVE_ATTEMPT_BACK:
        return replace(r, attempts=r.attempts - 1, check_lease_until=0.0), ttl, token
    if effect is FlowEffect.KEEP_PROVEN:
        assert ask.proven_id is not None
        return replace(r, verification_id=ask.proven_id), ttl, token
    if effect is FlowEffect.DROP_DATA:
        return replace(r, data={}), ttl, token
    if effect is FlowEffect.COUNT_SEND:
        return replace(r, last_sent_at=ask.now, send_count=r.send_count + 1), ttl, ask.token
    if effect is FlowEffect.GIVE_SEND_BACK:
        given_back = replace(r, last_sent_at=ask.previous_sent_at, send_count=r.send_count - 1)
        return given_back, ttl, None
    if effect is FlowEffect.NEW_CODE:
        assert ask.verification_id is not None
        new_code = replace(
            r,
            verification_id=ask.verification_id,
            expires_at=ask.expires_at,
            channel=ask.channel,
            # What the provider said about the old code's message no longer holds.
            delivery_status=DeliveryStatus.UNKNOWN,
        )
        return new_code, ask.ttl, None
    if effect is FlowEffect.SET_DELIVERY:
        return replace(r, delivery_status=ask.delivery), ttl, token
    return r, ttl, token  # WRITE_NEW: create only (see `after`)
