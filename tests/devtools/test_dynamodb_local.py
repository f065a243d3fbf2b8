"""AWS DynamoDB Local: installation, process lifetime, and the engine behaviours we rely on.

The concurrency tests run against the real DynamoDB engine (DynamoDB Local), where moto only
approximates conditional writes under contention and transaction cancellation.

The ``dynamodb_local_endpoint`` fixture comes from tests/plugins/dynamodb_local.py, which the
root tests/conftest.py registers through ``pytest_plugins``.
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from devtools.dynamodb_local import install
from devtools.dynamodb_local.errors import DynamoDBLocalError
from devtools.dynamodb_local.install import PACKAGE_VERSION, ensure_installed
from devtools.dynamodb_local.server import (
    LOCAL_ACCESS_KEY_ID,
    LOCAL_REGION,
    LOCAL_SECRET_ACCESS_KEY,
    DynamoDBLocal,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
THREADS = 20


# --------------------------------------------------------------------------- helpers


def _client(endpoint: str, **overrides: Any) -> Any:
    settings: dict[str, Any] = {
        "endpoint_url": endpoint,
        "region_name": LOCAL_REGION,
        "aws_access_key_id": LOCAL_ACCESS_KEY_ID,
        "aws_secret_access_key": LOCAL_SECRET_ACCESS_KEY,
        # One attempt: a silent SDK retry would distort the success/failure counts.
        "config": Config(max_pool_connections=THREADS + 5, retries={"total_max_attempts": 1}),
    }
    settings.update(overrides)
    return boto3.client("dynamodb", **settings)


@pytest.fixture
def ddb(dynamodb_local_endpoint: str) -> Any:
    return _client(dynamodb_local_endpoint)


@pytest.fixture
def table(ddb: Any) -> Iterator[str]:
    """A fresh single-key table (``pk`` string) on the session's DynamoDB Local."""
    name = f"test-{uuid.uuid4().hex}"
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    yield name
    ddb.delete_table(TableName=name)


def _race(workers: int, action: Callable[[int], Any]) -> list[Any]:
    """Run ``action(i)`` in ``workers`` threads released at the same instant."""
    barrier = threading.Barrier(workers)

    def run(i: int) -> Any:
        barrier.wait()
        return action(i)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(run, range(workers)))


def _error_code(exc: ClientError) -> str:
    return str(exc.response["Error"]["Code"])


def _process_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    try:  # an unreaped zombie has already released everything
        return stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return not stat.exists() and sys.platform.startswith("linux")


