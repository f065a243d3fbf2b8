"""Execution environments: one subprocess per concurrent invocation, reused while warm."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TextIO

from .template import ACCOUNT_ID, FunctionConfig

BOOTSTRAP = Path(__file__).with_name("_bootstrap.py")
MIN_INIT_TIMEOUT = 10.0  # Lambda's init phase limit
# A test hook (the soak's function kills): (function id, request id) -> None, or N: the worker
# kills itself (SIGKILL) right after the invocation's Nth DynamoDB call has returned, a Lambda
# crash between two writes. The gateway then answers 502 as API Gateway does.
KillPlan = Callable[[str, str], int | None]


class LogSink:
    """Serialises log lines from the gateway and every worker onto one stream."""

    def __init__(self, stream: TextIO | None = None, quiet: bool = False) -> None:
        self._stream, self._quiet, self._lock = stream, quiet, threading.Lock()

    def write(self, text: str, *, always: bool = False) -> None:
        if always or not self._quiet:
            with self._lock, contextlib.suppress(ValueError, OSError):
                print(text.rstrip("\n"), file=self._stream or sys.stderr, flush=True)

    def function_line(self, function_id: str, line: str) -> None:
        self.write(f"[{function_id}] {line.rstrip()}", always=True)


@dataclass
class Outcome:
    kind: Literal["ok", "error", "timeout", "crash", "stopped"]
    payload: Any = None
    error: dict[str, Any] | None = None
    cold: bool = False
    duration_ms: float = 0.0


class Worker:
    """One execution environment: ``_bootstrap.py`` in its own process group (so that it is
    killed with anything it started), one JSON line each way per invocation."""

    def __init__(self, function: FunctionConfig, env: dict[str, str], sink: LogSink) -> None:
        self.proc = subprocess.Popen(  # noqa: S603 - fixed interpreter and script
            [sys.executable, "-u", "-P", str(BOOTSTRAP), function.handler, *function.python_paths],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=function.code_dir,
            start_new_session=True,
        )
        threading.Thread(target=self._log, args=(function.logical_id, sink), daemon=True).start()

    def _log(self, function_id: str, sink: LogSink) -> None:
        assert self.proc.stderr is not None
        with contextlib.suppress(OSError, ValueError), self.proc.stderr:
            for line in self.proc.stderr:
                sink.function_line(function_id, line.decode("utf-8", "replace"))

    def exchange(self, request: dict[str, Any] | None, timeout: float) -> Outcome:
        """Send ``request`` (None: await the cold start), read the reply; up to ``timeout`` s."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        stdin, stdout, lines = self.proc.stdin, self.proc.stdout, list[bytes]()

        def talk() -> None:
            with contextlib.suppress(OSError, ValueError):
                if request is not None:
                    stdin.write(json.dumps(request).encode() + b"\n")
                    stdin.flush()
                lines.append(stdout.readline())

        started, reader = time.monotonic(), threading.Thread(target=talk, daemon=True)
        reader.start()
        reader.join(timeout)  # a reader left behind ends when the timed-out worker is killed
        elapsed = (time.monotonic() - started) * 1000
        if reader.is_alive():
            return Outcome("timeout", duration_ms=elapsed)
        try:
            reply = json.loads(lines[0])
        except (IndexError, ValueError):  # no reply: the process died
            return Outcome("crash", duration_ms=elapsed)
        if "error" in reply:
            return Outcome("error", error=reply["error"], duration_ms=elapsed)
        return Outcome("ok", payload=reply.get("payload"), duration_ms=elapsed)

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(OSError, ValueError):
                stream.close()  # type: ignore[union-attr]


class FunctionPool:
    """Workers of one function: a warm idle one if any, else a new one; at most ``max_workers``
    invocations at a time, more wait for a free slot."""

    def __init__(
        self, function: FunctionConfig, env: dict[str, str], sink: LogSink, max_workers: int = 8
    ) -> None:
        self.function, self._env, self._sink = function, env, sink
        self._slots = threading.BoundedSemaphore(max(1, max_workers))
        self._lock = threading.Lock()
        self._idle: list[Worker] = []
        self._all: set[Worker] = set()
        self._closed = False
        self.kill_plan: KillPlan | None = None

    def pids(self) -> list[int]:
        with self._lock:
            return sorted(worker.proc.pid for worker in self._all)

    def invoke(self, event: Any, request_id: str, timeout: float | None = None) -> Outcome:
        """Run one invocation; ``timeout`` (seconds) caps the function's own Timeout."""
        while not self._slots.acquire(timeout=0.5):
            if self._closed:
                return Outcome("stopped")
        try:
            worker, cold = self._acquire()
            if worker is None:
                return Outcome("stopped")
            outcome = self._start(worker) if cold else Outcome("ok")
            healthy = outcome.kind == "ok"
            if healthy:
                outcome = self._call(worker, event, request_id, timeout)
                healthy = outcome.kind in ("ok", "error")
            outcome.cold = cold
            with self._lock:
                keep = healthy and not self._closed
                (self._idle.append if keep else self._all.discard)(worker)
            if not keep:
                worker.kill()
            return outcome
        finally:
            self._slots.release()

    def _acquire(self) -> tuple[Worker | None, bool]:
        """A warm idle worker, else a new one (cold); None once the pool is stopped."""
        with self._lock:
            if self._closed or self._idle:
                return (self._idle.pop() if self._idle else None), False
        stream = f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{os.urandom(16).hex()}"
        worker = Worker(
            self.function, {**self._env, "AWS_LAMBDA_LOG_STREAM_NAME": stream}, self._sink
        )
        with self._lock:
            self._all.add(worker)
            if not self._closed:
                return worker, True
        worker.kill()
        return None, True

    def _start(self, worker: Worker) -> Outcome:
        """Wait for the cold start (the handler's import) of a new worker."""
        name = self.function.logical_id
        self._sink.write(f"[{name}] cold start: new execution environment (pid {worker.proc.pid})")
        outcome = worker.exchange(None, max(MIN_INIT_TIMEOUT, float(self.function.timeout)))
        if outcome.kind == "timeout":
            self._sink.function_line(name, "Init phase timed out; environment killed")
        return outcome

    def _call(self, worker: Worker, event: Any, request_id: str, timeout: float | None) -> Outcome:
        name, limit = self.function.logical_id, float(self.function.timeout)
        timeout = limit if timeout is None else min(limit, timeout)
        region = self._env.get("AWS_REGION", "us-east-1")
        request = {
            "event": event,
            "request_id": request_id,
            "deadline_ms": int((time.time() + limit) * 1000),  # the context counts down Timeout
            "arn": f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{name}",
            "trace_id": f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)};Sampled=0",
        }
        plan = self.kill_plan
        kill_after = plan(name, request_id) if plan is not None else None
        if kill_after is not None:
            request["kill_after_dynamodb_calls"] = kill_after
        outcome = worker.exchange(request, timeout)
        if outcome.kind == "timeout":
            stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
            cause = "" if timeout >= limit else " (API Gateway integration timeout)"
            note = f"{stamp} {request_id} Task timed out after {timeout:.2f} seconds{cause}"
            self._sink.function_line(name, note)
        elif outcome.kind == "crash":
            note = f"RequestId: {request_id} Error: Runtime exited without providing a reason"
            self._sink.function_line(name, note)
        return outcome

    def stop(self) -> None:
        """Kill every worker (and anything it started); waiting invocations answer "stopped"."""
        with self._lock:
            self._closed = True
            workers, self._all, self._idle = list(self._all), set(), []
        for worker in workers:
            worker.kill()
