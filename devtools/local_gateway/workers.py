"""Execution environments: one subprocess per concurrent invocation, reused while warm."""

from __future__ import annotations

import contextlib
import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any, Literal, TextIO

from .template import FunctionConfig

BOOTSTRAP = Path(__file__).with_name("_bootstrap.py")
MIN_INIT_TIMEOUT = 10.0  # Lambda's init phase limit

OutcomeKind = Literal["ok", "error", "timeout", "crash", "stopped"]


class LogSink:
    """Serialises log lines from the gateway and every worker onto one stream."""

    def __init__(self, stream: TextIO | None = None, quiet: bool = False) -> None:
        self._stream = stream
        self._quiet = quiet
        self._lock = threading.Lock()

    def write(self, text: str, *, always: bool = False) -> None:
        if self._quiet and not always:
            return
        stream = self._stream or sys.stderr
        with self._lock, contextlib.suppress(ValueError, OSError):
            stream.write(text if text.endswith("\n") else text + "\n")
            stream.flush()

    def function_line(self, function_id: str, line: str) -> None:
        self.write(f"[{function_id}] {line.rstrip()}", always=True)


@dataclass
class Outcome:
    kind: OutcomeKind
    payload: Any = None
    error: dict[str, Any] | None = None
    cold: bool = False
    pid: int | None = None
    init_ms: float | None = None
    duration_ms: float = 0.0


_TIMED_OUT = object()