def _wait_gone(pid: int, timeout: float = 60.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _process_gone(pid):
            return True
        time.sleep(0.1)
    return False


# --------------------------------------------------------------------------- engine behaviour


def test_conditional_update_race_has_exactly_one_winner(ddb: Any, table: str) -> None:
    # Given a pending item
    ddb.put_item(TableName=table, Item={"pk": {"S": "verification#1"}, "status": {"S": "pending"}})

    # When 20 threads simultaneously try to move it from pending to done
    def complete(i: int) -> str:
        try:
            ddb.update_item(
                TableName=table,
                Key={"pk": {"S": "verification#1"}},
                UpdateExpression="SET #s = :done, winner = :me",
                ConditionExpression="#s = :pending",
                ExpressionAttributeNames={"#s": "status"},
                ExpressionAttributeValues={
                    ":done": {"S": "done"},
                    ":pending": {"S": "pending"},
                    ":me": {"N": str(i)},
                },
            )
        except ClientError as exc:
            return _error_code(exc)
        return f"won:{i}"

    outcomes = _race(THREADS, complete)

    # Then exactly one succeeds, the other 19 fail the condition, and the item records the winner
    winners = [o for o in outcomes if o.startswith("won:")]
    assert len(winners) == 1, outcomes
    assert outcomes.count("ConditionalCheckFailedException") == THREADS - 1, outcomes
    item = ddb.get_item(TableName=table, Key={"pk": {"S": "verification#1"}}, ConsistentRead=True)
    assert item["Item"]["status"] == {"S": "done"}
    assert f"won:{item['Item']['winner']['N']}" == winners[0]


def test_bounded_counter_stops_exactly_at_the_limit(ddb: Any, table: str) -> None:
    # Given an attempts counter at 0 and a limit of 5
    ddb.put_item(TableName=table, Item={"pk": {"S": "otp#1"}, "attempts": {"N": "0"}})

    # When 20 threads each try to increment it while it is below the limit
    def attempt(_: int) -> int | str:
        try:
            response = ddb.update_item(
                TableName=table,
                Key={"pk": {"S": "otp#1"}},
                UpdateExpression="ADD attempts :one",
                ConditionExpression="attempts < :max",
                ExpressionAttributeValues={":one": {"N": "1"}, ":max": {"N": "5"}},
                ReturnValues="UPDATED_NEW",
            )
        except ClientError as exc:
            return _error_code(exc)
        return int(response["Attributes"]["attempts"]["N"])

    outcomes = _race(THREADS, attempt)

    # Then exactly 5 increments succeed, each observing a distinct value 1..5, and the counter is 5
    successes = sorted(o for o in outcomes if isinstance(o, int))
    assert successes == [1, 2, 3, 4, 5], outcomes
    assert outcomes.count("ConditionalCheckFailedException") == THREADS - 5, outcomes
    item = ddb.get_item(TableName=table, Key={"pk": {"S": "otp#1"}}, ConsistentRead=True)
    assert item["Item"]["attempts"] == {"N": "5"}


def test_unique_email_transaction_race_has_one_winner(ddb: Any, table: str) -> None:
    # Given sign-up as one transaction: the user item plus an EMAIL# uniqueness item,
    # both guarded by attribute_not_exists
    def sign_up(user_id: str, email: str) -> dict[str, Any]:
        put = {"TableName": table, "ConditionExpression": "attribute_not_exists(pk)"}
        items = [
            {"pk": {"S": f"USER#{user_id}"}, "email": {"S": email}},
            {"pk": {"S": f"EMAIL#{email}"}, "user_id": {"S": user_id}},
        ]
        # DynamoDB may also cancel overlapping transactions with TransactionConflict; the
        # application retries those, so the racers do too. Only the final outcome counts.
        for _ in range(50):
            try:
                ddb.transact_write_items(TransactItems=[{"Put": {**put, "Item": i}} for i in items])
            except ClientError as exc:
                if _error_code(exc) != "TransactionCanceledException":
                    raise
                codes = [r.get("Code") for r in exc.response.get("CancellationReasons", [])]
                if "TransactionConflict" in codes and "ConditionalCheckFailed" not in codes:
                    time.sleep(0.01)
                    continue
                return {"user": user_id, "won": False, "codes": codes}
            return {"user": user_id, "won": True, "codes": []}
        raise AssertionError("transaction kept conflicting")

    rounds = 10
    for n in range(rounds):
        email = f"racer{n}@example.com"

        # When two different users sign up with the same email at the same instant
        def racer(i: int, email: str = email) -> dict[str, Any]:
            return sign_up(f"{email}-user{i}", email)

        outcomes = _race(2, racer)

        # Then exactly one wins; the loser's transaction is cancelled because of the EMAIL#
        # item (its own user item had no conflict) and none of its writes persisted
        winners = [o for o in outcomes if o["won"]]
        losers = [o for o in outcomes if not o["won"]]
        assert len(winners) == 1 and len(losers) == 1, outcomes
        assert losers[0]["codes"] == ["None", "ConditionalCheckFailed"], outcomes
        owner = ddb.get_item(
            TableName=table, Key={"pk": {"S": f"EMAIL#{email}"}}, ConsistentRead=True
        )
        assert owner["Item"]["user_id"] == {"S": winners[0]["user"]}
        loser_item = ddb.get_item(
            TableName=table, Key={"pk": {"S": f"USER#{losers[0]['user']}"}}, ConsistentRead=True
        )
        assert "Item" not in loser_item


def test_all_credentials_and_regions_share_one_database(
    dynamodb_local_endpoint: str, table: str
) -> None:
    # Given a table created with the default dummy credentials in us-east-1 (the fixture)
    # When a client with other credentials and another region lists tables
    other = _client(
        dynamodb_local_endpoint,
        region_name="eu-west-1",
        aws_access_key_id="someoneelse",
        aws_secret_access_key="whatever",
    )
    names = [
        n for page in other.get_paginator("list_tables").paginate() for n in page["TableNames"]
    ]

    # Then it sees the same table (-sharedDb), as Lambda handlers and tests must
    assert table in names


# --------------------------------------------------------------------------- installation


def test_ensure_installed_is_idempotent() -> None:
    # Given an installed DynamoDB Local (installs now if this runs first)
    first = ensure_installed()

    jar = (first / "DynamoDBLocal.jar").stat()

    # When it is ensured again
    second = ensure_installed()

    # Then it returns the same directory, untouched (nothing fetched or unpacked again),
    # with only the emulator's files in it
    assert second == first
    again = (first / "DynamoDBLocal.jar").stat()
    assert (again.st_ino, again.st_mtime_ns) == (jar.st_ino, jar.st_mtime_ns)
    assert (first / "DynamoDBLocal.jar").is_file()
    assert (first / "DynamoDBLocal_lib").is_dir()
    assert not (first / "package.json").exists() and not (first / "index.js").exists()
    if "DYNAMODB_LOCAL_DIR" not in os.environ:
        assert first == REPO_ROOT / ".cache" / "dynamodb-local" / PACKAGE_VERSION
    assert not list(first.parent.glob(f".{first.name}.staging-*"))


def _fake_tarball(path: Path, extra: list[tarfile.TarInfo] | None = None) -> None:
    """A miniature npm tarball with the same layout as amplify-dynamodb-simulator."""
    with tarfile.open(path, "w:gz") as archive:
        for name, data in {
            "package/package.json": b"{}",
            "package/index.js": b"",
            "package/emulator/DynamoDBLocal.jar": b"jar",
            "package/emulator/DynamoDBLocal_lib/libsqlite4java-linux-amd64.so": b"so",
        }.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for info in extra or []:
            archive.addfile(info, io.BytesIO(b"x" * info.size) if info.isfile() else None)


@dataclass
class FakeNpm:
    extra: list[tarfile.TarInfo] = field(default_factory=list)  # entries added to the tarball
    calls: int = 0


@pytest.fixture
def fake_npm(monkeypatch: pytest.MonkeyPatch) -> FakeNpm:
    """Replace `npm pack` (and the pinned-hash check) with a local miniature tarball."""
    fake = FakeNpm()

    def fake_pack(npm: str, dest: Path) -> Path:
        fake.calls += 1
        time.sleep(0.2)  # widen the window for concurrent callers
        tarball = dest / "amplify-dynamodb-simulator-fake.tgz"
        _fake_tarball(tarball, fake.extra)
        return tarball

    monkeypatch.setattr(install, "_npm_pack", fake_pack)
    monkeypatch.setattr(install, "_verify_integrity", lambda tarball: None)
    return fake


def test_concurrent_installs_download_once_and_never_expose_a_partial_dir(
    fake_npm: FakeNpm, tmp_path: Path
) -> None:
    # Given an empty cache location
    target = tmp_path / "cache" / "x"

    # When four threads install into it at the same time
    results = _race(4, lambda _: ensure_installed(target))

    # Then all get the same complete directory, the tarball was fetched once, and only the
    # emulator entries were extracted, with no staging directory left behind
    assert results == [target] * 4
    assert fake_npm.calls == 1
    assert sorted(p.relative_to(target).as_posix() for p in target.rglob("*")) == [
        ".install.json",
        "DynamoDBLocal.jar",
        "DynamoDBLocal_lib",
        "DynamoDBLocal_lib/libsqlite4java-linux-amd64.so",
    ]
    assert sorted(p.name for p in target.parent.iterdir()) == [".x.lock", "x"]


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("package/emulator/../../escape.txt", tarfile.REGTYPE),
        ("package/emulator/DynamoDBLocal_lib/link", tarfile.SYMTYPE),
        ("package/emulator/dev", tarfile.CHRTYPE),
    ],
)
def test_unsafe_tarball_entries_are_refused_and_leave_nothing_behind(
    fake_npm: FakeNpm, tmp_path: Path, name: str, kind: bytes
) -> None:
    # Given a tarball whose emulator directory contains an unsafe entry
    info = tarfile.TarInfo(name)
    info.type = kind
    if kind == tarfile.SYMTYPE:
        info.linkname = "/etc/passwd"
    elif kind == tarfile.REGTYPE:
        info.size = 1
    fake_npm.extra.append(info)
    target = tmp_path / "cache" / "x"

    # When installing from it
    with pytest.raises(DynamoDBLocalError, match="unsafe entry"):
        ensure_installed(target)

    # Then nothing was installed and nothing escaped or lingered
    assert not target.exists()
    assert sorted(p.name for p in target.parent.iterdir()) == [".x.lock"]
    assert not (tmp_path / "escape.txt").exists()


