"""CPU per request of every HTTP function, on the real handlers, with bcrypt at the template's
cost (`make bench`, docs/performance.md "Memory per function").

The requests are those of the round-trip table (tests/support/round_trips.py: moto and the
Telnyx emulator in this process), made in passes on one stack, its tables emptied between
passes: the first pass warms every function (its builders, its schemas) and is dropped unless
it is the only one (the quick mode's). What is measured is the CPU time of the thread that runs
the handler (`time.thread_time`), from the handler's entry to its answer, less the CPU time
spent inside moto's emulation of a DynamoDB, SSM or SES call (not Lambda's work: there, the
call is a wait, counted as a round trip). The Telnyx emulator answers on threads of its own, so
its CPU is not counted either. CPU time, not wall time: the figures do not depend on the
machine's load.

Beside the CPU, each request's DynamoDB capacity units (read and write request units: a
transaction's items at double) and the partition keys it writes, for the cost model and the
capacity plan (devtools/perf_model).
"""

from __future__ import annotations

import io
import logging
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stdout
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import pytest
from moto.core.botocore_stubber import BotocoreStubber

from devtools.aws_resources import load_template
from devtools.perf_model.model import Measured
from devtools.telnyx_emulator import EmulatorConfig, TelnyxEmulator
from phoneverify.config import Settings
from phoneverify.domain.models import User
from phoneverify.domain.passwords import PasswordHasher
from tests.support import round_trips, round_trips_lost_phone
from tests.support.function_stack import FunctionStack, function_stack
from tests.support.lambda_env import offline_aws_environment
from tests.support.verify_stack import webhook_function

SERVICE = "phone-verify"  # POWERTOOLS_SERVICE_NAME: the functions' logger


def template_bcrypt_cost() -> int:
    """BCRYPT_COST as template.yaml sets it, else the settings' default (what Lambda runs)."""
    variables = load_template()["Globals"]["Function"]["Environment"]["Variables"]
    return int(variables.get("BCRYPT_COST", Settings.model_fields["bcrypt_cost"].default))


@dataclass
class _Request:
    function: str = ""
    cpu_s: float = 0.0
    log_bytes: int = 0
    read_units: float = 0.0
    write_units: float = 0.0
    written_keys: list[str] = field(default_factory=list)


_moto_cpu = [0.0]  # thread CPU spent inside moto's answers so far


def _timed_stubber(original: Callable[..., Any]) -> Callable[..., Any]:
    def stub(self: BotocoreStubber, event_name: str, request: Any, **kwargs: Any) -> Any:
        started = time.thread_time()
        try:
            return original(self, event_name, request, **kwargs)
        finally:
            _moto_cpu[0] += time.thread_time() - started

    return stub


READS = {"GetItem": 1.0, "Query": 1.0, "Scan": 1.0}
WRITES = {"PutItem": 1.0, "UpdateItem": 1.0, "DeleteItem": 1.0}


def capacity_units(operation: str, params: dict[str, Any]) -> tuple[float, float, list[str]]:
    """(read units, write units, partition keys written) of one DynamoDB call, items under
    4 KB read and 1 KB written: a strongly consistent read 1, an eventual one 0.5, a write 1, a
    transaction's item 2 (AWS: transactions do two reads or writes of each item)."""
    if operation in READS:
        return (1.0 if params.get("ConsistentRead") else 0.5), 0.0, []
    if operation in WRITES:
        return 0.0, 1.0, [_pk(params.get("Key") or params.get("Item") or {})]
    if operation == "TransactWriteItems":
        keys = [
            _pk(body.get("Key") or body.get("Item") or {})
            for item in params["TransactItems"]
            for body in item.values()
        ]
        return 0.0, 2.0 * len(keys), keys
    if operation == "TransactGetItems":
        return 2.0 * len(params["TransactItems"]), 0.0, []
    if operation == "BatchWriteItem":
        keys = [
            _pk(next(iter(request.values())).get("Key") or next(iter(request.values())).get("Item"))
            for requests in params["RequestItems"].values()
            for request in requests
        ]
        return 0.0, float(len(keys)), keys
    if operation == "BatchGetItem":
        count = sum(len(table["Keys"]) for table in params["RequestItems"].values())
        return 0.5 * count, 0.0, []
    return 0.0, 0.0, []


