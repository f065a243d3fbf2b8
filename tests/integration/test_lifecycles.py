"""Every transition of every lifecycle, from every state, on every store: the in-memory fake
the unit tests use, the DynamoDB adapters on moto, and on DynamoDB Local (the real engine).
For each transition, each starting state and each caller's ask (the guard cases: expired,
someone else's, the wrong claim or send token...), the store writes exactly when the
domain's rule says it applies, and leaves the state the rule's `after` gives (or the state
untouched when it does not apply). The rules are domain/lifecycle/."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import Any

import boto3
import pytest
from moto import mock_aws

from phoneverify.adapters.dynamo.phone_swaps import DynamoPhoneSwaps
from phoneverify.adapters.dynamo.toolkit import to_item
from phoneverify.adapters.dynamo.users import DynamoUserRepository
from phoneverify.domain.errors import AccountLocked, NoPendingPhoneSwap, PhoneSwapPending
from phoneverify.domain.lifecycle import flow as flows
from phoneverify.domain.lifecycle import payment as payments
from phoneverify.domain.lifecycle.account_lock import AccountLockRule, FailureCount
from phoneverify.domain.lifecycle.flow import FlowAsk, FlowState, FlowTransition
from phoneverify.domain.lifecycle.payment import Claim, PaymentAsk, PaymentState, PaymentTransition
from phoneverify.domain.lifecycle.phone_swap import CANCEL as SWAP_CANCEL
from phoneverify.domain.lifecycle.phone_swap import RECORD as SWAP_RECORD
from phoneverify.domain.lifecycle.phone_swap import TRANSITIONS as SWAP_TRANSITIONS
from phoneverify.domain.lifecycle.phone_swap import PhoneSwap, SwapAsk, SwapStatus, SwapTransition
from phoneverify.domain.lifecycle.phone_swap import PhoneSwapRule as SwapRule
from phoneverify.domain.lifecycle.phone_swap import after as swap_after
from phoneverify.domain.models import (
    Channel,
    DeliveryStatus,
    FlowKind,
    FlowStatus,
    Payment,
    PaymentStatus,
    PendingVerification,
    User,
)
from tests.support.fakes import FakeClock, InMemoryUsers
from tests.support.lifecycle_stores import Stores, dynamo_stores, memory_stores
from tests.support.lost_phone import InMemoryPhoneSwaps
from tests.support.tables import fresh_table

NOW = 1_800_000_000.0
RULE = AccountLockRule(max_failures=3, lockout_secs=100)


@pytest.fixture(params=["memory", "moto", "dynamodb-local"])
def stores(request: pytest.FixtureRequest) -> Iterator[Stores]:
    clock = FakeClock(NOW)
    if request.param == "memory":
        yield memory_stores(RULE, clock)
    elif request.param == "moto":
        with mock_aws():
            yield dynamo_stores(boto3.client("dynamodb", region_name="us-east-1"), RULE, clock)
    else:
        endpoint = request.getfixturevalue("dynamodb_local_endpoint")
        client = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
        yield dynamo_stores(client, RULE, clock)


_keys = itertools.count()


def fresh_key(prefix: str) -> str:
    return f"{prefix}-{next(_keys)}"


# -- payments ------------------------------------------------------------------------------
PAYMENT = Payment(
    payment_id="",
    user_id="u-payer",
    amount="250.00",
    currency="USD",
    recipient="Acme Supplies",
    description=None,
    status=PaymentStatus.PENDING,
    created_at=NOW - 60,
    flow_id="flow-1",
    expires_at=NOW + 300,
)
CLAIMS = (None, Claim("tok-a", NOW + 30), Claim("tok-a", NOW - 1))


def payment_states() -> list[PaymentState]:
    return [
        PaymentState(
            replace(PAYMENT, status=status, expires_at=expires_at, unsettled_since=unsettled_since),
            claim,
        )
        for status in PaymentStatus
        for expires_at in (NOW + 300, NOW - 1, NOW)
        for claim in CLAIMS
        for unsettled_since in (None, NOW - 400)
    ]


PAYMENT_ASKS: dict[str, list[PaymentAsk]] = {
    "claim": [
        PaymentAsk(NOW, user_id=user, token="tok-b", lease_secs=30)
        for user in ("u-payer", "u-other")
    ],
    "release": [PaymentAsk(NOW, token=token) for token in ("tok-a", "tok-x")],
    "begin_processing": [
        PaymentAsk(NOW, token=token, details=details)
        for token in ("tok-a", "tok-x")
        for details in (PAYMENT, replace(PAYMENT, amount="2500.00"))
    ],
    "complete": [PaymentAsk(NOW, transaction_id="txn-1")],
    "fail": [PaymentAsk(NOW, from_status=status) for status in PaymentStatus],
    "expire": [PaymentAsk(NOW)],
    "cancel": [PaymentAsk(NOW)],
    "extend": [PaymentAsk(NOW, expires_at=NOW + 600)],
    "abandon": [PaymentAsk(NOW, unsettled_since=seen) for seen in (NOW - 400, NOW - 5)],
    "settle_unclaimed": [PaymentAsk(NOW, unsettled_since=seen) for seen in (NOW - 400, NOW - 5)],
}


def write_payment(stores: Stores, t: PaymentTransition, key: str, ask: PaymentAsk) -> bool:
    repo = stores.payments
    if t is payments.CLAIM:
        assert ask.user_id is not None and ask.token is not None
        return repo.claim(key, ask.user_id, ask.token, ask.now, int(ask.lease_secs)).done
    if t is payments.RELEASE:
        assert ask.token is not None
        return repo.release(key, ask.token)
    if t is payments.BEGIN_PROCESSING:
        assert ask.details is not None and ask.token is not None
        return repo.begin_processing(replace(ask.details, payment_id=key), ask.token, ask.now)
    if t is payments.COMPLETE:
        assert ask.transaction_id is not None
        return repo.complete(key, ask.transaction_id, ask.now)
    if t is payments.FAIL:
        assert ask.from_status is not None
        return repo.fail(key, ask.from_status, "declined", ask.now)
    if t is payments.EXTEND:
        assert ask.expires_at is not None
        return repo.extend(key, ask.expires_at, ask.now)
    if t in (payments.ABANDON, payments.SETTLE_UNCLAIMED):
        assert ask.unsettled_since is not None
        settle = repo.abandon if t is payments.ABANDON else repo.settle_unclaimed
        return settle(key, ask.unsettled_since, ask.now)
    return {"expire": repo.expire, "cancel": repo.cancel}[t.name](key, ask.now)


@pytest.mark.parametrize("transition", payments.PAYMENT_TRANSITIONS, ids=lambda t: t.name)
def test_every_payment_write_is_the_rules(stores: Stores, transition: PaymentTransition) -> None:
    disagreements = []
    for state, ask in itertools.product(payment_states(), PAYMENT_ASKS[transition.name]):
        key = fresh_key("pay")
        state = replace(state, payment=replace(state.payment, payment_id=key))
        ask = replace(ask, details=ask.details and replace(ask.details, payment_id=key))
        stores.put_payment(key, state)
        written = write_payment(stores, transition, key, ask)
        expected = payments.applies(transition, state, ask)
        after = payments.after(transition, state, ask) if expected else state
        if (written, stores.read_payment(key)) != (expected, after):
            disagreements.append((state, ask, written, stores.read_payment(key)))
    assert disagreements == []


def test_no_payment_no_write(stores: Stores) -> None:
    for transition in payments.PAYMENT_TRANSITIONS:
        for ask in PAYMENT_ASKS[transition.name]:
            assert not payments.applies(transition, None, ask)
            assert write_payment(stores, transition, "pay-missing", ask) is False
            assert stores.read_payment("pay-missing") is None


# -- pending verifications (flows) ---------------------------------------------------------
RECORD = PendingVerification(
    flow_key="",
    kind=FlowKind.LOGIN,
    subject="u-1",
    phone_number="+14155550123",
    verification_id="v-1",
    status=FlowStatus.PENDING,
    attempts=1,
    max_attempts=3,
    send_count=1,
    last_sent_at=NOW - 100,
    expires_at=NOW + 200,
    created_at=NOW - 100,
    data={"payment_id": "pay-1"},
)
TTL = int(NOW + 1_000)
VARIANTS: list[tuple[dict[str, Any], int, str | None]] = [
    ({}, TTL, None),
    ({"attempts": 3}, TTL, None),  # no attempts left
    ({"attempts": 0}, TTL, None),  # none taken
    ({"expires_at": NOW - 10}, TTL, None),  # the code expired
    ({"expires_at": NOW - 10_000}, TTL, None),  # past its retention
    ({"check_lease_until": NOW + 10}, TTL, None),  # a code check in flight
    ({"check_lease_until": NOW - 5}, TTL, None),  # one whose lease lapsed
    ({"last_sent_at": NOW - 5}, TTL, "s-1"),  # a send in flight, in its cooldown
    ({"send_count": 5}, TTL, None),  # no sends left
    ({}, int(NOW - 1), None),  # past its TTL, not deleted yet
    ({"delivery_status": DeliveryStatus.SENT}, TTL, None),
    ({"delivery_status": DeliveryStatus.DELIVERED}, TTL, None),
]


def flow_states() -> list[FlowState]:
    return [
        FlowState(replace(RECORD, status=status, **changes), ttl, token)
        for status in FlowStatus
        for changes, ttl, token in VARIANTS
    ]


FLOW_ASKS: dict[str, list[FlowAsk]] = {
    "create": [
        FlowAsk(NOW, record=RECORD, ttl=TTL),  # the stored flow is this one (a retried write)
        FlowAsk(NOW, record=replace(RECORD, subject="u-2"), ttl=TTL),  # another's
        FlowAsk(NOW, record=replace(RECORD, created_at=NOW), ttl=TTL),  # another flow
    ],
    "reserve_attempt": [
        FlowAsk(NOW, kind=kind, owner=owner, lease_until=NOW + 15)
        for kind in (FlowKind.LOGIN, FlowKind.PAYMENT)
        for owner in (None, "u-1", "u-2")
    ],
    "release_check": [FlowAsk(NOW, lease_until=lease) for lease in (NOW + 10, NOW + 11)],
    "refund_attempt": [FlowAsk(NOW, verification_id=vid) for vid in ("v-1", "v-2")],
    "prove": [FlowAsk(NOW, verification_id=vid, proven_id="p-1") for vid in ("v-1", "v-2")],
    "mark_verified": [FlowAsk(NOW, verification_id=vid) for vid in ("v-1", "v-2")],
    "lock": [FlowAsk(NOW)],
    "reserve_send": [
        FlowAsk(
            NOW,
            kind=kind,
            owner=owner,
            token="s-2",
            cooldown_secs=30,
            max_sends=5,
            retention_secs=3_600,
        )
        for kind in (FlowKind.LOGIN, FlowKind.PAYMENT)
        for owner in (None, "u-2")
    ],
    "release_send": [
        FlowAsk(NOW, token=token, previous_sent_at=NOW - 200) for token in ("s-1", "s-2")
    ],
    "complete_send": [
        FlowAsk(
            NOW,
            token=token,
            verification_id="v-9",
            expires_at=NOW + 500,
            ttl=int(NOW + 2_000),
            channel=Channel.CALL,
        )
        for token in ("s-1", "s-2")
    ],
    "cancel": [FlowAsk(NOW)],
    "record_delivery": [
        FlowAsk(NOW, verification_id=vid, delivery=delivery)
        for vid in ("v-1", "v-2")
        for delivery in (DeliveryStatus.UNKNOWN, DeliveryStatus.SENT, DeliveryStatus.DELIVERED)
    ],
}


def _flow_writes(stores: Stores, key: str, a: FlowAsk) -> dict[str, Callable[[], bool]]:
    store = stores.flows
    kind = a.kind or FlowKind.LOGIN
    vid, token = a.verification_id or "", a.token or ""

    def create() -> bool:
        from phoneverify.ports.conditions import ConditionFailed

        assert a.record is not None
        try:
            store.create(replace(a.record, flow_key=key), a.ttl)
        except ConditionFailed:
            return False
        return True

    return {
        "create": create,
        "reserve_attempt": lambda: (
            store.reserve_attempt(key, kind, a.now, a.lease_until, owner=a.owner).done
        ),
        "release_check": lambda: store.release_check(key, a.lease_until),
        "refund_attempt": lambda: store.refund_attempt(key, vid),
        "prove": lambda: store.prove(key, vid, a.proven_id or ""),
        "mark_verified": lambda: store.mark_verified(key, vid, a.now),
        "lock": lambda: store.lock(key, a.now),
        "reserve_send": lambda: (
            store.reserve_send(
                key,
                kind,
                token,
                a.now,
                cooldown_secs=a.cooldown_secs,
                max_sends=a.max_sends,
                retention_secs=a.retention_secs,
                owner=a.owner,
            ).done
        ),
        "release_send": lambda: store.release_send(key, token, a.previous_sent_at),
        "complete_send": lambda: store.complete_send(
            key, token, vid, a.expires_at, a.ttl, a.channel
        ),
        "cancel": lambda: store.cancel(key, a.now) is not None,
        "record_delivery": lambda: store.record_delivery(key, vid, a.delivery, a.now),
    }


@pytest.mark.parametrize("transition", flows.FLOW_TRANSITIONS, ids=lambda t: t.name)
def test_every_flow_write_is_the_rules(stores: Stores, transition: FlowTransition) -> None:
    disagreements = []
    starts: list[FlowState | None] = [None, *flow_states()]
    for state, ask in itertools.product(starts, FLOW_ASKS[transition.name]):
        key = fresh_key("flow")
        if state is not None:
            state = replace(state, record=replace(state.record, flow_key=key))
            stores.put_flow(key, state)
        if ask.record is not None:
            ask = replace(ask, record=replace(ask.record, flow_key=key))
        written = _flow_writes(stores, key, ask)[transition.name]()
        expected = flows.applies(transition, state, ask)
        after = flows.after(transition, state, ask) if expected else state
        if (written, stores.read_flow(key)) != (expected, after):
            disagreements.append((state, ask, written, stores.read_flow(key)))
    assert disagreements == []


# -- the wrong-code account lock -----------------------------------------------------------
COUNTS: list[FailureCount | None] = [
    None,
    *(
        FailureCount(failures, expires)
        for failures in range(RULE.max_failures + 2)
        for expires in (NOW + 50, NOW, NOW - 1)
    ),
]


def _walk_counts(stores: Stores, write: Callable[[str], Any], expect: Callable[..., Any]) -> None:
    disagreements = []
    for count in COUNTS:
        subject = fresh_key("u")
        if count is not None:
            stores.put_count(subject, count)
        try:
            answer: Any = write(subject)
        except AccountLocked as locked:
            answer = ("locked", locked.retry_after)
        expected_answer, expected_count = expect(count)
        if (answer, stores.read_count(subject)) != (expected_answer, expected_count):
            disagreements.append((count, answer, stores.read_count(subject)))
    assert disagreements == []


def test_counting_a_wrong_code_is_the_rules(stores: Stores) -> None:
    def expect(count: FailureCount | None) -> tuple[Any, FailureCount | None]:
        counted = RULE.counted(count, NOW)
        if counted is None:
            return ("locked", RULE.locked_for(count, NOW)), count
        return RULE.attempts_left(counted), counted

    _walk_counts(stores, stores.failures.reserve, expect)


def test_the_lock_answers_by_the_rules(stores: Stores) -> None:
    def expect(count: FailureCount | None) -> tuple[Any, FailureCount | None]:
        locked_for = RULE.locked_for(count, NOW)
        return (None if locked_for is None else ("locked", locked_for)), count

    _walk_counts(stores, stores.failures.ensure_unlocked, expect)


def test_a_refund_and_a_reset_are_the_rules(stores: Stores) -> None:
    _walk_counts(
        stores, stores.failures.refund, lambda count: (None, RULE.refunded(count) or count)
    )
    _walk_counts(stores, stores.failures.reset, lambda count: (None, None))


# -- a lost phone's swap (domain/lifecycle/phone_swap.py) --------------------------------------
_phones = itertools.count(1000)
_numbers: dict[str, tuple[str, str]] = {}


def _phones_of(user_id: str) -> tuple[str, str]:
    """Each account of the walk its own old and new numbers (one account per number)."""
    if user_id not in _numbers:
        n = next(_phones)
        _numbers[user_id] = (f"+1415555{n:04d}", f"+1415556{n:04d}")
    return _numbers[user_id]


def old_phone(user_id: str) -> str:
    return _phones_of(user_id)[0]


def new_phone(user_id: str) -> str:
    return _phones_of(user_id)[1]


SWAP_STATES: dict[str, PhoneSwap | None] = {
    "none": None,
    "waiting": PhoneSwap(
        "s-live", "+14155550121", SwapStatus.PENDING, NOW - 10, NOW + 50, NOW + 100
    ),
    "bindable": PhoneSwap(
        "s-live", "+14155550121", SwapStatus.PENDING, NOW - 90, NOW - 10, NOW + 100
    ),
    "expired": PhoneSwap(
        "s-live", "+14155550121", SwapStatus.PENDING, NOW - 300, NOW - 200, NOW - 100
    ),
    "cancelled": PhoneSwap(
        "s-live", "+14155550121", SwapStatus.CANCELLED, NOW - 10, NOW + 50, NOW + 100
    ),
    "completed": PhoneSwap(
        "s-live", "+14155550121", SwapStatus.COMPLETED, NOW - 90, NOW - 10, NOW + 100
    ),
}


@pytest.fixture(params=["memory", "moto", "dynamodb-local"])
def swap_stores(request: pytest.FixtureRequest) -> Iterator[tuple[Any, Any, Callable[..., None]]]:
    """(the users, the swaps, put(user_id, swap)) of one backend."""
    if request.param == "memory":
        users = InMemoryUsers()
        swaps = InMemoryPhoneSwaps(users)

        def put_memory(user_id: str, swap: PhoneSwap | None) -> None:
            users.put_user(User(user_id, f"{user_id}@example.com", "h", old_phone(user_id)))
            users.replace(replace(users.get(user_id), phone_swap=swap))  # type: ignore[type-var]
            if swap is not None:
                swaps.pointers[swap.swap_id] = (user_id, swap.expires_at)

        yield users, swaps, put_memory
        return

    def backend(client: Any) -> tuple[Any, Any, Callable[..., None]]:
        table = fresh_table(client, "UsersTable")
        users, swaps = DynamoUserRepository(client, table), DynamoPhoneSwaps(client, table)

        def put_dynamo(user_id: str, swap: PhoneSwap | None) -> None:
            client.put_item(
                TableName=table,
                Item=to_item(
                    {
                        "pk": f"USER#{user_id}",
                        "user_id": user_id,
                        "email": f"{user_id}@example.com",
                        "password_hash": "h",
                        "phone_number": old_phone(user_id),
                    }
                    | (
                        {}
                        if swap is None
                        else {
                            "swap_id": swap.swap_id,
                            "swap_phone": swap.new_phone,
                            "swap_status": swap.status.value,
                            "swap_created_at": int(swap.created_at),
                            "swap_binds_at": int(swap.binds_at),
                            "swap_expires": int(swap.expires_at),
                        }
                    )
                ),
            )

            pointer = {"pk": f"PHONE#{old_phone(user_id)}", "user_id": user_id}
            client.put_item(TableName=table, Item=to_item(pointer))

        return users, swaps, put_dynamo

    if request.param == "moto":
        with mock_aws():
            yield backend(boto3.client("dynamodb", region_name="us-east-1"))
    else:
        endpoint = request.getfixturevalue("dynamodb_local_endpoint")
        yield backend(boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1"))


def _swap_write(swaps: Any, t: SwapTransition, user_id: str, ask: SwapAsk) -> bool:
    """The store's write of `t`; whether it happened."""
    try:
        if t is SWAP_RECORD:
            fresh = SwapRule(100, 3600).opened(f"s-new-{user_id}", "+14155550122", ask.now)
            swaps.record(user_id, fresh, old_phone(user_id), 0, ask.now)
        elif t is SWAP_CANCEL:
            swaps.cancel(user_id, ask.now)
        else:
            template = SWAP_STATES["bindable"]
            assert template is not None
            bound = replace(template, swap_id=ask.swap_id, new_phone=new_phone(user_id))
            swaps.complete(user_id, bound, old_phone(user_id), "h2", ask.now)
    except (NoPendingPhoneSwap, PhoneSwapPending):
        return False
    return True


@pytest.mark.parametrize("transition", SWAP_TRANSITIONS, ids=lambda t: t.name)
def test_every_phone_swap_write_is_the_rules(
    swap_stores: tuple[Any, Any, Callable[..., None]], transition: SwapTransition
) -> None:
    users, swaps, put = swap_stores
    for (name, state), swap_id in itertools.product(SWAP_STATES.items(), ("s-live", "s-other")):
        user_id = fresh_key(f"swap-{name}")
        put(user_id, state)
        ask = SwapAsk(NOW, swap_id)
        expected = transition.applies(state, ask)
        # When the store is asked
        done = _swap_write(swaps, transition, user_id, ask)
        # Then it wrote exactly when the rule applies, and left what the rule says
        assert done is expected, (transition.name, name, swap_id)
        after = users.get(user_id).phone_swap
        if not expected:
            assert after == state, (transition.name, name)
        elif transition is SWAP_RECORD:
            assert after is not None and after.swap_id == f"s-new-{user_id}"
        else:
            assert state is not None and after == swap_after(state, transition)
