"""The JVM's lifetime: launched in its own process group, never outliving this Python process.

Every started server is stopped at interpreter exit; when we die without running ``atexit``
(SIGTERM with the default handler, SIGKILL, a crash) the kernel (Linux) or a tiny watchdog
process (other POSIX) kills the JVM. Also the port probes the server start relies on.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, Protocol

_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


class Stoppable(Protocol):
    def stop(self, timeout: float = 10.0) -> None: ...


_live_servers: set[Stoppable] = set()
_live_lock = threading.Lock()


def track(server: Stoppable) -> None:
    """Stop ``server`` at interpreter exit unless it is :func:`untrack`-ed first."""
    with _live_lock:
        _live_servers.add(server)


def untrack(server: Stoppable) -> None:
    with _live_lock:
        _live_servers.discard(server)


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


def spawn(
    cmd: Sequence[str], cwd: Path, env: dict[str, str], log: IO[bytes]
) -> tuple[subprocess.Popen[bytes], subprocess.Popen[bytes] | None]:
    """Start ``cmd`` in its own process group, output to ``log``: (process, its watchdog)."""
    if sys.platform == "win32":
        proc = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            cmd,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            creationflags=subprocess.CREATE_NEW_PROCESS_GROUP,
        )
        return proc, None
    preexec = _pdeathsig_preexec() if _PARENT_DEATH_MECHANISM == "pdeathsig" else None
    proc = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
        cmd,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # own process group: Ctrl-C goes to us, we stop it
        preexec_fn=preexec,
    )
    watchdog = None
    if _PARENT_DEATH_MECHANISM == "watchdog" or (
        _PARENT_DEATH_MECHANISM == "pdeathsig" and preexec is None
    ):
        watchdog = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            [sys.executable, "-c", _WATCHDOG_SOURCE, str(os.getpid()), str(proc.pid)],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
    return proc, watchdog


def terminate(proc: subprocess.Popen[bytes], timeout: float) -> None:
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


def pick_free_port() -> int:
    # DynamoDB Local binds 0.0.0.0, so probe the same way.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("0.0.0.0", 0))
        port: int = sock.getsockname()[1]
        return port


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("0.0.0.0", port))
        except OSError:
            return False
        return True
