"""One contract for the password throttle: the in-memory fake the unit tests use, and the
DynamoDB adapter on moto and on AWS's DynamoDB Local (the real engine, for the races)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import boto3
import pytest
from moto import mock_aws

from phoneverify.adapters.dynamo.password_throttle import DynamoPasswordThrottle
from phoneverify.domain.errors import LoginThrottled
from phoneverify.domain.models import RequestOrigin
from phoneverify.domain.throttling import PasswordThrottlePolicy, account_key
from phoneverify.ports.abuse import PasswordThrottle
from tests.support.fakes import FakeClock, InMemoryPasswordThrottle
from tests.support.tables import rate_limits_table

ORIGIN = RequestOrigin("203.0.113.9", "pytest")
KEY = account_key("demo@example.com")
Make = Callable[[PasswordThrottlePolicy], PasswordThrottle]


@pytest.fixture(params=["memory", "moto", "dynamodb-local"])
def make(request: pytest.FixtureRequest) -> Iterator[tuple[FakeClock, Make]]:
    yield from throttles(request)


@pytest.fixture(params=["memory", "dynamodb-local"])
def racing(request: pytest.FixtureRequest) -> Iterator[tuple[FakeClock, Make]]:
    """Races need a real engine: moto does not apply conditions atomically across threads."""
    yield from throttles(request)


def throttles(request: pytest.FixtureRequest) -> Iterator[tuple[FakeClock, Make]]:
    clock = FakeClock()
    if request.param == "memory":
        yield clock, lambda policy: InMemoryPasswordThrottle(clock, policy)
        return
    if request.param == "moto":
        with mock_aws():
            client = boto3.client("dynamodb", region_name="us-east-1")
            table = rate_limits_table(client)
            yield clock, lambda policy: DynamoPasswordThrottle(client, table, policy, clock)
        return
    endpoint = request.getfixturevalue("dynamodb_local_endpoint")
    client = boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")
    table = rate_limits_table(client)
    yield clock, lambda policy: DynamoPasswordThrottle(client, table, policy, clock)


def fail(throttle: PasswordThrottle, key: str = KEY, origin: RequestOrigin = ORIGIN) -> int:
    """One wrong password; the wait it sets, or -retry_after when it was refused."""
    try:
        attempt = throttle.admit(key, origin)
    except LoginThrottled as refused:
        return -refused.retry_after
    return throttle.failed(attempt)


def test_free_failures_then_growing_waits(make: tuple[FakeClock, Make]) -> None:
    clock, new = make
    throttle = new(PasswordThrottlePolicy())
    # When
    first = [fail(throttle) for _ in range(6)]
    clock.advance(30)
    seventh = fail(throttle)
    # Then
    assert first == [0, 0, 0, 0, 30, -30]
    assert seventh == 60


def test_a_success_forgets_the_failures(make: tuple[FakeClock, Make]) -> None:
    _, new = make
    throttle = new(PasswordThrottlePolicy())
    for _ in range(4):
        fail(throttle)
    throttle.succeeded(throttle.admit(KEY, ORIGIN))
    assert [fail(throttle) for _ in range(5)] == [0, 0, 0, 0, 30]


def test_failures_past_their_memory_start_over_though_ttl_has_not_deleted_them(
    make: tuple[FakeClock, Make],
) -> None:
    clock, new = make
    throttle = new(PasswordThrottlePolicy(failure_memory_secs=3_600))
    for _ in range(5):
        fail(throttle)
    clock.advance(3_600)
    assert [fail(throttle) for _ in range(5)] == [0, 0, 0, 0, 30]


def test_a_cleared_account_starts_over(make: tuple[FakeClock, Make]) -> None:
    _, new = make
    throttle = new(PasswordThrottlePolicy())
    for _ in range(6):
        fail(throttle)
    throttle.clear(KEY)
    assert fail(throttle) == 0


def test_the_source_cap_spans_accounts_and_windows_end(make: tuple[FakeClock, Make]) -> None:
    clock, new = make
    throttle = new(PasswordThrottlePolicy(per_source=3, source_window_secs=3_600))
    answers = [fail(throttle, account_key(f"u{i}@example.com")) for i in range(4)]
    other = fail(throttle, KEY, RequestOrigin("198.51.100.1", "pytest"))
    clock.advance(3_600 - clock.now() % 3_600)
    next_window = fail(throttle, KEY)
    assert answers[:3] == [0, 0, 0] and answers[3] < 0
    assert other == 0
    assert next_window == 0


def test_a_guess_over_the_source_cap_counts_nothing_for_the_account(
    make: tuple[FakeClock, Make],
) -> None:
    clock, new = make
    throttle = new(PasswordThrottlePolicy(per_source=4, source_window_secs=3_600))
    elsewhere = RequestOrigin("198.51.100.1", "pytest")
    # Given four failures from one address, all on one account
    assert [fail(throttle) for _ in range(4)] == [0, 0, 0, 0]
    # When the address guesses again: refused by its cap until its window ends
    assert fail(throttle) == -(3_600 - int(clock.now()) % 3_600)
    # Then the account counted four: its fifth failure, from elsewhere, starts the wait
    assert fail(throttle, KEY, elsewhere) == 30
    assert fail(throttle, KEY, elsewhere) == -30


def test_a_guess_the_account_wait_refuses_counts_nothing_for_the_source(
    make: tuple[FakeClock, Make],
) -> None:
    _, new = make
    throttle = new(PasswordThrottlePolicy(per_source=6))
    # Given an account waiting after five failures, all from one address
    assert [fail(throttle) for _ in range(5)] == [0, 0, 0, 0, 30]
    # When the address guesses it again during the wait (refused)
    assert fail(throttle) == -30
    # Then the address counted five: one more failure on another account, then its cap
    assert fail(throttle, account_key("other@example.com")) == 0
    assert fail(throttle, account_key("third@example.com")) < 0


def test_a_right_password_after_failures_is_admitted_with_its_count(
    make: tuple[FakeClock, Make],
) -> None:
    _, new = make
    throttle = new(PasswordThrottlePolicy())
    for _ in range(3):
        fail(throttle)
    attempt = throttle.admit(KEY, ORIGIN)
    assert attempt.failures == 4
    throttle.succeeded(attempt)
    assert throttle.admit(KEY, ORIGIN).failures == 1


def test_concurrent_guesses_get_at_most_the_free_checks(racing: tuple[FakeClock, Make]) -> None:
    _, new = racing
    throttle = new(PasswordThrottlePolicy())

    def one(_: int) -> bool:
        try:
            throttle.admit(KEY, ORIGIN)
        except LoginThrottled:
            return False
        return True

    # When 20 guesses race, none of them finished
    with ThreadPoolExecutor(max_workers=20) as pool:
        admitted = sum(pool.map(one, range(20)))
    # Then five were let through to a password check
    assert admitted == 5


def test_a_refusal_names_whom_the_wait_s_failures_were_audited_under(
    make: tuple[FakeClock, Make],
) -> None:
    _, new = make
    throttle = new(PasswordThrottlePolicy())
    for _ in range(5):
        throttle.failed(throttle.admit(KEY, ORIGIN), "u-demo")
    with pytest.raises(LoginThrottled) as refused:
        throttle.admit(KEY, ORIGIN)
    assert refused.value.subject == "u-demo"
    # an email with no account: the subject its failures were recorded under, the same way
    other = account_key("nobody@example.com")
    for _ in range(5):
        throttle.failed(throttle.admit(other, ORIGIN), f"email#{other}")
    with pytest.raises(LoginThrottled) as refused:
        throttle.admit(other, ORIGIN)
    assert refused.value.subject == f"email#{other}"
    assert "subject" not in refused.value.extra  # never in the answer
