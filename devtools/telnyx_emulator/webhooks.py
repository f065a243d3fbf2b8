"""Ed25519 webhook signing and delivery, the way Telnyx signs and sends events.

Telnyx signs `f"{timestamp}|{raw_body}"` with the account's Ed25519 key and sends the
base64 signature in `telnyx-signature-ed25519` and the unix-seconds timestamp in
`telnyx-timestamp` (the SDK's `telnyx.lib.webhook_verification` checks exactly this).
"""

from __future__ import annotations

import base64
import json
import logging
import os
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from devtools.telnyx_emulator.faults import WebhookFault
from devtools.telnyx_emulator.timestamps import event_time

logger = logging.getLogger("telnyx_emulator")

SIGNATURE_HEADER = "telnyx-signature-ed25519"
TIMESTAMP_HEADER = "telnyx-timestamp"
STALE_TIMESTAMP_SECS = 3600


class WebhookSigner:
    def __init__(self, seed: bytes) -> None:
        self._key = Ed25519PrivateKey.from_private_bytes(seed)
        raw_public = self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.public_key_b64 = base64.b64encode(raw_public).decode("ascii")

    @classmethod
    def generate(cls) -> WebhookSigner:
        return cls(os.urandom(32))

    @classmethod
    def from_file(cls, path: str | Path) -> WebhookSigner:
        """Load the base64 seed from `path`, writing a new one (mode 0600) if it is missing."""
        key_path = Path(path)
        if not key_path.exists():
            seed = os.urandom(32)
            fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(base64.b64encode(seed).decode("ascii") + "\n")
            logger.info("wrote a new webhook signing key to %s", key_path)
            return cls(seed)
        raw = base64.b64decode(key_path.read_text().strip(), validate=True)
        # 64 bytes is the seed followed by the public key (the NaCl layout).
        if len(raw) not in (32, 64):
            raise ValueError(f"{key_path}: expected base64 of a 32-byte Ed25519 seed")
        return cls(raw[:32])

    def sign(self, raw_body: bytes, timestamp: int) -> str:
        message = str(timestamp).encode("ascii") + b"|" + raw_body
        return base64.b64encode(self._key.sign(message)).decode("ascii")

    def headers(self, raw_body: bytes, timestamp: int | None = None) -> dict[str, str]:
        ts = int(time.time()) if timestamp is None else timestamp
        return {SIGNATURE_HEADER: self.sign(raw_body, ts), TIMESTAMP_HEADER: str(ts)}


