"""The password throttle's right-password path on a scripted client: one transaction clears
the account and gives the source its count back; a cancelled one falls back to each on its
own, and a storage failure never fails the sign-in."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from phoneverify.adapters.dynamo.password_throttle import DynamoPasswordThrottle
from phoneverify.domain.models import PasswordAttempt
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
