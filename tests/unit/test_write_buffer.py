"""Best-effort writes (audit records, a wrong-code count's reset) made once per request: one
call for all of a request's records, none lost to an error answer or to another request on
another thread, unprocessed items tried once more and then logged."""

from __future__ import annotations

import logging
import threading
from contextlib import AbstractContextManager
from typing import Any

import pytest
from aws_lambda_powertools import Metrics

from phoneverify.adapters.dynamo.account_lock import DynamoAccountLock
from phoneverify.adapters.dynamo.audit import DynamoAuditTrail
from phoneverify.adapters.dynamo.write_buffer import (
    MAX_BATCH,
    RETRY_BACKOFF_SECS,
    deferred_writes,
)
from phoneverify.domain.audit_events import VerificationEvent, VerificationEventType
from phoneverify.domain.errors import InvalidCode
from phoneverify.domain.models import FlowKind
from phoneverify.domain.phones import mask_phone
from phoneverify.http.app import http_app, lambda_handler_for
from tests.support.builders import ORIGIN, PHONE
from tests.support.fakes import FakeClock
from tests.support.lambda_env import LambdaContext, api_event
from tests.support.scripted_dynamodb import ScriptedClient, client_error

AT = 1_800_000_000.0


def trail_on(client: ScriptedClient) -> DynamoAuditTrail:
    return DynamoAuditTrail(client, "AuditTable", retention_secs=86_400)  # type: ignore[arg-type]


def counter_on(client: ScriptedClient) -> DynamoAccountLock:
    return DynamoAccountLock(
        client,  # type: ignore[arg-type]
        "RateLimitsTable",
        max_failures=5,
        lockout_secs=900,
        clock=FakeClock(AT),
    )


def event(kind: VerificationEventType, subject: str = "u-1", at: float = AT) -> VerificationEvent:
    return VerificationEvent(
        type=kind,
        kind=FlowKind.LOGIN,
        subject=subject,
        masked_phone=mask_phone(PHONE),
        at=at,
        origin=ORIGIN,
        detail={"attempts": 1},
    )


def batch_items(request: dict[str, Any]) -> list[dict[str, Any]]:
    return [write for writes in request["RequestItems"].values() for write in writes]


def subjects_in(request: dict[str, Any]) -> list[str]:
    return [
        write["PutRequest"]["Item"]["subject"]["S"]
        for write in batch_items(request)
        if "PutRequest" in write
    ]


def test_outside_a_request_each_record_is_written_at_once() -> None:
    # Given no request open (a script, a test calling the adapter)
    client = ScriptedClient()
    trail = trail_on(client)
    # When two events are recorded
    trail.record(event(VerificationEventType.SENT))
    assert [operation for operation, _ in client.requests] == ["PutItem"]
    trail.record(event(VerificationEventType.ACCEPTED))
    # Then each is its own PutItem, made when it is recorded
    assert [operation for operation, _ in client.requests] == ["PutItem", "PutItem"]


def test_a_requests_records_go_in_one_call_when_it_ends() -> None:
    # Given a request that records three events and resets the account's wrong-code count
    client = ScriptedClient()
    trail, counter = trail_on(client), counter_on(client)
    with deferred_writes():
        trail.record(event(VerificationEventType.PASSWORD_ACCEPTED))
        trail.record(event(VerificationEventType.SENT))
        counter.reset("u-1")
        trail.record(event(VerificationEventType.ACCEPTED))
        # Then nothing is written while it runs
        assert client.requests == []
    # And one BatchWriteItem writes all four when it ends
    [(operation, request)] = client.requests
    assert operation == "BatchWriteItem"
    assert len(request["RequestItems"]["AuditTable"]) == 3
    assert request["RequestItems"]["RateLimitsTable"] == [
        {"DeleteRequest": {"Key": {"pk": {"S": "fail#u-1"}}}}
    ]


def test_a_single_record_is_a_single_put() -> None:
    client = ScriptedClient()
    with deferred_writes():
        trail_on(client).record(event(VerificationEventType.REJECTED))
    assert [operation for operation, _ in client.requests] == ["PutItem"]
    assert client.requests[0][1]["TableName"] == "AuditTable"


def test_a_lone_reset_is_a_single_delete() -> None:
    client = ScriptedClient()
    with deferred_writes():
        counter_on(client).reset("u-1")
        counter_on(client).reset("u-1")  # the same item twice: deleted once
    assert client.requests == [
        ("DeleteItem", {"TableName": "RateLimitsTable", "Key": {"pk": {"S": "fail#u-1"}}})
    ]


def test_an_error_answer_still_writes_its_records() -> None:
    # Given a request whose code was wrong: its REJECTED event is recorded, then it fails
    client = ScriptedClient()
    trail = trail_on(client)
    with pytest.raises(InvalidCode), deferred_writes():
        trail.record(event(VerificationEventType.REJECTED))
        trail.record(event(VerificationEventType.LOCKED))
        raise InvalidCode(0)
    # Then the error is answered and both events are written all the same
    [(operation, request)] = client.requests
    assert operation == "BatchWriteItem"
    assert [write["PutRequest"]["Item"]["event"]["S"] for write in batch_items(request)] == [
        "rejected",
        "locked",
    ]


