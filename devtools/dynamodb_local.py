"""Install and run AWS DynamoDB Local for tests and local development.

AWS's DynamoDB Local (a Java program) is redistributed inside the npm package
``amplify-dynamodb-simulator`` under ``package/emulator/``. We fetch only that tarball with
``npm pack`` (no ``npm install``, no dependencies), check it against a pinned integrity hash,
and extract just the emulator directory into a cache directory:

* default: ``<repo>/.cache/dynamodb-local/<package version>/``
* override: environment variable ``DYNAMODB_LOCAL_DIR`` (used as the install directory itself;
  a directory that already holds ``DynamoDBLocal.jar`` and ``DynamoDBLocal_lib/`` is used as is).

The server always runs with ``-inMemory -sharedDb``: without ``-sharedDb`` DynamoDB Local keeps a
separate database per access key and region, so a Lambda handler and a test fixture configured
with different dummy credentials or regions would not see each other's tables.

Command line::

    python -m devtools.dynamodb_local install
    python -m devtools.dynamodb_local serve [--port 8000]
"""

from __future__ import annotations

import argparse
import atexit
import base64
import contextlib
import ctypes
import hashlib
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path, PurePosixPath
from types import FrameType, TracebackType
from typing import IO, Self

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

__all__ = [
    "DEFAULT_CACHE_ROOT",
    "ENV_INSTALL_DIR",
    "LOCAL_ACCESS_KEY_ID",
    "LOCAL_REGION",
    "LOCAL_SECRET_ACCESS_KEY",
    "PACKAGE_INTEGRITY",
    "PACKAGE_NAME",
    "PACKAGE_VERSION",
    "DynamoDBLocal",
    "DynamoDBLocalError",
    "default_install_dir",
    "ensure_installed",
    "find_java",
    "main",
]

log = logging.getLogger(__name__)

PACKAGE_NAME = "amplify-dynamodb-simulator"
PACKAGE_VERSION = "2.9.30"  # bundles DynamoDB Local 1.25.1
# npm's integrity string for the tarball above (`npm view amplify-dynamodb-simulator@2.9.30 dist`).
PACKAGE_INTEGRITY = (
    "sha512-"
    "xTeeRLvzEfqyd5lh3bH4c0kHvSHHmmhD5ZDsHFKAQ5g2Zl6JqlFdutaQhCLHzxEp6Ry1o7TB6niIoXuQAnSewQ=="
)
ENV_INSTALL_DIR = "DYNAMODB_LOCAL_DIR"
REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CACHE_ROOT = REPO_ROOT / ".cache" / "dynamodb-local"

# DynamoDB Local accepts any credentials; access keys must be alphanumeric.
LOCAL_REGION = "us-east-1"
LOCAL_ACCESS_KEY_ID = "local"
LOCAL_SECRET_ACCESS_KEY = "local"  # noqa: S105 - dummy; DynamoDB Local accepts any

_JAR = "DynamoDBLocal.jar"
_LIB_DIR = "DynamoDBLocal_lib"
_TAR_PREFIX = "package/emulator/"
_MARKER = ".install.json"
_NPM_TIMEOUT_S = 900.0
_LOG_TAIL_LINES = 40
# DynamoDB Local does not exit when its port is taken; it logs this and keeps running.
_BIND_FAILURE_MARKERS = ("Failed to bind", "java.net.BindException")
_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


class DynamoDBLocalError(RuntimeError):
    """DynamoDB Local could not be installed, started or stopped."""


class _PortInUseError(DynamoDBLocalError):
    pass


# --------------------------------------------------------------------------- installation


def default_install_dir() -> Path:
    """``$DYNAMODB_LOCAL_DIR`` if set, else ``<repo>/.cache/dynamodb-local/<version>``."""
    override = os.environ.get(ENV_INSTALL_DIR)
    if override:
        return Path(override).expanduser().absolute()
    return DEFAULT_CACHE_ROOT / PACKAGE_VERSION


