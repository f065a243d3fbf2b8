"""`TelnyxEmulator`: the server plus the handles tests use instead of HTTP."""

from __future__ import annotations

import threading
from collections.abc import Callable
from types import TracebackType
from typing import Any, Self

from devtools.telnyx_emulator.config import EmulatorConfig
from devtools.telnyx_emulator.server import EmulatorServer, add_fault_from_json
from devtools.telnyx_emulator.state import EmulatorState
from devtools.telnyx_emulator.webhooks import WebhookDispatcher, load_signer


class TelnyxEmulator:
    """A Telnyx Verify v2 (and Messaging `POST /v2/messages`) emulator on a real socket.

    >>> emu = TelnyxEmulator(EmulatorConfig(port=0)); emu.start()
    >>> emu.base_url   # the API is under emu.base_url + "/v2"
    """

    def __init__(self, config: EmulatorConfig | None = None) -> None:
        self.config = config or EmulatorConfig()
        self._state = EmulatorState(self.config)
        self._signer = load_signer(self.config.signing_key_seed, self.config.signing_key_file)
        self._dispatcher = WebhookDispatcher(
            self._signer,
            url=self.config.webhook_url,
            timeout_secs=self.config.webhook_timeout_secs,
            max_attempts=self.config.webhook_max_attempts,
            retry_delay_secs=self.config.webhook_retry_delay_secs,
            event_gap_secs=self.config.webhook_event_gap_secs,
        )
        self._server: EmulatorServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------

    def bind(self) -> Self:
        """Open the listening socket without serving yet (port 0 picks a free port)."""
        if self._server is None:
            self._dispatcher.resume()
            self._server = EmulatorServer(self.config, self._state, self._signer, self._dispatcher)
        return self

    def start(self) -> Self:
        """Bind and serve from a background daemon thread."""
        if self._thread is not None:
            raise RuntimeError("emulator already started")
        server = self.bind()._require_server()
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.02},  # stop() returns quickly
            name="telnyx-emulator",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Bind and serve on the calling thread until interrupted (the CLI's mode)."""
        server = self.bind()._require_server()
        try:
            server.serve_forever(poll_interval=0.2)
        finally:
            self._dispatcher.stop()
            server.server_close()
            self._server = None

    def stop(self) -> None:
        self._dispatcher.stop()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- addresses and keys -----------------------------------------------------

    def _require_server(self) -> EmulatorServer:
        if self._server is None:
            raise RuntimeError("emulator not started")
        return self._server

    @property
    def port(self) -> int:
        return int(self._require_server().server_address[1])

    @property
    def base_url(self) -> str:
        """`http://host:port`, without the `/v2` API prefix."""
        return f"http://{self.config.host}:{self.port}"

    @property
    def public_key_b64(self) -> str:
        """The webhook verification key: base64 of the raw 32-byte Ed25519 public key."""
        return self._signer.public_key_b64

    def sign_webhook(self, raw_body: bytes, timestamp: int | None = None) -> dict[str, str]:
        """Telnyx signature headers for `raw_body`, for tests that craft their own events."""
        return self._signer.headers(raw_body, timestamp)

    def set_webhook_url(self, url: str | None) -> None:
        """Send later events to `url` (None stops webhooks)."""
        if url is not None and not url.startswith(("http://", "https://")):
            raise ValueError("webhook url must be an http(s) URL")
        self._dispatcher.url = url

    def on_email(self, listener: Callable[[dict[str, Any]], None] | None) -> None:
        """Tell `listener` of each email SendEmail keeps (one call a recipient, before the
        answer: it must not block); None stops it."""
        self._require_server().emails.listener = listener

    # -- outbox, webhook log ----------------------------------------------------

    def messages(
        self,
        phone_number: str | None = None,
        *,
        include_undelivered: bool = False,
        kind: str | None = None,
        channel: str | None = None,
        phone_hint: str | None = None,
    ) -> list[dict[str, Any]]:
        """Messages the emulator delivered, newest first (as GET /_emulator/messages): codes
        (`"kind": "code"`, by SMS, call or WhatsApp) and notices (`"kind": "notice"`, no
        `code`); `kind` keeps one kind, `channel` one channel's, `phone_hint` those to the
        numbers a masked hint ("+1******0123") matches."""
        return self._state.messages(
            phone_number,
            include_undelivered=include_undelivered,
            kind=kind,
            channel=channel,
            phone_hint=phone_hint,
        )

    def notices(self, phone_number: str | None = None) -> list[dict[str, Any]]:
        """Notices delivered (POST /v2/messages), newest first."""
        return self.messages(phone_number, kind="notice")

    def latest_code(self, phone_number: str, channel: str | None = None) -> str | None:
        found = self.messages(phone_number, kind="code", channel=channel)
        return str(found[0]["code"]) if found else None

    def emails(self, to: str | None = None) -> list[dict[str, Any]]:
        """Emails the functions sent through SES, newest first (as GET /_emulator/emails)."""
        return self._require_server().emails.emails(to)

    def latest_email_code(self, to: str) -> str | None:
        """The code of the newest email to `to`, None when it carried none (a notice)."""
        found = self.emails(to)
        return str(found[0]["code"]) if found and found[0]["code"] else None

    def webhook_log(self) -> list[dict[str, Any]]:
        """Every webhook delivery attempt, oldest first (as GET /_emulator/webhooks)."""
        return self._dispatcher.log()

    def wait_for_webhooks(self, timeout: float = 5.0) -> bool:
        """Block until no webhook delivery is in flight; False on timeout."""
        return self._dispatcher.wait_idle(timeout)

    # -- faults, clock, reset ---------------------------------------------------

    def add_fault(
        self,
        endpoint: str = "any",
        *,
        status: int | None = None,
        count: int = 1,
        delay_ms: int = 0,
        apply: str = "before",
    ) -> None:
        """Make the next `count` calls to `endpoint` fail with `status` and/or be delayed."""
        body: dict[str, Any] = {
            "endpoint": endpoint,
            "status": status,
            "count": count,
            "delay_ms": delay_ms,
            "apply": apply,
        }
        add_fault_from_json(self._state, body)

    def add_delivery_fault(
        self, delivery: str = "failed", *, count: int = 1, channel: str | None = None
    ) -> None:
        """Make the next `count` sends (by `channel`, or any) fail delivery (verify.failed
        webhooks)."""
        body: dict[str, Any] = {"delivery": delivery, "count": count}
        if channel is not None:
            body["channel"] = channel
        add_fault_from_json(self._state, body)

    def add_webhook_fault(self, kind: str, *, count: int = 1, delay_ms: int = 0) -> None:
        """Make the webhooks of the next `count` sends carry a bad signature or old timestamp,
        or be sent twice, reversed, `delay_ms` late, or not at all."""
        add_fault_from_json(self._state, {"webhook": kind, "count": count, "delay_ms": delay_ms})

    def faults(self) -> list[dict[str, Any]]:
        return self._state.faults()

    def clear_faults(self) -> None:
        self._state.clear_faults()

    def advance_clock(self, secs: float) -> None:
        self._state.advance_clock(secs)

    def reset(self) -> None:
        """Forget verifications, outbox, faults, webhook log and clock offset."""
        self._state.reset()
        self._dispatcher.clear()