def test_more_records_than_a_batch_holds_take_one_batch_per_25() -> None:
    client = ScriptedClient()
    with deferred_writes():
        for second in range(MAX_BATCH + 1):
            trail_on(client).record(event(VerificationEventType.SENT, at=AT + second))
    assert [len(batch_items(request)) for _, request in client.requests] == [MAX_BATCH, 1]


def test_concurrent_requests_on_threads_keep_their_own_records() -> None:
    # Given eight requests handled at once on eight threads (the local gateway's way), their
    # records interleaved in time
    client = ScriptedClient()
    trail = trail_on(client)
    ready = threading.Barrier(8)
    errors: list[BaseException] = []

    def request(subject: str) -> None:
        try:
            with deferred_writes():
                trail.record(event(VerificationEventType.PASSWORD_ACCEPTED, subject))
                ready.wait(timeout=30)
                trail.record(event(VerificationEventType.SENT, subject))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=request, args=(f"u-{n}",)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    # Then each request wrote its own two records in one call, and only its own
    assert errors == []
    written = sorted(subjects_in(request) for _, request in client.requests)
    assert written == sorted([f"u-{n}", f"u-{n}"] for n in range(8))
    assert {operation for operation, _ in client.requests} == {"BatchWriteItem"}


class Unprocessing(ScriptedClient):
    """A batch leaves unprocessed the audit records of the subjects named for its call."""

    def __init__(self, *subjects_per_call: set[str]) -> None:
        super().__init__()
        self.leave = list(subjects_per_call)

    def batch_write_item(self, **request: Any) -> dict[str, Any]:
        super().batch_write_item(**request)
        subjects = self.leave.pop(0) if self.leave else set()
        left = [
            write
            for write in request["RequestItems"].get("AuditTable", [])
            if write["PutRequest"]["Item"]["subject"]["S"] in subjects
        ]
        return {"UnprocessedItems": {"AuditTable": left} if left else {}}


def test_unprocessed_records_are_retried_once_then_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given DynamoDB leaving two records unprocessed, then one of them again
    client = Unprocessing({"u-2", "u-3"}, {"u-3"})
    trail = trail_on(client)
    waits: list[float] = []
    # When a request records three events
    with caplog.at_level(logging.INFO), deferred_writes(sleep=waits.append):
        for subject in ("u-1", "u-2", "u-3"):
            trail.record(event(VerificationEventType.SENT, subject))
    # Then the unprocessed two are sent once more after a short wait
    assert [sorted(subjects_in(request)) for _, request in client.requests] == [
        ["u-1", "u-2", "u-3"],
        ["u-2", "u-3"],
    ]
    assert waits == [RETRY_BACKOFF_SECS]
    # And the one left is logged as a failed audit write, masked phone only, never the phone
    failures = [r for r in caplog.records if r.getMessage() == "audit write failed"]
    assert [getattr(r, "subject", None) for r in failures] == ["u-3"]
    assert getattr(failures[0], "masked_phone", None) == mask_phone(PHONE)
    assert not [r for r in caplog.records if PHONE in str(vars(r))]


def test_a_throttled_batch_loses_no_request_and_logs_each_record(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Given DynamoDB throttling the whole batch
    client = ScriptedClient(client_error("ProvisionedThroughputExceededException"))
    trail, counter = trail_on(client), counter_on(client)
    # When the request ends
    with caplog.at_level(logging.INFO), deferred_writes():
        trail.record(event(VerificationEventType.ACCEPTED))
        counter.reset("u-1")
    # Then nothing is raised, and each record is in the logs
    messages = [r.getMessage() for r in caplog.records]
    assert messages.count("audit write failed") == 1
    assert messages.count("failure count not reset") == 1


class HandlerRuntime:
    """What lambda_handler_for needs of a function's runtime: metrics and the request scope."""

    def __init__(self) -> None:
        self.metrics = Metrics(namespace="Test", service="test")

    def request_scope(self, request_id: str | None = None) -> AbstractContextManager[None]:
        return deferred_writes()


def test_the_handler_writes_a_requests_records_even_when_it_fails() -> None:
    # Given an endpoint that records two events, then fails unexpectedly
    client = ScriptedClient()
    trail = trail_on(client)
    app = http_app("https://app.example.com")

    @app.post("/boom")
    def boom() -> dict[str, str]:
        trail.record(event(VerificationEventType.REJECTED))
        trail.record(event(VerificationEventType.LOCKED))
        raise RuntimeError("a bug")

    handler = lambda_handler_for(app, HandlerRuntime())
    # When it is called as Lambda calls it
    response = handler(api_event("/boom", {}), LambdaContext(function_name="boom"))  # type: ignore[arg-type]
    # Then it answers 500, and both events were written, in one call
    assert response["statusCode"] == 500
    assert [operation for operation, _ in client.requests] == ["BatchWriteItem"]
    assert len(batch_items(client.requests[0][1])) == 2
