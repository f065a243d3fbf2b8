"""Telnyx's webhooks held back and let through when a test says so: the emulator's own signed
events (its faults included), only later, as a slow network would bring them. A test that
must subscribe before a report arrives (live status, docs/realtime.md) waits for no clock."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx

from devtools.local_stack.stack import LocalStack


class WebhookRelay:
    def __init__(self, stack: LocalStack) -> None:
        self._stack = stack
        self._held: list[tuple[bytes, dict[str, str]]] = []
        self._lock = threading.Lock()
        relay = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with relay._lock:
                    relay._held.append((body, dict(self.headers.items())))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/webhooks/telnyx"

    def held(self) -> int:
        with self._lock:
            return len(self._held)

    def release(self, count: int | None = None) -> list[int]:
        """POST the first `count` held events (all by default), in order, to the stack's
        webhook; their statuses."""
        with self._lock:
            cut = len(self._held) if count is None else count
            held, self._held = self._held[:cut], self._held[cut:]
        statuses = []
        with httpx.Client(timeout=60) as client:
            for body, headers in held:
                wanted = {k: v for k, v in headers.items() if k.lower().startswith("telnyx-")}
                response = client.post(
                    f"{self._stack.api_url}/webhooks/telnyx",
                    content=body,
                    headers={"Content-Type": "application/json", **wanted},
                )
                statuses.append(response.status_code)
        return statuses

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@contextmanager
def held_webhooks(stack: LocalStack) -> Iterator[WebhookRelay]:
    """The stack's emulator sends its webhooks to a relay until the block ends (then to the
    stack again); `relay.release()` lets them through."""
    emulator = stack.emulator
    assert emulator is not None
    emulator.wait_for_webhooks()  # what earlier tests set off goes where it was going
    relay = WebhookRelay(stack)
    emulator.set_webhook_url(relay.url)
    try:
        yield relay
    finally:
        emulator.wait_for_webhooks()
        emulator.set_webhook_url(f"{stack.api_url}/webhooks/telnyx")
        relay.close()