def find_java() -> str:
    """Path of the ``java`` executable (``$JAVA_HOME/bin/java`` first, then ``PATH``)."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home:
        for name in ("java", "java.exe"):
            candidate = Path(java_home) / "bin" / name
            if candidate.is_file() and os.access(candidate, os.X_OK):
                return str(candidate)
    java = shutil.which("java")
    if java is None:
        raise DynamoDBLocalError(
            "`java` was not found (checked $JAVA_HOME/bin and PATH). DynamoDB Local needs a "
            "Java runtime, version 11 or newer: e.g. `apt-get install openjdk-17-jre-headless` "
            "or `brew install openjdk@17`."
        )
    return java


def _find_npm() -> str:
    npm = shutil.which("npm")
    if npm is None:
        raise DynamoDBLocalError(
            f"`npm` was not found on PATH; it is needed once to download DynamoDB Local "
            f"(npm package {PACKAGE_NAME}@{PACKAGE_VERSION}). Install Node.js/npm, or set "
            f"{ENV_INSTALL_DIR} to a directory that already contains {_JAR} and {_LIB_DIR}/."
        )
    return npm


def _is_installed(directory: Path) -> bool:
    return (directory / _JAR).is_file() and (directory / _LIB_DIR).is_dir()


def ensure_installed(cache_dir: Path | None = None) -> Path:
    """Make sure DynamoDB Local is unpacked in ``cache_dir`` and return that directory.

    Idempotent and cheap once installed. The emulator is extracted into a staging directory
    next to ``cache_dir`` and renamed into place, so an interrupted or concurrent install never
    leaves a half-populated ``cache_dir``; on POSIX concurrent callers are also serialised by a
    lock file so the tarball is downloaded only once.
    """
    target = (cache_dir if cache_dir is not None else default_install_dir()).expanduser()
    target = target.absolute()
    find_java()  # fail early and clearly: the install is useless without a JVM
    if _is_installed(target):
        return target

    target.parent.mkdir(parents=True, exist_ok=True)
    with _install_lock(target) as exclusive:
        if _is_installed(target):  # another process finished while we waited for the lock
            return target
        if exclusive:
            _remove_stale_staging(target)
        if target.exists():
            if target.is_dir() and not any(target.iterdir()):
                target.rmdir()
            else:
                raise DynamoDBLocalError(
                    f"{target} exists but does not contain {_JAR} and {_LIB_DIR}/; "
                    "remove it or point DYNAMODB_LOCAL_DIR elsewhere."
                )
        npm = _find_npm()
        started = time.monotonic()
        log.info("Downloading %s@%s with npm pack ...", PACKAGE_NAME, PACKAGE_VERSION)
        with tempfile.TemporaryDirectory(
            prefix=f".{target.name}.staging-", dir=target.parent
        ) as tmp:
            tmp_dir = Path(tmp)
            tarball = _npm_pack(npm, tmp_dir)
            _verify_integrity(tarball)
            staging = tmp_dir / "emulator"
            _extract_emulator(tarball, staging)
            (staging / _MARKER).write_text(
                json.dumps(
                    {
                        "package": PACKAGE_NAME,
                        "version": PACKAGE_VERSION,
                        "integrity": PACKAGE_INTEGRITY,
                    },
                    indent=2,
                )
                + "\n",
                encoding="utf-8",
            )
            try:
                staging.rename(target)
            except OSError:
                if not _is_installed(target):  # lost a race only if the winner is complete
                    raise
        log.info("Installed DynamoDB Local in %s (%.1fs)", target, time.monotonic() - started)
    return target


@contextlib.contextmanager
def _install_lock(target: Path) -> Iterator[bool]:
    """Exclusive lock beside ``target``; yields whether the lock is actually held."""
    if sys.platform == "win32":
        yield False
        return
    import fcntl

    lock_path = target.parent / f".{target.name}.lock"
    with lock_path.open("a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield True
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _remove_stale_staging(target: Path) -> None:
    """Delete staging directories left by crashed installs (only call while holding the lock)."""
    for leftover in target.parent.glob(f".{target.name}.staging-*"):
        shutil.rmtree(leftover, ignore_errors=True)


def _npm_pack(npm: str, dest: Path) -> Path:
    spec = f"{PACKAGE_NAME}@{PACKAGE_VERSION}"
    cmd = [
        npm,
        "pack",
        spec,
        "--json",
        "--ignore-scripts",
        "--pack-destination",
        str(dest),
        "--loglevel=error",
    ]
    env = {**os.environ, "npm_config_update_notifier": "false", "npm_config_fund": "false"}
    try:
        result = subprocess.run(  # noqa: S603 - fixed argv, no shell
            cmd,
            cwd=dest,
            env=env,
            capture_output=True,
            text=True,
            timeout=_NPM_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise DynamoDBLocalError(f"`npm pack {spec}` timed out after {exc.timeout:.0f}s") from exc
    if result.returncode != 0:
        raise DynamoDBLocalError(
            f"`npm pack {spec}` failed with exit code {result.returncode}:\n"
            f"{_tail(result.stderr or result.stdout)}"
        )
    tarballs = sorted(dest.glob("*.tgz"))
    if len(tarballs) != 1:
        raise DynamoDBLocalError(
            f"`npm pack {spec}` did not produce exactly one tarball in {dest}: {tarballs}"
        )
    return tarballs[0]


def _verify_integrity(tarball: Path) -> None:
    algorithm, _, expected = PACKAGE_INTEGRITY.partition("-")
    digest = hashlib.new(algorithm)
    with tarball.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    actual = base64.b64encode(digest.digest()).decode("ascii")
    if actual != expected:
        raise DynamoDBLocalError(
            f"{tarball.name} does not match the pinned integrity {PACKAGE_INTEGRITY} "
            f"(got {algorithm}-{actual}); refusing to use it."
        )


def _extract_emulator(tarball: Path, dest: Path) -> None:
    """Extract only ``package/emulator/**`` (regular files and directories) into ``dest``."""
    dest.mkdir()
    with tarfile.open(tarball, "r:gz") as archive:
        selected: list[tarfile.TarInfo] = []
        for member in archive.getmembers():
            if not member.name.startswith(_TAR_PREFIX):
                continue
            relative = member.name[len(_TAR_PREFIX) :].rstrip("/")
            if not relative:
                continue
            parts = PurePosixPath(relative).parts
            if (
                relative.startswith("/")
                or "\\" in relative
                or any(part in ("", ".", "..") for part in parts)
                or not (member.isfile() or member.isdir())
            ):
                raise DynamoDBLocalError(f"refusing unsafe entry {member.name!r} in {tarball}")
            selected.append(member.replace(name=relative, deep=False))
        if not selected:
            raise DynamoDBLocalError(f"{tarball} has no {_TAR_PREFIX} entries")
        # The "data" filter additionally rejects absolute/escaping paths and special files and
        # drops unsafe mode bits, as defence in depth.
        archive.extractall(dest, members=selected, filter="data")
    if not _is_installed(dest):
        raise DynamoDBLocalError(f"{tarball} did not contain {_JAR} and {_LIB_DIR}/")


# --------------------------------------------------------------------------- running

_live_servers: set[DynamoDBLocal] = set()
_live_lock = threading.Lock()


def _stop_all_servers() -> None:
    with _live_lock:
        servers = list(_live_servers)
    for server in servers:
        with contextlib.suppress(Exception):
            server.stop(timeout=5.0)


atexit.register(_stop_all_servers)

# How the JVM is tied to our lifetime when we die without running atexit (SIGTERM with the
# default handler, SIGKILL, a crash): "pdeathsig" (Linux: the kernel SIGKILLs the JVM when the
# thread that started it exits), "watchdog" (other POSIX: a tiny helper process polls for our
# death) or "none". Module-level so tests can exercise the fallback on Linux.
_PARENT_DEATH_MECHANISM = (
    "pdeathsig"
    if sys.platform.startswith("linux")
    else "none"
    if sys.platform == "win32"
    else "watchdog"
)

_WATCHDOG_SOURCE = """\
import os, signal, sys, time
parent, child = int(sys.argv[1]), int(sys.argv[2])
while os.getppid() == parent:
    try:
        os.kill(child, 0)
    except ProcessLookupError:
        sys.exit(0)
    time.sleep(0.5)
try:
    os.killpg(child, signal.SIGKILL)
except ProcessLookupError:
    pass
"""


def _pdeathsig_preexec() -> Callable[[], None] | None:
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    parent = os.getpid()
    kill = int(signal.SIGKILL)

    def preexec() -> None:  # runs in the child between fork and exec
        prctl(_PR_SET_PDEATHSIG, kill)
        if os.getppid() != parent:  # parent already died before prctl took effect
            os._exit(1)

    return preexec


def _pick_free_port() -> int:
    # DynamoDB Local binds 0.0.0.0, so probe the same way.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("0.0.0.0", 0))
        port: int = sock.getsockname()[1]
        return port


def _port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("0.0.0.0", port))
        except OSError:
            return False
        return True


def _tail(text: str, lines: int = _LOG_TAIL_LINES) -> str:
    kept = text.rstrip().splitlines()[-lines:]
    return "\n".join(f"    {line}" for line in kept) if kept else "    <empty>"


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
                if not _port_is_free(port):
                    raise DynamoDBLocalError(
                        f"port {port} is already in use; stop whatever listens there or pick "
                        "another port"
                    )
            else:
                port = _pick_free_port()
            started = time.monotonic()
            self._launch(java, install_dir, port)
            try:
                self._wait_until_ready()
            except _PortInUseError:
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

    def read_log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        if self._log_path is None or not self._log_path.exists():
            return "    <no log>"
        with self._log_path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            handle.seek(max(0, handle.tell() - 16_384))
            return _tail(handle.read().decode("utf-8", "replace"), lines)

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
            f"-Djava.library.path={install_dir / _LIB_DIR}",
            "-jar",
            str(install_dir / _JAR),
            "-inMemory",
            "-sharedDb",
            "-disableTelemetry",
            "-port",
            str(port),
        ]
        env = {**os.environ, "DDB_LOCAL_TELEMETRY": "0"}
        if sys.platform == "win32":
            proc = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
                cmd,
                cwd=self._run_dir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=self._log_handle,
                stderr=subprocess.STDOUT,
                creationflags=subprocess.CREATE_NEW_PROCESS_GROUP,
            )
        else:
            preexec = _pdeathsig_preexec() if _PARENT_DEATH_MECHANISM == "pdeathsig" else None
            proc = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
                cmd,
                cwd=self._run_dir,
                env=env,
                stdin=subprocess.DEVNULL,
                stdout=self._log_handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # own process group: Ctrl-C goes to us, we stop it
                preexec_fn=preexec,
            )
            if _PARENT_DEATH_MECHANISM == "watchdog" or (
                _PARENT_DEATH_MECHANISM == "pdeathsig" and preexec is None
            ):
                self._watchdog = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
                    [sys.executable, "-c", _WATCHDOG_SOURCE, str(os.getpid()), str(proc.pid)],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
        self._proc = proc
        self._port = port
        with _live_lock:
            _live_servers.add(self)

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
            raise _PortInUseError(
                f"DynamoDB Local could not bind port {self._port}. "
                f"Log {self._log_path}:\n{self.read_log_tail()}"
            )

    def _shutdown(self, *, keep_run_dir: bool, timeout: float = 10.0) -> None:
        proc, self._proc = self._proc, None
        watchdog, self._watchdog = self._watchdog, None
        with _live_lock:
            _live_servers.discard(self)
        try:
            if proc is not None:
                _terminate(proc, timeout)
        finally:
            if watchdog is not None:
                _terminate(watchdog, 2.0)
            if self._log_handle is not None:
                self._log_handle.close()
                self._log_handle = None
            if self._run_dir is not None and not keep_run_dir:
                shutil.rmtree(self._run_dir, ignore_errors=True)
                if self._requested_log_path is None:
                    self._log_path = None
            self._run_dir = None


def _terminate(proc: subprocess.Popen[bytes], timeout: float) -> None:
    """Stop ``proc`` and everything in its process group; always reaps ``proc``."""
    if proc.poll() is None:  # not reaped yet, so the pid (and group id) is still ours
        _signal_group(proc, graceful=True)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _signal_group(proc, graceful=False)
            proc.wait()


def _signal_group(proc: subprocess.Popen[bytes], *, graceful: bool) -> None:
    if sys.platform == "win32":
        if graceful:
            proc.terminate()
        else:
            proc.kill()
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGTERM if graceful else signal.SIGKILL)


# --------------------------------------------------------------------------- command line


class _Shutdown(Exception):
    pass


def _raise_shutdown(signum: int, frame: FrameType | None) -> None:
    raise _Shutdown(signal.Signals(signum).name)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.dynamodb_local",
        description=f"Install or run AWS DynamoDB Local (from npm {PACKAGE_NAME}).",
    )
    parser.add_argument(
        "--dir",
        type=Path,
        default=None,
        help=f"install directory (default: ${ENV_INSTALL_DIR} or {DEFAULT_CACHE_ROOT}/<version>)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("install", help="download and unpack DynamoDB Local; print its directory")
    serve = commands.add_parser("serve", help="run DynamoDB Local in the foreground")
    serve.add_argument("--port", type=int, default=8000, help="listen port (default: 8000)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)

    try:
        if args.command == "install":
            print(ensure_installed(args.dir))
            return 0
        for signum in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
            if signum is not None:
                signal.signal(signum, _raise_shutdown)
        server = DynamoDBLocal(args.port, install_dir=args.dir)
        try:
            with server:
                print(
                    f"DynamoDB Local listening on {server.endpoint_url} "
                    f"(in-memory, shared DB; log: {server.log_path}).\n"
                    f"  export AWS_ENDPOINT_URL_DYNAMODB={server.endpoint_url}\n"
                    "Press Ctrl-C to stop.",
                    flush=True,
                )
                code = server.wait()
                print(
                    f"DynamoDB Local exited unexpectedly with code {code}:\n"
                    f"{server.read_log_tail()}",
                    file=sys.stderr,
                )
                return 1
        except (KeyboardInterrupt, _Shutdown):
            print("Stopped DynamoDB Local.", file=sys.stderr)
            return 0
    except DynamoDBLocalError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
