"""A fault proxy in front of DynamoDB Local: throttling, 500s and outages, seeded.

DynamoDB Local runs in memory, so restarting it would be a wipe, not an outage. The functions
are pointed at this proxy instead (``AWS_ENDPOINT_URL_DYNAMODB``); it forwards each call to
DynamoDB Local unless the schedule says otherwise:

* ``throttle_share`` of calls answer 400 ``ProvisionedThroughputExceededException`` (nothing
  written), as DynamoDB does when a partition is hot;
* ``error_share`` answer 500 ``InternalServerError`` before the call reaches the table, and
  ``error_after_share`` after it did (the write is made, the answer lost: DynamoDB documents
  that a 500 leaves the outcome unknown);
* during an outage (``outage(seconds)``, or ``outages`` in the schedule, seconds after
  ``arm()``) every call answers 500.

The draws come from ``random.Random(seed)``, one per call in arrival order, so a run with the
same seed and the same order of calls sees the same faults. ``set_schedule`` switches the
schedule at run time; ``counts`` says what was done. Only the data plane is faulted (table
management calls pass), so tables can be created and read back through the proxy.
"""

from __future__ import annotations

import json
import random
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

PREFIX = "com.amazonaws.dynamodb.v20120810#"
PASSED_THROUGH = {"CreateTable", "DeleteTable", "DescribeTable", "ListTables", "UpdateTable"}
THROTTLED = (
    400,
    "ProvisionedThroughputExceededException",
    "The level of configured provisioned "
    "throughput for the table was exceeded. Consider increasing your provisioning level",
)
INTERNAL = (500, "InternalServerError", "Internal server error")


@dataclass(frozen=True)
class FaultSchedule:
    seed: int = 0
    throttle_share: float = 0.0
    error_share: float = 0.0
    error_after_share: float = 0.0
    outages: tuple[tuple[float, float], ...] = ()  # (start, seconds) after arm()


class DynamoFaultProxy:
    def __init__(
        self,
        upstream: str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        schedule: FaultSchedule | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.upstream = upstream.rstrip("/")
        self._clock = clock
        self._lock = threading.Lock()
        self.counts: Counter[str] = Counter()
        self._outages: list[tuple[float, float]] = []
        self._http = httpx.Client(timeout=60)
        self.set_schedule(schedule or FaultSchedule())
        self._server = ThreadingHTTPServer((host, port), _handler_for(self))
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # -- control ---------------------------------------------------------------------------
    def set_schedule(self, schedule: FaultSchedule) -> None:
        """Switch the schedule now (its draws restart from its seed; its outages are armed by
        ``arm()``)."""
        with self._lock:
            self.schedule, self._random = schedule, random.Random(schedule.seed)  # noqa: S311

    def arm(self) -> None:
        """Start the schedule's outage windows, counted from now."""
        now = self._clock()
        with self._lock:
            self._outages = [
                (now + start, now + start + secs) for start, secs in self.schedule.outages
            ]

    def outage(self, seconds: float) -> None:
        """Fail every call from now for ``seconds``."""
        now = self._clock()
        with self._lock:
            self._outages.append((now, now + seconds))

    def decide(self, target: str) -> str:
        """``pass``, ``throttle``, ``error``, ``error_after`` or ``outage`` for one call."""
        if target in PASSED_THROUGH:
            return "pass"
        now = self._clock()
        with self._lock:
            if any(start <= now < end for start, end in self._outages):
                verdict = "outage"
            else:
                s, draw = self.schedule, self._random.random()
                verdict = (
                    "throttle"
                    if draw < s.throttle_share
                    else "error"
                    if draw < s.throttle_share + s.error_share
                    else "error_after"
                    if draw < s.throttle_share + s.error_share + s.error_after_share
                    else "pass"
                )
            self.counts[verdict] += 1
        return verdict

    # -- serving ---------------------------------------------------------------------------
    @property
    def endpoint_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> DynamoFaultProxy:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._http.close()

    def __enter__(self) -> DynamoFaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def forward(
        self, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        target = headers.get("x-amz-target", "").rpartition(".")[2]
        verdict = self.decide(target)
        if verdict in ("throttle", "error", "outage"):
            return _error(*(THROTTLED if verdict == "throttle" else INTERNAL))
        response = self._http.post(self.upstream + path, content=body, headers=headers)
        if verdict == "error_after":
            return _error(*INTERNAL)
        keep = ("content-type", "x-amzn-requestid", "x-amz-crc32")
        return (
            response.status_code,
            {k: v for k, v in response.headers.items() if k in keep},
            response.content,
        )


def _error(status: int, kind: str, message: str) -> tuple[int, dict[str, str], bytes]:
    body = json.dumps({"__type": PREFIX + kind, "message": message}).encode()
    return status, {"content-type": "application/x-amz-json-1.0"}, body


def _handler_for(proxy: DynamoFaultProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            skip = {"host", "content-length", "connection", "accept-encoding"}
            headers = {k.lower(): v for k, v in self.headers.items() if k.lower() not in skip}
            try:
                status, out_headers, out = proxy.forward(self.path, headers, body)
            except httpx.HTTPError:
                status, out_headers, out = _error(*INTERNAL)
            self.send_response(status)
            for name, value in out_headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

        def log_message(self, *args: Any) -> None:  # quiet
            return

    return Handler