class Worker:
    """One execution environment: a subprocess running ``_bootstrap.py`` for one function."""

    def __init__(self, function: FunctionConfig, env: dict[str, str], sink: LogSink) -> None:
        self.function_id = function.logical_id
        self._sink = sink
        self._messages: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self.ready = False
        self.init_ms: float | None = None
        self.proc = subprocess.Popen(  # noqa: S603 - fixed interpreter and script
            [sys.executable, "-u", "-P", str(BOOTSTRAP)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            cwd=str(function.code_dir),
            start_new_session=True,  # own process group: killed as a whole, no terminal signals
        )
        assert self.proc.stdin is not None
        assert self.proc.stdout is not None
        assert self.proc.stderr is not None
        self._stdin: IO[bytes] = self.proc.stdin
        self._write_lock = threading.Lock()
        threading.Thread(target=self._read_messages, args=(self.proc.stdout,), daemon=True).start()
        threading.Thread(target=self._read_logs, args=(self.proc.stderr,), daemon=True).start()
        self._send(
            {
                "handler": function.handler,
                "sys_path": function.python_paths,
                "parent_pid": os.getpid(),
            }
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    # -- I/O ------------------------------------------------------------------------------

    def _send(self, message: dict[str, Any]) -> bool:
        data = json.dumps(message).encode("utf-8") + b"\n"
        with self._write_lock:
            try:
                self._stdin.write(data)
                self._stdin.flush()
            except (BrokenPipeError, OSError, ValueError):
                return False
        return True

    def _read_messages(self, stream: IO[bytes]) -> None:
        with contextlib.suppress(OSError, ValueError):
            for line in stream:
                try:
                    message = json.loads(line)
                except ValueError:
                    continue
                if isinstance(message, dict):
                    self._messages.put(message)
        self._messages.put(None)

    def _read_logs(self, stream: IO[bytes]) -> None:
        with contextlib.suppress(OSError, ValueError):
            for line in stream:
                self._sink.function_line(self.function_id, line.decode("utf-8", "replace"))

    def _next(self, timeout: float) -> dict[str, Any] | object | None:
        try:
            return self._messages.get(timeout=max(timeout, 0.0))
        except queue.Empty:
            return _TIMED_OUT

    # -- lifecycle ------------------------------------------------------------------------

    def wait_ready(self, timeout: float) -> Outcome | None:
        """Wait for the cold start (handler import). None when ready, else the failure."""
        if self.ready:
            return None
        message = self._next(timeout)
        if message is _TIMED_OUT:
            return Outcome("timeout", pid=self.pid)
        if not isinstance(message, dict):
            return Outcome("crash", pid=self.pid)
        if message.get("type") == "init_error":
            return Outcome("error", error=message.get("error"), pid=self.pid)
        self.ready = True
        init_ms = message.get("init_ms")
        self.init_ms = float(init_ms) if isinstance(init_ms, (int, float)) else None
        return None

    def invoke(
        self,
        event: Any,
        request_id: str,
        timeout: float,
        arn: str,
        trace_id: str,
        function_timeout: float | None = None,
    ) -> Outcome:
        """Invoke and wait up to ``timeout`` s; the context counts down ``function_timeout``."""
        started = time.monotonic()
        budget = timeout if function_timeout is None else function_timeout
        deadline_ms = int((time.time() + budget) * 1000)
        sent = self._send(
            {
                "type": "invoke",
                "request_id": request_id,
                "event": event,
                "deadline_ms": deadline_ms,
                "arn": arn,
                "trace_id": trace_id,
            }
        )
        if not sent:
            return Outcome("crash", pid=self.pid)
        while True:
            remaining = timeout - (time.monotonic() - started)
            message = self._next(remaining + 0.05)
            elapsed = (time.monotonic() - started) * 1000
            if message is _TIMED_OUT:
                return Outcome("timeout", pid=self.pid, duration_ms=elapsed)
            if not isinstance(message, dict):
                return Outcome("crash", pid=self.pid, duration_ms=elapsed)
            if message.get("type") != "result" or message.get("request_id") != request_id:
                continue
            if message.get("ok"):
                return Outcome(
                    "ok", payload=message.get("payload"), pid=self.pid, duration_ms=elapsed
                )
            return Outcome("error", error=message.get("error"), pid=self.pid, duration_ms=elapsed)

    def close_stdin(self) -> None:
        with self._write_lock, contextlib.suppress(OSError, ValueError):
            self._stdin.close()

    def kill(self) -> None:
        """Kill the worker and anything it started (its whole process group)."""
        self.close_stdin()
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)


class PoolStopped(Exception):
    pass


class FunctionPool:
    """Workers of one function: reuse an idle (warm) one, else start one, up to a cap."""

    def __init__(
        self,
        function: FunctionConfig,
        env: dict[str, str],
        sink: LogSink,
        max_workers: int = 8,
    ) -> None:
        self.function = function
        self._env = env
        self._sink = sink
        self._max = max(1, max_workers)
        self._cond = threading.Condition()
        self._idle: list[Worker] = []
        self._all: set[Worker] = set()
        self._starting = 0
        self._closed = False

    @property
    def arn(self) -> str:
        region = self._env.get("AWS_REGION", "us-east-1")
        return f"arn:aws:lambda:{region}:123456789012:function:{self.function.logical_id}"

    def pids(self) -> list[int]:
        with self._cond:
            return sorted(worker.pid for worker in self._all)

    def _spawn_env(self) -> dict[str, str]:
        env = dict(self._env)
        stream = f"{datetime.now(UTC):%Y/%m/%d}/[$LATEST]{os.urandom(16).hex()}"
        env["AWS_LAMBDA_LOG_STREAM_NAME"] = stream
        return env

    def _acquire(self) -> tuple[Worker, bool]:
        with self._cond:
            while True:
                if self._closed:
                    raise PoolStopped
                if self._idle:
                    return self._idle.pop(), False
                if len(self._all) + self._starting < self._max:
                    self._starting += 1
                    break
                self._cond.wait(timeout=0.5)
        try:
            worker = Worker(self.function, self._spawn_env(), self._sink)
        except BaseException:
            with self._cond:
                self._starting -= 1
                self._cond.notify()
            raise
        with self._cond:
            self._starting -= 1
            self._all.add(worker)
            closed = self._closed
        if closed:
            worker.kill()
            raise PoolStopped
        return worker, True

    def _release(self, worker: Worker, healthy: bool) -> None:
        with self._cond:
            keep = healthy and not self._closed and worker.alive()
            if keep:
                self._idle.append(worker)
            else:
                self._all.discard(worker)
                with contextlib.suppress(ValueError):
                    self._idle.remove(worker)
            self._cond.notify()
        if not keep:
            worker.kill()

    def invoke(
        self,
        event: Any,
        request_id: str,
        trace_id: str = "",
        timeout: float | None = None,
    ) -> Outcome:
        """Run one invocation; ``timeout`` (seconds) caps the function's own Timeout."""
        try:
            worker, cold = self._acquire()
        except PoolStopped:
            return Outcome("stopped")
        healthy = False
        try:
            limit = float(self.function.timeout)
            timeout = limit if timeout is None else min(limit, timeout)
            if cold:
                self._sink.write(
                    f"[{self.function.logical_id}] cold start: new execution environment "
                    f"(pid {worker.pid})"
                )
                failure = worker.wait_ready(max(MIN_INIT_TIMEOUT, limit))
                if failure is not None:
                    failure.cold = True
                    if failure.kind == "timeout":
                        self._sink.function_line(
                            self.function.logical_id, "Init phase timed out; environment killed"
                        )
                    return failure
            outcome = worker.invoke(event, request_id, timeout, self.arn, trace_id, limit)
            outcome.cold = cold
            outcome.init_ms = worker.init_ms if cold else None
            if outcome.kind == "timeout":
                stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
                self._sink.function_line(
                    self.function.logical_id,
                    f"{stamp} {request_id} Task timed out after {timeout:.2f} seconds"
                    + ("" if timeout >= limit else " (API Gateway integration timeout)"),
                )
            elif outcome.kind == "crash":
                self._sink.function_line(
                    self.function.logical_id,
                    f"RequestId: {request_id} Error: Runtime exited without providing a reason",
                )
            healthy = outcome.kind in ("ok", "error")
            return outcome
        finally:
            self._release(worker, healthy)

    def stop(self, grace: float = 0.5) -> None:
        with self._cond:
            self._closed = True
            workers = list(self._all)
            self._all.clear()
            self._idle.clear()
            self._cond.notify_all()
        for worker in workers:
            worker.close_stdin()
        deadline = time.monotonic() + grace
        for worker in workers:
            with contextlib.suppress(subprocess.TimeoutExpired):
                worker.proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        for worker in workers:
            worker.kill()
