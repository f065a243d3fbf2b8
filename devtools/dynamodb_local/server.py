"""Running one DynamoDB Local server: start the JVM, wait until it answers, stop it.

The server always runs with ``-inMemory -sharedDb``: without ``-sharedDb`` DynamoDB Local keeps a
separate database per access key and region, so a Lambda handler and a test fixture configured
with different dummy credentials or regions would not see each other's tables.
"""

from __future__ import annotations

import logging
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType
from typing import IO, Self

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from devtools.dynamodb_local import process
from devtools.dynamodb_local.errors import (
    LOG_TAIL_LINES,
    DynamoDBLocalError,
    PortInUseError,
    tail,
)
from devtools.dynamodb_local.install import JAR, LIB_DIR, ensure_installed, find_java

log = logging.getLogger(__name__)

# DynamoDB Local accepts any credentials; access keys must be alphanumeric.
LOCAL_REGION = "us-east-1"
LOCAL_ACCESS_KEY_ID = "local"
LOCAL_SECRET_ACCESS_KEY = "local"  # noqa: S105 - dummy; DynamoDB Local accepts any

# DynamoDB Local does not exit when its port is taken; it logs this and keeps running.
_BIND_FAILURE_MARKERS = ("Failed to bind", "java.net.BindException")


class DynamoDBLocal:
    """One in-memory, shared-database DynamoDB Local server.

    Use as a context manager or call :meth:`start` / :meth:`stop`. The JVM runs in its own
    process group, is stopped by :meth:`stop`, at interpreter exit, and (Linux) by the kernel if
    this process dies abruptly. On Linux that last guarantee is tied to the *thread* that
    called :meth:`start`, so start it from a thread that lives as long as you need the server
    (e.g. the main thread).
    """

    def __init__(
        self,
        port: int | None = None,
        *,
        install_dir: Path | None = None,
        startup_timeout: float = 60.0,
        log_path: Path | None = None,
        java_options: Sequence[str] = (),
    ) -> None:
        """
        Args:
            port: TCP port to listen on; ``None`` picks a free one.
            install_dir: where DynamoDB Local is (or gets) installed; see ensure_installed().
            startup_timeout: seconds to wait for the server to answer ListTables.
            log_path: file receiving the JVM's stdout/stderr (appended, kept). Default: a file
                in a temporary run directory that is deleted by a clean stop().
            java_options: extra JVM options, e.g. ``["-Xmx512m"]``.
        """
        self._requested_port = port
        self._install_dir = install_dir
        self._startup_timeout = startup_timeout
        self._requested_log_path = log_path
        self._java_options = tuple(java_options)
        self._proc: subprocess.Popen[bytes] | None = None
        self._watchdog: subprocess.Popen[bytes] | None = None
        self._log_handle: IO[bytes] | None = None
        self._run_dir: Path | None = None
        self._port: int | None = None
        self._log_path: Path | None = None

    # ---- public API

    @property
    def endpoint_url(self) -> str:
        """``http://127.0.0.1:<port>``; only valid while started."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def port(self) -> int:
        if self._port is None or self._proc is None:
            raise DynamoDBLocalError("DynamoDB Local is not running; call start() first")
        return self._port

    @property
    def pid(self) -> int:
        if self._proc is None:
            raise DynamoDBLocalError("DynamoDB Local is not running; call start() first")
        return self._proc.pid

    @property
    def log_path(self) -> Path | None:
        return self._log_path

    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def start(self) -> Self:
        """Install if needed, launch the JVM and wait until it serves ListTables."""
        if self._proc is not None:
            raise DynamoDBLocalError("DynamoDB Local is already started")
        install_dir = ensure_installed(self._install_dir)
        java = find_java()
        attempts = 1 if self._requested_port is not None else 3
        for attempt in range(1, attempts + 1):
            if self._requested_port is not None:
                port = self._requested_port
                if not process.port_is_free(port):
                    raise DynamoDBLocalError(
                        f"port {port} is already in use; stop whatever listens there or pick "
                        "another port"
                    )
            else:
                port = process.pick_free_port()
            started = time.monotonic()
            self._launch(java, install_dir, port)
            try:
                self._wait_until_ready()
            except PortInUseError:
                self._shutdown(keep_run_dir=False)
                if attempt == attempts:
                    raise
                log.info("port %d was taken before DynamoDB Local bound it; retrying", port)
                continue
            except BaseException:
                self._shutdown(keep_run_dir=True)  # keep the log for the error message's path
                raise
            log.info(
                "DynamoDB Local ready at %s (pid %d, %.1fs)",
                self.endpoint_url,
                self.pid,
                time.monotonic() - started,
            )
            return self
        raise AssertionError("unreachable")  # pragma: no cover

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate the JVM (SIGTERM to its process group, SIGKILL after ``timeout``)."""
        self._shutdown(keep_run_dir=False, timeout=timeout)

    def wait(self) -> int:
        """Block until the JVM exits; returns its exit code."""
        if self._proc is None:
            raise DynamoDBLocalError("DynamoDB Local is not running; call start() first")
        return self._proc.wait()

    def read_log_tail(self, lines: int = LOG_TAIL_LINES) -> str:
        if self._log_path is None or not self._log_path.exists():
            return "    <no log>"
        with self._log_path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 16_384))
            return tail(handle.read().decode("utf-8", "replace"), lines)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = f"running on port {self._port}" if self.is_running() else "stopped"
        return f"<DynamoDBLocal {state}>"

    # ---- internals

    def _launch(self, java: str, install_dir: Path, port: int) -> None:
        # Own run directory as cwd: DynamoDB Local writes dynamodb-local-metadata.json there.
        self._run_dir = Path(tempfile.mkdtemp(prefix="dynamodb-local-"))
        self._log_path = self._requested_log_path or self._run_dir / "dynamodb-local.log"
        self._log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log_handle = self._log_path.open("ab")
        cmd = [
            java,
            *self._java_options,
            f"-Djava.library.path={install_dir / LIB_DIR}",
            "-jar",
            str(install_dir / JAR),
            "-inMemory",
            "-sharedDb",
            "-disableTelemetry",
            "-port",
            str(port),
        ]
        env = {**os.environ, "DDB_LOCAL_TELEMETRY": "0"}
        self._proc, self._watchdog = process.spawn(cmd, self._run_dir, env, self._log_handle)
        self._port = port
        process.track(self)

    def _log_text(self) -> str:
        if self._log_path is None:
            return ""
        try:
            return self._log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""

    def _wait_until_ready(self) -> None:
        assert self._proc is not None and self._port is not None
        endpoint = self.endpoint_url
        client = boto3.client(
            "dynamodb",
            endpoint_url=endpoint,
            region_name=LOCAL_REGION,
            aws_access_key_id=LOCAL_ACCESS_KEY_ID,
            aws_secret_access_key=LOCAL_SECRET_ACCESS_KEY,
            config=Config(
                connect_timeout=1,
                read_timeout=5,
                retries={"total_max_attempts": 1},
            ),
        )
        deadline = time.monotonic() + self._startup_timeout
        last_error: Exception | None = None
        while True:
            exit_code = self._proc.poll()
            if exit_code is not None:
                raise DynamoDBLocalError(
                    f"DynamoDB Local exited with code {exit_code} before answering on "
                    f"{endpoint}. Log {self._log_path}:\n{self.read_log_tail()}"
                )
            self._raise_if_bind_failed()
            try:
                client.list_tables(Limit=1)
            except (BotoCoreError, ClientError) as exc:
                last_error = exc
            else:
                # Answered. Make sure it was our JVM and not a stranger that took the port.
                self._raise_if_bind_failed()
                return
            if time.monotonic() >= deadline:
                raise DynamoDBLocalError(
                    f"DynamoDB Local did not answer ListTables on {endpoint} within "
                    f"{self._startup_timeout:.0f}s (last error: {last_error}). "
                    f"Log {self._log_path}:\n{self.read_log_tail()}"
                )
            time.sleep(0.1)

    def _raise_if_bind_failed(self) -> None:
        text = self._log_text()
        if any(marker in text for marker in _BIND_FAILURE_MARKERS):
            raise PortInUseError(
                f"DynamoDB Local could not bind port {self._port}. "
                f"Log {self._log_path}:\n{self.read_log_tail()}"
            )

    def _shutdown(self, *, keep_run_dir: bool, timeout: float = 10.0) -> None:
        proc, self._proc = self._proc, None
        watchdog, self._watchdog = self._watchdog, None
        process.untrack(self)
        try:
            if proc is not None:
                process.terminate(proc, timeout)
        finally:
            if watchdog is not None:
                process.terminate(watchdog, 2.0)
            if self._log_handle is not None:
                self._log_handle.close()
                self._log_handle = None
            if self._run_dir is not None and not keep_run_dir:
                shutil.rmtree(self._run_dir, ignore_errors=True)
                if self._requested_log_path is None:
                    self._log_path = None
            self._run_dir = None
