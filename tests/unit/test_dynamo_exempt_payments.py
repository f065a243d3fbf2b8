"""DynamoExemptPayments on a scripted client: a payment below the threshold is counted,
checked against the account lock and written in one transaction, whose cancellation reasons
answer exactly what the count and the lock answered as writes of their own; a verified
payment's reset waits for the end of the request with the other best-effort records."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from phoneverify.adapters.dynamo import toolkit
from phoneverify.adapters.dynamo.account_lock import DynamoAccountLock
from phoneverify.adapters.dynamo.exempt_payments import DynamoExemptPayments, exempt_key
from phoneverify.adapters.dynamo.write_buffer import deferred_writes
from phoneverify.domain.errors import AccountLocked, StorageUnavailable
from phoneverify.domain.models import Exemption, Payment, PaymentStatus, StepUpReason
from phoneverify.http.errors import status_of as http_status
from phoneverify.ports.conditions import ConditionFailed
from tests.support.fakes import FakeClock
from tests.support.scripted_dynamodb import ScriptedClient, client_error

USER = "u-payer"
LIMIT = 10_000  # 100.00 USD in cents
LOCKOUT = 1_800
CLOCK = FakeClock()
PAYMENT = Payment(
    payment_id="pay_0123",
    user_id=USER,
    amount="60.00",
    currency="USD",
    recipient="Acme",
    description=None,
    status=PaymentStatus.PROCESSING,
    created_at=CLOCK.now(),
)


def exemptions_on(client: ScriptedClient) -> DynamoExemptPayments:
    failures = DynamoAccountLock(
        client,  # type: ignore[arg-type]
        "RateLimitsTable",
        max_failures=100,
        lockout_secs=LOCKOUT,
        clock=CLOCK,
    )
    return DynamoExemptPayments(client, "PaymentsTable", failures)  # type: ignore[arg-type]


def count(client: ScriptedClient, amount: int = 6_000) -> Exemption | StepUpReason:
    return exemptions_on(client).reserve_and_create(
        PAYMENT,
        amount,
        sum_currency="USD",
        cumulative_limit_minor=LIMIT,
        max_payments=5,
        now=CLOCK.now(),
    )


def cancelled(
    count: str = "None",
    lock: str = "None",
    put: str = "None",
    *,
    counted: dict[str, Any] | None = None,
    locked: dict[str, Any] | None = None,
) -> ClientError:
    """The transaction cancelled: reasons for (count, lock, payment), with the items the
    failed conditions found (ALL_OLD)."""
    items = {index: item for index, item in ((0, counted), (1, locked)) if item}
    return client_error("TransactionCanceledException", [count, lock, put], items)


SPENT_99 = {"payment_id": {"S": exempt_key(USER)}, "payments": {"N": "1"}, "sum_USD": {"N": "9900"}}
FIVE = {"payment_id": {"S": exempt_key(USER)}, "payments": {"N": "5"}, "sum_USD": {"N": "500"}}
LOCK = {
    "pk": {"S": f"fail#{USER}"},
    "failures": {"N": "100"},
    "ttl": {"N": str(int(CLOCK.now()) + 600)},
}


def test_the_count_the_lock_and_the_payment_are_one_transaction() -> None:
    client = ScriptedClient(None)
    counted = count(client)
    assert counted == Exemption(USER, "USD", 6_000, PAYMENT.payment_id)
    assert client.calls == 1
    [items] = client.transactions
    assert [next(iter(item)) for item in items] == ["Update", "ConditionCheck", "Put"]
    assert items[0]["Update"]["Key"] == {"payment_id": {"S": exempt_key(USER)}}
    assert items[1]["ConditionCheck"]["Key"] == {"pk": {"S": f"fail#{USER}"}}
    put = items[2]["Put"]["Item"]
    assert (put["payment_id"], put["status"]) == ({"S": "pay_0123"}, {"S": "processing"})


@pytest.mark.parametrize(
    ("found", "reason"),
    [(SPENT_99, StepUpReason.CUMULATIVE_AMOUNT), (FIVE, StepUpReason.PAYMENT_COUNT)],
    ids=["sum", "count"],
)
def test_a_refused_count_answers_its_reason_from_the_item_it_found(
    found: dict[str, Any], reason: StepUpReason
) -> None:
    client = ScriptedClient(cancelled("ConditionalCheckFailed", counted=found))
    assert count(client) == reason
    assert client.calls == 1  # no read: the item came back with the refusal


def test_a_refused_count_answers_before_the_lock() -> None:
    # The code's path meets the lock next, in the send limits' transaction.
    client = ScriptedClient(
        cancelled("ConditionalCheckFailed", "ConditionalCheckFailed", counted=FIVE, locked=LOCK)
    )
    assert count(client) == StepUpReason.PAYMENT_COUNT


def test_a_locked_account_is_answered_with_the_locks_retry_after() -> None:
    client = ScriptedClient(cancelled(lock="ConditionalCheckFailed", locked=LOCK))
    with pytest.raises(AccountLocked) as caught:
        count(client)
    assert (http_status(caught.value), caught.value.retry_after) == (429, 600)
    # without the item (an engine that does not return it): the whole lockout
    client = ScriptedClient(cancelled(lock="ConditionalCheckFailed"))
    with pytest.raises(AccountLocked) as caught:
        count(client)
    assert caught.value.retry_after == LOCKOUT


def test_a_taken_payment_id_is_refused_and_nothing_is_counted() -> None:
    client = ScriptedClient(cancelled(put="ConditionalCheckFailed"))
    with pytest.raises(ConditionFailed):
        count(client)


def test_conflicts_are_tried_again_then_answer_503(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(toolkit, "pause_after_conflict", lambda conflicts: None)
    conflict = cancelled("TransactionConflict")
    client = ScriptedClient(conflict, conflict, None)
    assert isinstance(count(client), Exemption)
    assert client.calls == 3
    client = ScriptedClient(*[conflict] * toolkit.CONFLICT_RETRIES)
    with pytest.raises(StorageUnavailable):
        count(client)
    assert client.calls == toolkit.CONFLICT_RETRIES


@pytest.mark.parametrize(
    "error",
    [client_error("ProvisionedThroughputExceededException"), cancelled("ThrottlingError")],
    ids=["throttled", "cancelled-throttled"],
)
def test_a_storage_failure_is_a_clean_503(error: ClientError) -> None:
    with pytest.raises(StorageUnavailable) as caught:
        count(ScriptedClient(error))
    assert http_status(caught.value) == 503


@pytest.mark.parametrize(
    "code",
    # a give-back meeting another payment's transaction on the count is refused as a conflict
    ["ProvisionedThroughputExceededException", "TransactionConflictException"],
)
def test_a_throttled_or_contended_give_back_or_reset_is_no_error(code: str) -> None:
    # A declined payment stays a 402, never a 500 or a 503, whatever its give-back met.
    client = ScriptedClient(client_error(code), client_error(code))
    exemptions = exemptions_on(client)
    exemptions.give_back(Exemption(USER, "USD", 500, PAYMENT.payment_id))
    exemptions.reset(USER)
    assert client.calls == 2


def test_the_reset_waits_for_the_end_of_the_request() -> None:
    client = ScriptedClient()
    with deferred_writes():
        exemptions_on(client).reset(USER)
        assert client.calls == 0
    assert client.requests == [
        (
            "DeleteItem",
            {"TableName": "PaymentsTable", "Key": {"payment_id": {"S": exempt_key(USER)}}},
        )
    ]
