"""Best-effort writes, one DynamoDB call per request (docs/performance.md, "Best-effort
writes").

Some writes are records of what happened, not state transitions: an audit event, the reset of
an account's wrong-code count after an accepted code. Nothing in the request reads them back,
and when one fails it is logged, never answered. While a request is handled (inside
`deferred_writes()`, which every entry point opens through `Runtime.request_scope`, wrapped
by `http/request_end.py` `writes_buffered_records_at_request_end`) they are
collected; when the request ends, answer or error, they are written in one call: a `PutItem`
or `DeleteItem` for one, a `BatchWriteItem` for several (25 a batch), whose unprocessed items
are sent once more after `RETRY_BACKOFF_SECS`. A write still not done is handed to its
`failed` callback, which logs it as its adapter always has.

Outside a request (a script, a test calling an adapter) each write is made at once.

The buffer is a context variable: each request (each thread of the local gateway) has its
own. State transitions never come here: they stay conditional writes, made at once.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from botocore.exceptions import ClientError

from phoneverify.adapters.dynamo.toolkit import dynamodb_errors, to_item
from phoneverify.domain.errors import StorageUnavailable

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
else:
    DynamoDBClient = Any

logger = Logger(child=True)

MAX_BATCH = 25  # BatchWriteItem's limit of items per call
# The wait before unprocessed items (a throttled partition) are sent once more: short, as the
# answer waits for it; a write still unprocessed then is logged as failed.
RETRY_BACKOFF_SECS = 0.05

Sleep = Callable[[float], None]


@dataclass(frozen=True)
class BestEffortWrite:
    """One PutItem or DeleteItem whose failure is logged by `failed`, never raised."""

    client: DynamoDBClient
    table: str
    key: Mapping[str, Any]  # the item's key, as attribute values
    request: Mapping[str, Any]  # {"PutRequest": {"Item": ...}} or {"DeleteRequest": {...}}
    failed: Callable[[], None]

    @property
    def identity(self) -> tuple[str, str]:
        return self.table, json.dumps(self.key, sort_keys=True)


class _Buffer:
    def __init__(self) -> None:
        self._lock = threading.Lock()  # a worker thread of the request may share the context
        self._writes: list[BestEffortWrite] = []

    def add(self, write: BestEffortWrite) -> None:
        with self._lock:
            self._writes.append(write)

    def take(self) -> list[BestEffortWrite]:
        with self._lock:
            writes, self._writes = self._writes, []
        return writes


_BUFFER: ContextVar[_Buffer | None] = ContextVar("best_effort_writes", default=None)


@contextmanager
def deferred_writes(sleep: Sleep = time.sleep) -> Iterator[None]:
    """Collect the best-effort writes made inside the block; write them when it ends, however
    it ends (an error answer keeps its audit records)."""
    buffer = _Buffer()
    token = _BUFFER.set(buffer)
    try:
        yield
    finally:
        _BUFFER.reset(token)
        _write_all(buffer.take(), sleep)


def write_buffered_now(sleep: Sleep = time.sleep) -> None:
    """Write what this request has collected so far, now (nothing outside a request): for a
    step that must see those records in the table (the deletion's audit pseudonymisation)."""
    buffer = _BUFFER.get()
    if buffer is not None:
        _write_all(buffer.take(), sleep)


def put_best_effort(
    client: DynamoDBClient,
    table: str,
    values: Mapping[str, Any],
    key_names: Sequence[str],
    failed: Callable[[], None],
) -> None:
    """Put the item of plain `values` (its key attributes named by `key_names`), unconditionally:
    at the end of the request, or at once outside one."""
    item = to_item(values)
    key = {name: item[name] for name in key_names}
    _submit(BestEffortWrite(client, table, key, {"PutRequest": {"Item": item}}, failed))


def delete_best_effort(
    client: DynamoDBClient, table: str, key: Mapping[str, Any], failed: Callable[[], None]
) -> None:
    """Delete the item under the plain `key`, unconditionally: at the end of the request, or
    at once outside one."""
    attributes = to_item(key)
    _submit(
        BestEffortWrite(client, table, attributes, {"DeleteRequest": {"Key": attributes}}, failed)
    )


def _submit(write: BestEffortWrite) -> None:
    buffer = _BUFFER.get()
    if buffer is None:
        _write_all([write])
    else:
        buffer.add(write)


def _write_all(writes: Sequence[BestEffortWrite], sleep: Sleep = time.sleep) -> None:
    """Write `writes` in as few calls as their clients allow: the last write of an item wins,
    as it would have one after the other (BatchWriteItem refuses an item twice)."""
    by_client: dict[int, dict[tuple[str, str], BestEffortWrite]] = {}
    for write in writes:
        latest = by_client.setdefault(id(write.client), {})
        latest.pop(write.identity, None)
        latest[write.identity] = write
    for latest in by_client.values():
        unique = list(latest.values())
        if len(unique) == 1:
            _write_one(unique[0])
        else:
            for start in range(0, len(unique), MAX_BATCH):
                _write_batch(unique[start : start + MAX_BATCH], sleep)


def _write_one(write: BestEffortWrite) -> None:
    try:
        with dynamodb_errors():
            if "PutRequest" in write.request:
                write.client.put_item(TableName=write.table, **write.request["PutRequest"])
            else:
                write.client.delete_item(TableName=write.table, **write.request["DeleteRequest"])
    except (StorageUnavailable, ClientError) as exc:
        _refused(exc, [write])


def _write_batch(writes: list[BestEffortWrite], sleep: Sleep) -> None:
    client = writes[0].client
    at_stake = writes
    try:
        with dynamodb_errors():
            unprocessed = _batch_call(client, _request_items(writes))
            if unprocessed:
                at_stake = _matching(writes, unprocessed)
                sleep(RETRY_BACKOFF_SECS)
                unprocessed = _batch_call(client, unprocessed)
    except (StorageUnavailable, ClientError) as exc:
        _refused(exc, at_stake)
        return
    lost = _matching(writes, unprocessed)
    if lost:
        logger.warning("best-effort writes unprocessed twice", extra={"writes": len(lost)})
    for write in lost:
        write.failed()


def _batch_call(client: DynamoDBClient, items: Mapping[str, Any]) -> dict[str, Any]:
    answer = client.batch_write_item(RequestItems=items)
    return dict(answer.get("UnprocessedItems") or {})


def _request_items(writes: Sequence[BestEffortWrite]) -> dict[str, list[Mapping[str, Any]]]:
    items: dict[str, list[Mapping[str, Any]]] = {}
    for write in writes:
        items.setdefault(write.table, []).append(write.request)
    return items


def _matching(
    writes: Sequence[BestEffortWrite], unprocessed: Mapping[str, Any]
) -> list[BestEffortWrite]:
    """The writes whose request is in `unprocessed` (BatchWriteItem's UnprocessedItems)."""
    left = set()
    for write in writes:
        for request in unprocessed.get(write.table, []):
            if "DeleteRequest" in request:
                key = request["DeleteRequest"]["Key"]
            else:
                key = {name: request["PutRequest"]["Item"].get(name) for name in write.key}
            if key == write.key:
                left.add(write.identity)
    return [write for write in writes if write.identity in left]


def _refused(exc: Exception, writes: Sequence[BestEffortWrite]) -> None:
    code = exc.response.get("Error", {}).get("Code") if isinstance(exc, ClientError) else None
    logger.warning(
        "best-effort writes refused",
        extra={"writes": len(writes), "error": type(exc).__name__, "error_code": code},
    )
    for write in writes:
        write.failed()
