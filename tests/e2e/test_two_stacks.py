"""Two `make run`s side by side, as `python -m devtools.local_stack` with each its own API,
emulator and AWS ports and WS_PORT=0: each chooses a free WebSocket port, says it in its
banner and in its page's config.js, and a sign-in works on both. And NO_WEBSOCKET=1 runs
without the socket (the page polls: tests/e2e/web/test_live_status.py).

Each stack is ready when its banner's last line is out, however long a loaded machine takes
to get there; the deadline only ends a stack that never starts."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from devtools.local_stack.ports import free_port
from devtools.local_stack.seeding import DEMO_PASSWORD

ROOT = Path(__file__).resolve().parents[2]
READY = "Ctrl-C stops everything."
START_DEADLINE_SECS = 300.0  # a stack that is not up by then is broken, not slow
PHONE = "+14155550123"


@dataclass
class RunningStack:
    process: subprocess.Popen[str]
    lines: list[str] = field(default_factory=list)
    ready: threading.Event = field(default_factory=threading.Event)

    def read(self) -> None:
        """Collect the output, all of it, so the pipe never fills."""
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))
            if line.strip() == READY:
                self.ready.set()
        self.ready.set()  # ended: whoever waits looks at the lines

    def banner(self, label: str) -> str:
        """The URL on the banner's line that starts with `label`."""
        for line in self.lines:
            if line.strip().startswith(label):
                return line.split()[len(label.split())]
        raise AssertionError(f"no {label!r} in the banner:\n" + "\n".join(self.lines))


@contextmanager
def make_run(**env: str) -> Iterator[RunningStack]:
    """`make run` with `env` added; stopped as Ctrl-C stops it."""
    layer = str(ROOT / "layers" / "common")
    process = subprocess.Popen(
        [sys.executable, "-m", "devtools.local_stack"],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": os.pathsep.join([layer, str(ROOT)]), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    running = RunningStack(process)
    reader = threading.Thread(target=running.read, daemon=True)
    reader.start()
    try:
        yield running
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        reader.join(timeout=10)


def own_ports() -> dict[str, str]:
    return {
        "API_PORT": str(free_port()),
        "EMULATOR_PORT": str(free_port()),
        "AWS_PORT": str(free_port()),
        "WS_PORT": "0",
    }


def wait_until_up(running: RunningStack) -> None:
    assert running.ready.wait(START_DEADLINE_SECS), "\n".join(running.lines[-30:])
    assert running.process.poll() is None, "\n".join(running.lines[-30:])


def sign_in(api: str, emulator: str) -> str:
    """Password, the code from this stack's emulator outbox, then the token."""
    with httpx.Client(timeout=120) as http:
        login = {"email": "demo@example.com", "password": DEMO_PASSWORD}
        started = http.post(f"{api}/login", json=login)
        assert started.status_code == 200, started.text
        outbox = http.get(f"{emulator}/_emulator/messages", params={"phone_number": PHONE})
        code = next(m["code"] for m in outbox.json()["data"] if m.get("code"))
        body = {"flow_id": started.json()["flow_id"], "code": code}
        verified = http.post(f"{api}/login/verify", json=body)
        assert verified.status_code == 200, verified.text
        token: str = verified.json()["token"]
        return token


def page_config(api: str) -> dict[str, str]:
    """What the stack's page is told (its config.js)."""
    script = httpx.get(f"{api}/config.js", timeout=30).text
    match = re.search(r"window\.PHONE_VERIFY_CONFIG = (\{.*\});", script)
    assert match is not None, script
    config: dict[str, str] = json.loads(match.group(1))
    return config


def test_two_stacks_side_by_side_each_with_a_free_websocket_port_sign_in() -> None:
    with ExitStack() as stacks:
        # Given two make runs on ports of their own, each with WS_PORT=0
        runs = [stacks.enter_context(make_run(**own_ports())) for _ in range(2)]
        for running in runs:
            wait_until_up(running)
        apis = [running.banner("API") for running in runs]
        emulators = [running.banner("Telnyx (emu)").removesuffix("/v2") for running in runs]
        sockets = [running.banner("Live status") for running in runs]
        # Then each chose its own WebSocket port, printed it, and told its page
        ports = [int(url.rsplit(":", 1)[1].split("/")[0]) for url in sockets]
        assert len(set(ports)) == 2 and 0 not in ports, sockets
        for api, socket in zip(apis, sockets, strict=True):
            assert page_config(api)["websocketUrl"] == socket.split("/?")[0]
        # When someone signs in on both at once, Then each stack gives its own token
        with ThreadPoolExecutor(max_workers=2) as pool:
            tokens = list(pool.map(sign_in, apis, emulators))
        assert all(token.startswith("eyJ") for token in tokens)
        assert tokens[0] != tokens[1]


def test_no_websocket_runs_without_the_socket_and_the_page_is_told_to_poll() -> None:
    # Given make run with every port 0 (each a free one, printed) and NO_WEBSOCKET=1
    zeros = {variable: "0" for variable in own_ports()}
    with make_run(**zeros, NO_WEBSOCKET="1") as running:
        wait_until_up(running)
        for label in ("API", "Telnyx (emu)", "AWS (moto)"):
            port = httpx.URL(running.banner(label)).port
            assert port is not None and port > 0, running.lines
        assert any("Live status    off (--no-websocket)" in line for line in running.lines)
        assert not any(line.lstrip().startswith("WS  ") for line in running.lines)
        api = running.banner("API")
        assert page_config(api)["websocketUrl"] == ""
        assert "connect-src 'self' https: wss:" in httpx.get(f"{api}/", timeout=30).text
        emulator = running.banner("Telnyx (emu)").removesuffix("/v2")
        assert sign_in(api, emulator).startswith("eyJ")
