"""The deletion's one transaction (adapters/dynamo/account_deletion.py; docs/privacy.md) on moto
and DynamoDB Local: the account goes with its EMAIL#, PHONE#, SWAP# and PASSKEY# items and
nothing of another account; a passkey added between the deletion's read and its transaction
cancels it and the read again deletes that one too (no orphan credential); an account already
gone is None; many deletions racing make one."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import pytest
from moto import mock_aws

from phoneverify.adapters.dynamo.account_deletion import DynamoAccountDeletion
from phoneverify.adapters.dynamo.passkeys import DynamoPasskeys
from phoneverify.adapters.dynamo.phone_swaps import DynamoPhoneSwaps
from phoneverify.adapters.dynamo.users import DynamoUserRepository
from phoneverify.domain.lifecycle.phone_swap import PhoneSwap, SwapStatus
from phoneverify.domain.models import User
from phoneverify.domain.passkeys import Passkey
from phoneverify.ports.account_data import DeletedAccount
from tests.support.tables import fresh_table

NOW = 1_800_000_000.0


@pytest.fixture(params=["moto", "dynamodb-local"])
def client(request: pytest.FixtureRequest) -> Iterator[Any]:
    if request.param == "moto":
        with mock_aws():
            yield boto3.client("dynamodb", region_name="us-east-1")
        return
    endpoint = request.getfixturevalue("dynamodb_local_endpoint")
    yield boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")


def passkey(user_id: str, passkey_id: str) -> Passkey:
    return Passkey(passkey_id, user_id, b"\x01" * 32, 0, ("internal",), NOW)


def keys(client: Any, table: str) -> set[str]:
    return {item["pk"]["S"] for item in client.scan(TableName=table, ConsistentRead=True)["Items"]}


def test_the_account_goes_with_every_item_that_points_to_it(client: Any) -> None:
    table = fresh_table(client, "UsersTable")
    users = DynamoUserRepository(client, table)
    users.put_user(User("u-1", "a@example.com", "hash", "+14155550101"), phone_verified_at=NOW)
    users.put_user(User("u-2", "b@example.com", "hash", "+14155550102"), phone_verified_at=NOW)
    passkeys = DynamoPasskeys(client, table)
    for each in ("cred-a", "cred-b"):
        passkeys.add(passkey("u-1", each), limit=10)
    passkeys.add(passkey("u-2", "cred-c"), limit=10)
    swap = PhoneSwap("swap-1", "+14155550103", SwapStatus.PENDING, NOW, NOW + 60, NOW + 600)
    DynamoPhoneSwaps(client, table).record("u-1", swap, "+14155550101", 0, NOW)

    deleted = DynamoAccountDeletion(client, table).delete("u-1")

    assert deleted == DeletedAccount("a@example.com", "+14155550101")
    assert keys(client, table) == {
        "USER#u-2",
        "EMAIL#b@example.com",
        "PHONE#+14155550102",
        "PASSKEY#cred-c",
    }
    assert DynamoAccountDeletion(client, table).delete("u-1") is None


def test_a_passkey_added_after_the_read_is_deleted_too(client: Any) -> None:
    table = fresh_table(client, "UsersTable")
    DynamoUserRepository(client, table).put_user(User("u-1", "a@example.com", "hash"))
    deletion = DynamoAccountDeletion(client, table)
    passkeys = DynamoPasskeys(client, table)
    request = deletion.request
    raced: list[bool] = []

    def passkey_lands_in_between(user_id: str, row: dict[str, Any]) -> list[dict[str, Any]]:
        if not raced:  # the first read's transaction is built, then a passkey is added
            raced.append(True)
            built = request(user_id, row)
            passkeys.add(passkey("u-1", "cred-late"), limit=10)
            return built
        return request(user_id, row)

    deletion.request = passkey_lands_in_between  # type: ignore[method-assign]
    assert deletion.delete("u-1") == DeletedAccount("a@example.com", None)
    assert keys(client, table) == set()


def test_deletions_racing_make_one(client: Any) -> None:
    table = fresh_table(client, "UsersTable")
    DynamoUserRepository(client, table).put_user(
        User("u-1", "a@example.com", "hash", "+14155550101"), phone_verified_at=NOW
    )
    deletion = DynamoAccountDeletion(client, table)
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(lambda _: _delete_or_error(deletion), range(4)))
    assert sum(isinstance(r, DeletedAccount) for r in results) == 1, results
    assert keys(client, table) == set()


def _delete_or_error(deletion: DynamoAccountDeletion) -> object:
    try:
        return deletion.delete("u-1")
    except Exception as exc:  # a lost race may answer 503; never a second delete
        return exc


def test_the_notice_and_the_marker_go_in_the_deletions_transaction(client: Any) -> None:
    from phoneverify.adapters.dynamo.deletion_cleanup import DynamoDeletionMarkers
    from phoneverify.adapters.dynamo.notices_outbox import DynamoNoticesOutbox
    from phoneverify.domain.deletion import DeletionMarker
    from phoneverify.domain.models import NoticeEvent
    from phoneverify.domain.notices import OutboxNotice
    from phoneverify.ports.account_data import Alongside

    table = fresh_table(client, "UsersTable")
    outbox_table = fresh_table(client, "NoticesOutboxTable")
    DynamoUserRepository(client, table).put_user(
        User("u-1", "a@example.com", "hash", "+14155550101"), phone_verified_at=NOW
    )
    outbox = DynamoNoticesOutbox(client, outbox_table)
    marker = DeletionMarker("u-1", ("u-1", "email#k1", "phone#k2"), NOW)

    def alongside(account: DeletedAccount) -> Alongside:
        assert account.phone_number is not None
        event = NoticeEvent.ACCOUNT_DELETED
        return Alongside(OutboxNotice("n-1", account.phone_number, event, NOW), marker)

    deletion = DynamoAccountDeletion(client, table, outbox)
    assert deletion.delete("u-1", alongside) == DeletedAccount("a@example.com", "+14155550101")
    assert keys(client, table) == {"DELETED#u-1"}
    assert keys(client, outbox_table) == {"n-1"}
    markers = DynamoDeletionMarkers(client, table)
    assert markers.oldest(10) == [marker]
    markers.done("u-1")
    markers.done("u-1")  # gone already: nothing
    assert markers.oldest(10) == [] and keys(client, table) == set()


def test_the_audit_scrub_keeps_only_pseudonymous_fields_and_runs_twice_alike(client: Any) -> None:
    from phoneverify.adapters.dynamo.audit import DynamoAuditTrail
    from phoneverify.adapters.dynamo.deletion_cleanup import DynamoAuditScrub
    from phoneverify.domain.audit_events import VerificationEvent, VerificationEventType
    from phoneverify.domain.models import FlowKind, RequestOrigin

    audit = fresh_table(client, "AuditTable")
    trail = DynamoAuditTrail(client, audit, 86_400)
    origin = RequestOrigin("198.51.100.7", "Firefox")
    for subject in ("u-1", "u-1", "u-2"):
        trail.record(
            VerificationEvent(
                type=VerificationEventType.PHONE_CHANGED,
                kind=FlowKind.PHONE_CHANGE,
                subject=subject,
                masked_phone="+1******0101",
                at=NOW,
                origin=origin,
                detail={"old_phone": "+1******0102", "reason": "kept"},
            )
        )
    scrub = DynamoAuditScrub(client, audit)
    assert scrub.pseudonymise(("u-1",)) == 2
    assert scrub.pseudonymise(("u-1",)) == 0
    records = trail.events_for("u-1")
    assert len(records) == 2
    for record in records:
        assert set(record) == {"subject", "sk", "event", "flow", "at", "ttl", "detail"}
        assert record["detail"] == {"reason": "kept"}
    assert trail.events_for("u-2")[0]["source_ip"] == "198.51.100.7"
