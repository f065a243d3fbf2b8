"""The phone swap and the phone-bound code acceptance on DynamoDB: DynamoUserRepository.
change_phone (one transaction keeping one account per phone) and DynamoVerificationStore.
mark_verified with a PhoneBinding, on moto and on AWS's DynamoDB Local (the real engine for
the races)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from phoneverify.adapters.dynamo.account_lock import DynamoAccountLock
from phoneverify.adapters.dynamo.send_limits import DynamoSendLimits
from phoneverify.adapters.dynamo.users import DynamoUserRepository
from phoneverify.adapters.dynamo.verifications import DynamoVerificationStore
from phoneverify.domain.errors import AccountLocked, PhoneAlreadyRegistered, PhoneSuperseded
from phoneverify.domain.models import FlowKind, FlowStatus, PhoneBinding, RequestOrigin
from phoneverify.domain.send_limits import SendCaps
from tests.integration.test_user_repository import user
from tests.integration.test_verification_store import NOW, record
from tests.support.fakes import FakeClock
from tests.support.tables import fresh_table, rate_limits_table

OLD = "+14155550199"
NEW = "+14155550188"


@dataclass
class Tables:
    users: DynamoUserRepository
    store: DynamoVerificationStore
    limits: DynamoSendLimits
    rate_limits: str
    client: Any
    failures: DynamoAccountLock  # the wrong codes whose lock `limits` checks


def tables_on(client: Any) -> Tables:
    users_table = fresh_table(client, "UsersTable", "u")
    store = DynamoVerificationStore(
        client, fresh_table(client, "VerificationsTable"), users_table=users_table
    )
    rate_limits = rate_limits_table(client)
    clock = FakeClock(NOW)
    failures = DynamoAccountLock(
        client, rate_limits, max_failures=3, lockout_secs=86_400, clock=clock
    )
    limits = DynamoSendLimits(
        client, rate_limits, SendCaps(), clock, users_table=users_table, failures=failures
    )
    return Tables(
        DynamoUserRepository(client, users_table), store, limits, rate_limits, client, failures
    )


@pytest.fixture(params=["moto", "dynamodb-local"])
def db(request: pytest.FixtureRequest) -> Iterator[Tables]:
    if request.param == "moto":
        with mock_aws():
            yield tables_on(boto3.client("dynamodb", region_name="us-east-1"))
    else:
        endpoint = request.getfixturevalue("dynamodb_local_endpoint")
        yield tables_on(boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1"))


@pytest.fixture
def real_engine(dynamodb_local_endpoint: str) -> Tables:
    return tables_on(
        boto3.client("dynamodb", endpoint_url=dynamodb_local_endpoint, region_name="us-east-1")
    )


def test_the_swap_moves_the_account_and_its_phone_pointer(db: Tables) -> None:
    # Given
    account = user(phone=OLD)
    db.users.put_user(account, phone_verified_at=1)
    # When
    db.users.change_phone(account.user_id, OLD, NEW, 0, NOW)
    # Then
    changed = db.users.get(account.user_id)
    assert changed is not None
    assert (changed.phone_number, changed.phone_generation) == (NEW, 1)
    assert db.users.find_by_phone(NEW) == changed
    assert db.users.find_by_phone(OLD) is None


def test_an_account_without_a_phone_gets_one(db: Tables) -> None:
    account = user(phone=None)
    db.users.put_user(account)
    db.users.change_phone(account.user_id, None, NEW, 0, NOW)
    assert db.users.find_by_phone(NEW).user_id == account.user_id  # type: ignore[union-attr]


def test_a_number_another_account_holds_changes_nothing(db: Tables) -> None:
    # Given
    holder = user(email="holder@example.com", phone=NEW)
    account = user(phone=OLD)
    db.users.put_user(holder, phone_verified_at=1)
    db.users.put_user(account, phone_verified_at=1)
    # When / Then
    with pytest.raises(PhoneAlreadyRegistered):
        db.users.change_phone(account.user_id, OLD, NEW, 0, NOW)
    assert db.users.get(account.user_id) == account
    assert db.users.find_by_phone(NEW) == holder
    assert db.users.find_by_phone(OLD) == account


@pytest.mark.parametrize("generation", [1, 7])
def test_a_stale_generation_changes_nothing(db: Tables, generation: int) -> None:
    account = user(phone=OLD)
    db.users.put_user(account, phone_verified_at=1)
    with pytest.raises(PhoneSuperseded):
        db.users.change_phone(account.user_id, OLD, NEW, generation, NOW)
    assert db.users.get(account.user_id) == account
    assert db.users.find_by_phone(NEW) is None


def test_a_code_bound_to_the_account_phone_is_accepted_only_under_its_generation(
    db: Tables,
) -> None:
    # Given a login flow sent under generation 0, and one more
    account = user(phone=OLD)
    db.users.put_user(account, phone_verified_at=1)
    binding = PhoneBinding(account.user_id, 0)
    db.store.create(record("before", subject=account.user_id), ttl=0)
    db.store.create(record("other", subject=account.user_id), ttl=0)
    assert db.store.mark_verified("before", "v-1", NOW, binding)
    # When the phone changes
    db.users.change_phone(account.user_id, OLD, NEW, 0, NOW)
    # Then the other flow's right code is refused, and it stays pending for the flow to end
    with pytest.raises(PhoneSuperseded):
        db.store.mark_verified("other", "v-1", NOW, binding)
    assert db.store.get("other").status == FlowStatus.PENDING  # type: ignore[union-attr]
    assert db.store.mark_verified("other", "v-1", NOW, PhoneBinding(account.user_id, 1))
    # and a consumed flow answers False, as without a binding
    assert not db.store.mark_verified("before", "v-1", NOW, PhoneBinding(account.user_id, 1))


def test_two_changes_racing_on_one_account_make_one(real_engine: Tables) -> None:
    # Given
    account = user(phone=OLD)
    real_engine.users.put_user(account, phone_verified_at=1)

    def swap(i: int) -> str:
        try:
            real_engine.users.change_phone(account.user_id, OLD, f"+1415555{i:04d}", 0, NOW)
        except PhoneSuperseded:
            return "superseded"
        return "changed"

    # When
    with ThreadPoolExecutor(max_workers=10) as pool:
        outcomes = Counter(pool.map(swap, range(300, 310)))
    # Then exactly one number holds, and the account's pointer is its only one
    assert outcomes == {"changed": 1, "superseded": 9}
    changed = real_engine.users.get(account.user_id)
    assert changed is not None and changed.phone_generation == 1
    holders = [real_engine.users.find_by_phone(f"+1415555{i:04d}") for i in range(300, 310)]
    assert [h.user_id for h in holders if h] == [account.user_id]


def test_two_accounts_racing_for_one_number_make_one_holder(real_engine: Tables) -> None:
    # Given
    accounts = [user(email=f"racer{i}@example.com", phone=f"+1415555{i:04d}") for i in range(8)]
    for each in accounts:
        real_engine.users.put_user(each, phone_verified_at=1)

    def swap(i: int) -> str:
        racer = accounts[i]
        try:
            real_engine.users.change_phone(racer.user_id, racer.phone_number, NEW, 0, NOW)
        except PhoneAlreadyRegistered:
            return "taken"
        return "changed"

    # When
    with ThreadPoolExecutor(max_workers=8) as pool:
        outcomes = Counter(pool.map(swap, range(8)))
    # Then
    assert outcomes == {"changed": 1, "taken": 7}
    winner = real_engine.users.find_by_phone(NEW)
    assert winner is not None
    losers = [a for a in accounts if a.user_id != winner.user_id]
    assert all(real_engine.users.get(a.user_id) == a for a in losers)


def test_a_send_bound_to_the_old_phone_is_refused_and_counts_nothing(db: Tables) -> None:
    # Given a send admitted under generation 0, then the phone changes
    account = user(phone=OLD)
    db.users.put_user(account, phone_verified_at=1)
    origin = RequestOrigin("203.0.113.9", "pytest")
    db.limits.admit(OLD, account.user_id, origin, binding=PhoneBinding(account.user_id, 0))
    db.users.change_phone(account.user_id, OLD, NEW, 0, NOW)

    def counts() -> dict[str, int]:
        items = db.client.scan(TableName=db.rate_limits)["Items"]
        return {item["pk"]["S"]: int(item["sends"]["N"]) for item in items}

    before = counts()
    # When / Then no further send is admitted under the old generation, and nothing counted
    with pytest.raises(PhoneSuperseded):
        db.limits.admit(OLD, account.user_id, origin, binding=PhoneBinding(account.user_id, 0))
    assert counts() == before
    # and under the new generation it is
    db.limits.admit(NEW, account.user_id, origin, binding=PhoneBinding(account.user_id, 1))


def test_a_resend_to_a_locked_account_whose_phone_changed_is_answered_locked(db: Tables) -> None:
    # Given an account whose phone changed since the flow's code, and that is locked
    account = user(phone=OLD)
    db.users.put_user(account, phone_verified_at=1)
    db.users.change_phone(account.user_id, OLD, NEW, 0, NOW)
    for _ in range(3):
        db.failures.reserve(account.user_id)
    # When the old flow asks for a resend, both checks failing in its one transaction
    with pytest.raises(AccountLocked) as locked:
        db.limits.admit(
            OLD,
            account.user_id,
            RequestOrigin("203.0.113.9", "pytest"),
            binding=PhoneBinding(account.user_id, 0),
            account_lock=True,
        )
    # Then the lock answers (as when it was read first), with its whole time left
    assert locked.value.retry_after == 86_400


def test_another_accounts_flow_is_neither_checked_nor_resent(db: Tables) -> None:
    # Given a phone-change flow of u-1
    db.store.create(record("k", subject="u-1", kind=FlowKind.PHONE_CHANGE), ttl=0)
    # When u-2 tries its code or a resend
    attempt = db.store.reserve_attempt("k", FlowKind.PHONE_CHANGE, NOW, NOW + 20, owner="u-2")
    send = db.store.reserve_send(
        "k",
        FlowKind.PHONE_CHANGE,
        "t",
        NOW + 60,
        cooldown_secs=30,
        max_sends=5,
        retention_secs=600,
        owner="u-2",
    )
    # Then nothing is written, and the flow as it was comes back (its subject tells why)
    assert not attempt.done and not send.done
    assert attempt.record is not None and attempt.record.subject == "u-1"
    stored = db.store.get("k")
    assert stored is not None
    assert (stored.attempts, stored.send_count, stored.check_lease_until) == (0, 1, 0.0)
    # while its owner's attempt is counted
    assert db.store.reserve_attempt("k", FlowKind.PHONE_CHANGE, NOW, NOW + 20, owner="u-1").done
