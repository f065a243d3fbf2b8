"""The DynamoDB webhook ledger's answers to each way its one transaction can be cancelled, on
a scripted client: a duplicate, a refused move, the watchers it learns, conflicts and outages
(always a clean StorageUnavailable, never a claim without its report)."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from phoneverify.adapters.dynamo.verifications import DynamoVerificationStore
from phoneverify.adapters.dynamo.webhook_events import WRITE_TRIES, DynamoWebhookEventLedger
from phoneverify.domain.errors import StorageUnavailable
from phoneverify.domain.models import DeliveryStatus
from phoneverify.ports.verifications import DeliveryWrite
from tests.support.scripted_dynamodb import ScriptedClient, client_error

NOW = 1_800_000_000.0
FAILED = "ConditionalCheckFailed"


def ledger_on(client: ScriptedClient) -> DynamoWebhookEventLedger:
    return DynamoWebhookEventLedger(
        client,  # type: ignore[arg-type]
        "WebhookEventsTable",
        259_200,
        flows=DynamoVerificationStore(client, "VerificationsTable"),  # type: ignore[arg-type]
        connections_table="ConnectionsTable",
    )


def record(client: ScriptedClient) -> DeliveryWrite:
    return ledger_on(client).record("e-1", "k1", "v-1", DeliveryStatus.DELIVERED, NOW)


def watchers_item(*connection_ids: str, ttl: float = NOW + 300) -> dict[str, Any]:
    return {
        "pk": {"S": "flow#k1"},
        "ttl": {"N": str(int(ttl))},
        "connections": {"SS": list(connection_ids)},
    }


def cancelled(*reasons: str, watchers: dict[str, Any] | None = None) -> ClientError:
    error = client_error("TransactionCanceledException", list(reasons))
    if watchers is not None:
        error.response["CancellationReasons"][2]["Item"] = watchers  # type: ignore[typeddict-item]
    return error


def test_one_transaction_claims_moves_and_checks_that_nobody_watches() -> None:
    client = ScriptedClient()
    assert record(client) == DeliveryWrite(duplicate=False, recorded=True, watchers=())
    [items] = client.transactions
    claim, move, check = items[0]["Put"], items[1]["Update"], items[2]["ConditionCheck"]
    assert claim["ConditionExpression"] == "attribute_not_exists(pk)"
    assert claim["Item"]["pk"] == {"S": "telnyx#e-1"}
    assert "#status = :pending AND verification_id = :vid" in move["ConditionExpression"]
    assert check["Key"] == {"pk": {"S": "flow#k1"}}


def test_a_claimed_event_is_a_duplicate_whatever_else_failed() -> None:
    client = ScriptedClient(cancelled(FAILED, FAILED, FAILED))
    assert record(client) == DeliveryWrite(duplicate=True, recorded=False)
    assert client.calls == 1


def test_a_refused_move_writes_nothing() -> None:
    client = ScriptedClient(cancelled("None", FAILED, FAILED, watchers=watchers_item("c1")))
    assert record(client) == DeliveryWrite(duplicate=False, recorded=False)
    assert client.calls == 1


def test_watchers_found_by_the_check_are_expected_by_the_next_write() -> None:
    # Given a flow watched by c2 and c1: the first write expects nobody, and fails on them
    client = ScriptedClient(cancelled("None", "None", FAILED, watchers=watchers_item("c2", "c1")))
    # When / Then the second goes through expecting exactly them, and they are pushed to
    assert record(client) == DeliveryWrite(duplicate=False, recorded=True, watchers=("c1", "c2"))
    check = client.transactions[1][2]["ConditionCheck"]
    assert "size(connections) = :n" in check["ConditionExpression"]
    assert check["ExpressionAttributeValues"][":n"] == {"N": "2"}


def test_watchers_past_their_ttl_are_nobody() -> None:
    # Given watchers that outlived their ttl (DynamoDB has not deleted them yet), while the
    # first write expected one
    stale = watchers_item("c1", ttl=NOW - 1)
    client = ScriptedClient(
        cancelled("None", "None", FAILED, watchers=watchers_item("c1")),
        cancelled("None", "None", FAILED, watchers=stale),
    )
    assert record(client) == DeliveryWrite(duplicate=False, recorded=True, watchers=())
    assert client.calls == 3


def test_a_conflict_is_tried_again() -> None:
    client = ScriptedClient(cancelled("None", "TransactionConflict", "None"))
    assert record(client).recorded
    assert client.calls == 2


@pytest.mark.parametrize(
    "error",
    [
        cancelled("None", "ThrottlingError", "None"),
        cancelled("None", "None", "ValidationError"),
        client_error("ThrottlingException"),
        client_error("ProvisionedThroughputExceededException"),
    ],
    ids=["item-throttled", "validation", "throttled", "throughput"],
)
def test_an_outage_is_storage_unavailable_after_one_write(error: ClientError) -> None:
    client = ScriptedClient(error)
    with pytest.raises(StorageUnavailable):
        record(client)
    assert client.calls == 1


def test_endless_contention_gives_up_as_storage_unavailable() -> None:
    client = ScriptedClient(*[cancelled("None", "TransactionConflict", "None")] * WRITE_TRIES)
    with pytest.raises(StorageUnavailable):
        record(client)
    assert client.calls == WRITE_TRIES


def test_nothing_ranks_below_unknown_so_nothing_is_written() -> None:
    client = ScriptedClient()
    ledger = ledger_on(client)
    write = ledger.record("e-1", "k1", "v-1", DeliveryStatus.UNKNOWN, NOW)
    assert write == DeliveryWrite(duplicate=False, recorded=False)
    assert client.calls == 0


def test_a_cancellation_without_its_reasons_is_storage_unavailable() -> None:
    client = ScriptedClient(client_error("TransactionCanceledException", []))
    with pytest.raises(StorageUnavailable):
        record(client)
