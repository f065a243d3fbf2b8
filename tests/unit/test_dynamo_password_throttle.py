"""The password throttle on a scripted client. An attempt: one transaction counts it for the
source and the account, or, refused or failing, counts it nowhere (no give-back call). The
right-password path: one transaction clears the account and gives the source its count back;
a cancelled one falls back to each on its own, and a storage failure never fails the sign-in."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from phoneverify.adapters.dynamo import toolkit
from phoneverify.adapters.dynamo.password_throttle import DynamoPasswordThrottle
from phoneverify.domain.errors import LoginThrottled, StorageUnavailable
from phoneverify.domain.models import PasswordAttempt, RequestOrigin
from phoneverify.domain.throttling import PasswordThrottlePolicy
from tests.support.fakes import FakeClock
from tests.support.scripted_dynamodb import ScriptedClient, client_error

ATTEMPT = PasswordAttempt("acct-key", "pwsrc#digest#0", 1)


def throttle_on(client: ScriptedClient) -> DynamoPasswordThrottle:
    return DynamoPasswordThrottle(
        client,  # type: ignore[arg-type]
        "RateLimitsTable",
        PasswordThrottlePolicy(),
        FakeClock(),
    )


@pytest.mark.parametrize(
    ("script", "requests"),
    [
        ([None], 1),
        ([client_error("TransactionCanceledException", ["None", "ConditionalCheckFailed"])], 3),
        ([client_error("ThrottlingException")], 1),
    ],
    ids=["one-transaction", "source-gone-then-each-alone", "throttled"],
)
def test_a_right_password_clears_the_account_in_one_request_when_it_can(
    script: list[ClientError | None], requests: int
) -> None:
    client = ScriptedClient(*script)
    throttle_on(client).succeeded(ATTEMPT)  # never raises: the password was right
    assert client.calls == requests


ORIGIN = RequestOrigin("203.0.113.9", "pytest")
NOW = FakeClock().now()


def cancelled(*reasons: str, account: dict[str, Any] | None = None) -> ClientError:
    """The attempt's transaction cancelled: reasons for (source, account), and the account's
    item as its failed condition found it."""
    return client_error(
        "TransactionCanceledException", list(reasons), {1: account} if account else None
    )


def account_item(failures: int, until: float, ttl: float) -> dict[str, Any]:
    return {
        "pk": {"S": "pwfail#acct-key"},
        "failures": {"N": str(failures)},
        "until": {"N": str(until)},
        "ttl": {"N": str(int(ttl))},
    }


def test_an_attempt_without_recent_failures_is_one_transaction_of_both_counts() -> None:
    client = ScriptedClient(None)
    attempt = throttle_on(client).admit("acct-key", ORIGIN)
    assert attempt.failures == 1
    assert client.calls == 1
    (source, account) = client.transactions[0]
    assert source["Update"]["Key"]["pk"]["S"].startswith("pwsrc#")
    assert account["Update"]["Key"]["pk"]["S"] == "pwfail#acct-key"


def test_after_failures_the_count_found_is_counted_on_in_a_second_transaction() -> None:
    client = ScriptedClient(
        cancelled("None", "ConditionalCheckFailed", account=account_item(2, NOW - 1, NOW + 60)),
        None,
    )
    attempt = throttle_on(client).admit("acct-key", ORIGIN)
    assert attempt.failures == 3
    assert client.calls == 2
    values = client.transactions[1][1]["Update"]["ExpressionAttributeValues"]
    assert (values[":previous"], values[":next"]) == ({"N": "2"}, {"N": "3"})


def test_the_source_cap_refuses_in_one_call_with_nothing_to_give_back() -> None:
    client = ScriptedClient(cancelled("ConditionalCheckFailed", "ConditionalCheckFailed"))
    with pytest.raises(LoginThrottled) as refused:
        throttle_on(client).admit("acct-key", ORIGIN)
    assert refused.value.retry_after == PasswordThrottlePolicy().source_retry_after(NOW)
    assert client.calls == 1


def test_a_waiting_account_is_refused_with_its_wait_and_nothing_to_give_back() -> None:
    waiting = account_item(5, NOW + 42, NOW + 86_400)
    client = ScriptedClient(cancelled("None", "ConditionalCheckFailed", account=waiting))
    with pytest.raises(LoginThrottled) as refused:
        throttle_on(client).admit("acct-key", ORIGIN)
    assert refused.value.retry_after == 42
    assert client.calls == 1


@pytest.mark.parametrize(
    "script",
    [
        [client_error("ThrottlingException")],
        [cancelled("ThrottlingError", "None")],
        [cancelled("None", "ValidationError")],
        [cancelled("TransactionConflict", "None")] * 8,
    ],
    ids=["throttled", "throttled-item", "cancelled-otherwise", "endless-conflicts"],
)
def test_an_attempt_the_table_cannot_count_is_a_clean_503(
    script: list[ClientError], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(toolkit.time, "sleep", lambda _: None)
    client = ScriptedClient(*script)
    with pytest.raises(StorageUnavailable):
        throttle_on(client).admit("acct-key", ORIGIN)
    assert client.calls == len(script)