def _pk(item: dict[str, Any]) -> str:
    value = item.get("pk") or next(iter(item.values()), {"S": "?"})
    return str(next(iter(value.values())))


class CpuMeasured(round_trips._Measured):
    """The round-trip table's requests, each one's handler CPU and capacity units noted."""

    def __init__(self, stack: FunctionStack, webhook: ModuleType, cost: int) -> None:
        super().__init__(stack, webhook)
        self.hasher = PasswordHasher(cost=cost)
        self.current: _Request | None = None
        self.requests: dict[str, _Request] = {}
        self.telnyx: dict[str, tuple[int, int]] = {}
        for name, module in [*stack.functions.items(), ("webhook_telnyx", webhook)]:
            module.lambda_handler = self._timed(name, module.lambda_handler)
            module.runtime.dynamodb.meta.events.register(
                "provide-client-params.dynamodb", self._units, unique_id="cpu-per-request"
            )

    def _timed(self, name: str, handler: Callable[..., Any]) -> Callable[..., Any]:
        def timed(event: Any, context: Any) -> Any:
            written = _Written()
            moto_before, started = _moto_cpu[0], time.thread_time()
            try:
                with _logs_into(written):
                    return handler(event, context)
            finally:
                if self.current is not None:
                    spent = time.thread_time() - started - (_moto_cpu[0] - moto_before)
                    self.current.cpu_s += spent
                    self.current.function = name
                    self.current.log_bytes += written.bytes

        return timed

    def _units(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if self.current is not None:
            read, write, keys = capacity_units(model.name, params)
            self.current.read_units += read
            self.current.write_units += write
            self.current.written_keys.extend(keys)

    def account(self, phone: str) -> tuple[str, str]:
        """An account whose password hash has the template's cost (a login checks at it)."""
        user_id = f"u-{uuid.uuid4().hex[:10]}"
        email = f"{user_id}@example.com"
        user = User(user_id, email, self.hasher.hash(round_trips.PASSWORD), phone)
        self.stack.users.put_user(user, phone_verified_at=0)
        return user_id, email

    def measure(
        self, endpoint: str, request: Callable[[], round_trips.Answer], expected: int = 200
    ) -> dict[str, Any]:
        self.current = _Request()
        try:
            with round_trips.counting() as tally:
                return super().measure(endpoint, request, expected)
        finally:
            self.requests[endpoint], self.current = self.current, None
            self.telnyx[endpoint] = telnyx_kinds(tally)


def telnyx_kinds(tally: round_trips.Tally) -> tuple[int, int]:
    """(messages sent: codes and notices, codes checked) among a request's Telnyx calls."""
    sends = checks = 0
    for name, count in tally.items():
        if not name.startswith("telnyx.POST "):
            continue
        if name.endswith("/actions/verify"):
            checks += count
        elif "/verifications" in name or name.endswith("/messages"):
            sends += count
    return sends, checks


class _Written(io.TextIOBase):
    """A stream that counts what is written to it (a log line's bytes) and keeps nothing."""

    def __init__(self) -> None:
        self.bytes = 0

    def write(self, text: str) -> int:
        self.bytes += len(text.encode())
        return len(text)


@contextmanager
def _logs_into(stream: _Written) -> Iterator[None]:
    """The service's log lines (Powertools' logger) and EMF metrics (printed) into `stream`."""
    handlers = [
        h for h in logging.getLogger(SERVICE).handlers if isinstance(h, logging.StreamHandler)
    ]
    before = [handler.setStream(stream) for handler in handlers]
    try:
        with redirect_stdout(stream):
            yield
    finally:
        for handler, old in zip(handlers, before, strict=True):
            if old is not None:
                handler.setStream(old)


@contextmanager
def _moto_timed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(BotocoreStubber, "__call__", _timed_stubber(BotocoreStubber.__call__))
    yield


def _reset_with_the_right_code(run: CpuMeasured) -> None:
    """The reset's check with its right code (the table has the wrong one's): it hashes the new
    password at the template's cost."""
    phone = "+14155550111"
    _, email = run.account(phone)
    reset = run.call("password_reset_start", {"email": email})[1]
    body = {
        "flow_id": reset["flow_id"],
        "code": run.stack.code_for(phone),
        "new_password": "a brand new passphrase",
    }
    run.measure(
        "POST /password/reset/verify (account, right code)",
        lambda: run.call("password_reset_verify", body),
    )


Round = tuple[dict[str, _Request], dict[str, dict[str, int]], dict[str, tuple[int, int]]]


def _wipe(stack: FunctionStack) -> None:
    """Every item of every table deleted: the next pass's requests find what the first found
    (no account, limit or phone left over), on functions already warm."""
    client = stack.dynamodb
    for table in client.list_tables()["TableNames"]:
        keys = [
            k["AttributeName"] for k in client.describe_table(TableName=table)["Table"]["KeySchema"]
        ]
        for page in client.get_paginator("scan").paginate(TableName=table):
            for item in page["Items"]:
                client.delete_item(TableName=table, Key={key: item[key] for key in keys})


def _rewound(clock: round_trips_lost_phone.Later) -> round_trips_lost_phone.Later:
    clock.offset = 0.0
    return clock


def _passes(cost: int, passes: int) -> list[Round]:
    """The table's requests `passes` times on one stack, its tables emptied between passes."""
    monkeypatch = pytest.MonkeyPatch()
    emulator = TelnyxEmulator(EmulatorConfig(port=0, log_requests=False)).start()
    found: list[Round] = []
    try:
        offline_aws_environment(monkeypatch)
        env = {**round_trips.STACK_ENV, "BCRYPT_COST": str(cost)}
        # One clock for every pass: the completing function keeps the one it was built with.
        clock = round_trips_lost_phone.Later()
        monkeypatch.setattr(round_trips_lost_phone, "Later", lambda: _rewound(clock))
        with (
            _moto_timed(monkeypatch),
            function_stack(monkeypatch, emulator, round_trips.FUNCTIONS, env) as stack,
        ):
            run = CpuMeasured(stack, webhook_function(monkeypatch, emulator), cost)
            for _ in range(passes):
                run.requests, run.table, run.telnyx = {}, {}, {}
                round_trips.measure_all(run)
                _reset_with_the_right_code(run)
                found.append((run.requests, run.table, run.telnyx))
                _wipe(stack)
        return found
    finally:
        emulator.stop()
        monkeypatch.undo()


def measure_requests(rounds: int) -> dict[str, Measured]:
    """{endpoint: Measured}: each request's median CPU over `rounds` passes on one stack after
    a first pass that warms every function (its builders, its first request's schemas) and is
    dropped (with `rounds` 1, that one pass: figures of a first request, for the quick mode);
    the calls and capacity units of the last pass."""
    cost = template_bcrypt_cost()
    found = _passes(cost, 1 if rounds == 1 else rounds + 1)
    measured = found if rounds == 1 else found[1:]
    last, calls, telnyx = measured[-1]
    cpu = {endpoint: [requests[endpoint].cpu_s for requests, _, _ in measured] for endpoint in last}
    return {
        endpoint: Measured(
            function=request.function,
            cpu_ms=round(1000 * statistics.median(cpu[endpoint]), 1),
            dynamodb=calls[endpoint]["dynamodb"],
            ssm=calls[endpoint]["ssm"],
            telnyx=calls[endpoint]["telnyx"],
            read_units=request.read_units,
            write_units=request.write_units,
            written_keys=sorted({_key_kind(key) for key in request.written_keys}),
            telnyx_sends=telnyx[endpoint][0],
            telnyx_checks=telnyx[endpoint][1],
            log_bytes=request.log_bytes,
        )
        for endpoint, request in last.items()
    }


def _key_kind(key: str) -> str:
    """A partition key with its variable parts dropped: `SMS#budget#3` -> `SMS#budget#…`."""
    parts = key.split("#")
    kept = [part if part.isalpha() else "…" for part in parts]
    return "#".join(kept)
