"""The DynamoDB fault proxy: seeded throttles and 500s, outages, and a switch at run time."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, ClassVar

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from devtools.dynamodb_faults import DynamoFaultProxy, FaultSchedule


class FakeDynamo(BaseHTTPRequestHandler):
    """Answers every call `{}` and counts the calls that reached it."""

    protocol_version = "HTTP/1.1"
    reached: ClassVar[list[str]] = []

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        FakeDynamo.reached.append(self.headers.get("X-Amz-Target", ""))
        body = b"{}"
        self.send_response(200)
        self.send_header("Content-Type", "application/x-amz-json-1.0")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        return


@pytest.fixture
def upstream() -> Iterator[str]:
    FakeDynamo.reached = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeDynamo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def client(url: str) -> Any:
    return boto3.client(
        "dynamodb",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
        config=Config(retries={"total_max_attempts": 1, "mode": "standard"}),
    )


def put(dynamodb: Any) -> str:
    try:
        dynamodb.put_item(TableName="T", Item={"k": {"S": "v"}})
    except ClientError as exc:
        return str(exc.response["Error"]["Code"])
    return "ok"


def test_a_seeded_schedule_throttles_and_fails_the_same_calls_each_run(upstream: str) -> None:
    runs = []
    for _ in range(2):
        schedule = FaultSchedule(seed=7, throttle_share=0.3, error_share=0.2)
        with DynamoFaultProxy(upstream, schedule=schedule) as proxy:
            dynamodb = client(proxy.endpoint_url)
            runs.append([put(dynamodb) for _ in range(40)])
    assert runs[0] == runs[1]
    kinds = set(runs[0])
    assert kinds == {"ok", "ProvisionedThroughputExceededException", "InternalServerError"}


def test_a_throttled_call_never_reaches_the_table_and_an_error_after_does(upstream: str) -> None:
    with DynamoFaultProxy(upstream, schedule=FaultSchedule(throttle_share=1.0)) as proxy:
        assert put(client(proxy.endpoint_url)) == "ProvisionedThroughputExceededException"
        assert FakeDynamo.reached == []
        proxy.set_schedule(FaultSchedule(error_after_share=1.0))  # switched at run time
        assert put(client(proxy.endpoint_url)) == "InternalServerError"
        assert FakeDynamo.reached == ["DynamoDB_20120810.PutItem"]
        assert proxy.counts == {"throttle": 1, "error_after": 1}


def test_an_outage_fails_every_call_for_its_window_and_then_ends(upstream: str) -> None:
    now = [100.0]
    with DynamoFaultProxy(upstream, clock=lambda: now[0]) as proxy:
        dynamodb = client(proxy.endpoint_url)
        proxy.outage(5.0)
        assert [put(dynamodb) for _ in range(3)] == ["InternalServerError"] * 3
        now[0] += 5.0
        assert put(dynamodb) == "ok"
        proxy.set_schedule(FaultSchedule(outages=((10.0, 2.0),)))
        proxy.arm()
        assert put(dynamodb) == "ok"
        now[0] += 11.0
        assert put(dynamodb) == "InternalServerError"
        assert proxy.counts["outage"] == 4


def test_table_management_is_never_faulted(upstream: str) -> None:
    with DynamoFaultProxy(upstream, schedule=FaultSchedule(throttle_share=1.0)) as proxy:
        client(proxy.endpoint_url).list_tables()
        assert FakeDynamo.reached == ["DynamoDB_20120810.ListTables"]
        assert json.dumps(proxy.counts) == "{}"