# --------------------------------------------------------------------------- process lifetime


def test_start_reports_jvm_failure_with_log_tail() -> None:
    # Given JVM options the JVM cannot start with
    server = DynamoDBLocal(java_options=["-Xmx1k"], startup_timeout=30)

    # When starting it
    with pytest.raises(DynamoDBLocalError) as error:
        server.start()

    # Then the error says it exited and quotes the JVM's own explanation
    assert "exited with code" in str(error.value)
    assert "heap" in str(error.value).lower()
    assert not server.is_running()
    # (the log is kept after a failed start so the path in the message stays valid)
    assert server.log_path is not None and str(server.log_path) in str(error.value)
    shutil.rmtree(server.log_path.parent)


def test_start_refuses_a_busy_port(dynamodb_local_endpoint: str) -> None:
    # Given a port that is already taken (by the session's server)
    busy = int(dynamodb_local_endpoint.rsplit(":", 1)[1])

    # When another server is asked to use it
    # Then it fails immediately instead of talking to the other server
    with pytest.raises(DynamoDBLocalError, match=f"port {busy} is already in use"):
        DynamoDBLocal(busy).start()


def test_stop_terminates_the_jvm() -> None:
    # Given a running server
    with DynamoDBLocal() as server:
        pid = server.pid
        assert _client(server.endpoint_url).list_tables()["TableNames"] == []
        log_path = server.log_path

    # When the context exits, then the JVM is gone and its temporary run directory removed
    assert _wait_gone(pid)
    assert log_path is not None and not log_path.exists()