class WebhookDispatcher:
    """Posts each send's events in order from a background thread, with retries.

    One thread per send keeps that send's events ordered (verify.sent before
    verify.delivered) without one slow receiver holding back other sends.
    """

    def __init__(
        self,
        signer: WebhookSigner,
        *,
        url: str | None,
        timeout_secs: float,
        max_attempts: int,
        retry_delay_secs: float,
        event_gap_secs: float,
    ) -> None:
        self._signer = signer
        self.url = url
        self._timeout = timeout_secs
        self._max_attempts = max_attempts
        self._retry_delay = retry_delay_secs
        self._event_gap = event_gap_secs
        self._cond = threading.Condition()
        self._active = 0
        self._generation = 0
        self._log: list[dict[str, Any]] = []
        self._stopping = threading.Event()

    def hold(
        self,
    ) -> Callable[[list[tuple[str, dict[str, Any]]], float, WebhookFault | None], None]:
        """Count a dispatch as in flight now, and return what sends it later: `wait_idle` then
        waits for events whose request has been answered but whose thread has not started."""
        with self._cond:
            self._active += 1

        def send(
            events: list[tuple[str, dict[str, Any]]], occurred: float, fault: WebhookFault | None
        ) -> None:
            try:
                self.dispatch(events, occurred, fault)
            finally:
                with self._cond:
                    self._active -= 1
                    self._cond.notify_all()

        return send

    def dispatch(
        self,
        events: list[tuple[str, dict[str, Any]]],
        occurred: float,
        fault: WebhookFault | None,
    ) -> None:
        url = self.url
        if url is None or not events:
            return
        with self._cond:
            self._active += 1
            generation = self._generation
        thread = threading.Thread(
            target=self._run,
            args=(url, events, occurred, fault, generation),
            name="telnyx-emulator-webhook",
            daemon=True,
        )
        thread.start()

    def _run(
        self,
        url: str,
        events: list[tuple[str, dict[str, Any]]],
        occurred: float,
        fault: WebhookFault | None,
        generation: int,
    ) -> None:
        kind = fault.kind if fault is not None else None
        try:
            if kind == "drop":
                self._dropped(url, events, generation)
                return
            if kind == "delay" and self._stopping.wait(fault.delay_ms / 1000):  # type: ignore[union-attr]
                return
            for index, (event_type, payload) in enumerate(
                events[::-1] if kind == "reorder" else events
            ):
                if index and self._event_gap and self._stopping.wait(self._event_gap):
                    return
                event_id = self._deliver(url, event_type, payload, occurred, kind, generation)
                if kind == "duplicate":  # the same event again, as a redelivery would be
                    self._deliver(url, event_type, payload, occurred, kind, generation, event_id)
        finally:
            with self._cond:
                self._active -= 1
                self._cond.notify_all()

    def _deliver(
        self,
        url: str,
        event_type: str,
        payload: dict[str, Any],
        occurred: float,
        fault: str | None,
        generation: int,
        event_id: str | None = None,
    ) -> str:
        event_id = event_id or str(uuid.uuid4())
        for attempt in range(1, self._max_attempts + 1):
            if self._stopping.is_set() or not self._current(generation):
                return event_id
            envelope = {
                "data": {
                    "event_type": event_type,
                    "id": event_id,
                    "occurred_at": event_time(occurred),
                    "payload": payload,
                    "record_type": "event",
                },
                "meta": {"attempt": attempt, "delivered_to": url},
            }
            body = json.dumps(envelope).encode("utf-8")
            timestamp = int(time.time())
            if fault == "stale_timestamp":
                timestamp -= STALE_TIMESTAMP_SECS
            headers = self._signer.headers(body, timestamp)
            if fault == "bad_signature":
                headers[SIGNATURE_HEADER] = self._signer.sign(body + b" ", timestamp)
            status, error = self._post(url, body, headers)
            entry = _log_entry(url, event_type, event_id, payload, attempt, status, error)
            with self._cond:
                if self._generation != generation:
                    return event_id
                self._log.append(entry)
            logger.info(
                "webhook %s attempt %d -> %s",
                event_type,
                attempt,
                status if status is not None else error,
            )
            if entry["delivered"]:
                return event_id
            if attempt < self._max_attempts and self._stopping.wait(self._retry_delay):
                return event_id
        return event_id

    def _dropped(self, url: str, events: list[tuple[str, dict[str, Any]]], generation: int) -> None:
        """Log a dropped send's events as never attempted (attempt 0)."""
        entries = [
            _log_entry(url, event_type, str(uuid.uuid4()), payload, 0, None, "dropped (fault)")
            for event_type, payload in events
        ]
        with self._cond:
            if self._generation == generation:
                self._log.extend(entries)

    def _post(
        self, url: str, body: bytes, signature_headers: dict[str, str]
    ) -> tuple[int | None, str | None]:
        request = urllib.request.Request(  # noqa: S310 - scheme checked by EmulatorConfig
            url,
            data=body,
            method="POST",
            headers={
                "Content-Type": "application/json",
                "User-Agent": "telnyx-emulator-webhooks/1.0",
                **signature_headers,
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=self._timeout) as response:  # noqa: S310
                response.read()
                return int(response.status), None
        except urllib.error.HTTPError as exc:
            exc.close()
            return int(exc.code), None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            return None, f"{type(exc).__name__}: {reason}"

    def _current(self, generation: int) -> bool:
        with self._cond:
            return self._generation == generation

    def log(self) -> list[dict[str, Any]]:
        with self._cond:
            return [dict(entry) for entry in self._log]

    def clear(self) -> None:
        """Forget the log and drop deliveries still queued from before."""
        with self._cond:
            self._generation += 1
            self._log.clear()

    def wait_idle(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._active:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._cond.wait(remaining)
            return True

    def stop(self, timeout: float = 2.0) -> None:
        self._stopping.set()
        self.wait_idle(timeout)

    def resume(self) -> None:
        self._stopping.clear()


def load_signer(seed: bytes | None, key_file: str | None) -> WebhookSigner:
    if seed is not None:
        return WebhookSigner(seed)
    if key_file is not None:
        return WebhookSigner.from_file(key_file)
    return WebhookSigner.generate()


def _log_entry(
    url: str,
    event_type: str,
    event_id: str,
    payload: dict[str, Any],
    attempt: int,
    status: int | None,
    error: str | None,
) -> dict[str, Any]:
    """One line of the webhook log (`webhook_log`): an attempt, or a dropped event (attempt 0)."""
    return {
        "url": url,
        "event_type": event_type,
        "event_id": event_id,
        "verification_id": payload.get("id"),
        "attempt": attempt,
        "status_code": status,
        "error": error,
        "delivered": status is not None and 200 <= status < 300,
        "at": datetime.now(UTC).isoformat(timespec="milliseconds"),
    }