_CHILD = """
import sys, time
from devtools.dynamodb_local import process
from devtools.dynamodb_local.server import DynamoDBLocal
process._PARENT_DEATH_MECHANISM = sys.argv[1]
server = DynamoDBLocal().start()
print(server.pid, server.log_path, flush=True)
time.sleep(600)
"""


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
@pytest.mark.parametrize(
    ("mechanism", "sig"),
    [
        pytest.param("pdeathsig", signal.SIGTERM, id="sigterm-pdeathsig"),
        pytest.param("watchdog", signal.SIGKILL, id="sigkill-watchdog"),
    ],
)
def test_jvm_does_not_outlive_its_python_process(mechanism: str, sig: signal.Signals) -> None:
    if mechanism == "pdeathsig" and not sys.platform.startswith("linux"):
        pytest.skip("PR_SET_PDEATHSIG is Linux-only")
    # Given a Python process running DynamoDB Local
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, mechanism],
        cwd=REPO_ROOT,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
        stdout=subprocess.PIPE,
        text=True,
    )
    java_pid: int | None = None
    run_dir: Path | None = None
    try:
        assert child.stdout is not None
        line = child.stdout.readline().split()
        assert len(line) == 2 and line[0].isdigit(), f"child did not report a pid: {line!r}"
        java_pid, run_dir = int(line[0]), Path(line[1]).parent
        assert not _process_gone(java_pid)

        # When that Python process is killed without a chance to clean up
        child.send_signal(sig)
        child.wait(timeout=10)

        # Then the JVM goes away too
        assert _wait_gone(java_pid), f"DynamoDB Local (pid {java_pid}) outlived its parent"
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        if java_pid is not None and not _process_gone(java_pid):
            os.kill(java_pid, signal.SIGKILL)
        if run_dir is not None:  # the killed child had no chance to remove it
            shutil.rmtree(run_dir, ignore_errors=True)
