"""HTTP layer: routing, bearer auth, fault injection, JSON in and out, masked access log."""

from __future__ import annotations

import hmac
import json
import logging
import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import unquote, urlsplit

from devtools.telnyx_emulator import errors
from devtools.telnyx_emulator.config import EmulatorConfig
from devtools.telnyx_emulator.emails import SEND_EMAIL_PATH, BadEmailRequest, EmailOutbox
from devtools.telnyx_emulator.faults import (
    DELIVERY_FAULTS,
    ENDPOINTS,
    WEBHOOK_FAULTS,
    ApiFault,
    DeliveryFault,
    WebhookFault,
)
from devtools.telnyx_emulator.state import EmulatorState
from devtools.telnyx_emulator.verifications import CHANNELS
from devtools.telnyx_emulator.webhooks import WebhookDispatcher, WebhookSigner

logger = logging.getLogger("telnyx_emulator")

MAX_BODY_BYTES = 1024 * 1024
_PHONE_IN_PATH = re.compile(r"(?:\+|%2[bB])?[0-9]{5,15}")
_BY_PHONE_SEGMENT = re.compile(r"(/by_phone_number/)([^/]+)")


def mask_phone(value: str) -> str:
    digits = re.sub(r"[^0-9]", "", unquote(value))
    return "***" + digits[-4:] if digits else "***"


def masked_path(path: str) -> str:
    """The request path for the access log: no query string, phone numbers masked."""
    path = path.split("?", 1)[0]
    path = _BY_PHONE_SEGMENT.sub(lambda m: m.group(1) + mask_phone(m.group(2)), path)
    return _PHONE_IN_PATH.sub(
        lambda m: mask_phone(m.group(0)) if m.group(0)[:1] in "+%" else m.group(0), path
    )


class BadDevRequest(Exception):
    """A malformed request to a dev-only /_emulator endpoint."""


@dataclass(frozen=True)
class _Route:
    endpoint: str  # fault-injection class: send | verify | retrieve (send: every channel)
    run: Callable[[tuple[str, ...], bytes], dict[str, Any]]


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128  # the default 5 resets bursts of parallel clients

    def __init__(
        self,
        config: EmulatorConfig,
        state: EmulatorState,
        signer: WebhookSigner,
        dispatcher: WebhookDispatcher,
    ) -> None:
        self.config = config
        self.state = state
        self.signer = signer
        self.dispatcher = dispatcher
        self.emails = EmailOutbox()
        super().__init__((config.host, config.port), RequestHandler)


def _parse_json(raw: bytes) -> Any:
    if not raw.strip():
        raise errors.malformed_body("The request body must be a JSON object.")
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise errors.malformed_body("The request body is not valid JSON.") from None


def _parse_query(query: str) -> dict[str, str]:
    # unquote, not unquote_plus: a bare "+" in "?phone_number=+1415..." stays a plus.
    params: dict[str, str] = {}
    for part in query.split("&"):
        if part:
            name, _, value = part.partition("=")
            params[unquote(name)] = unquote(value)
    return params


def _truthy(value: str | None) -> bool:
    return value is not None and value.lower() in ("1", "true", "yes")


class RequestHandler(BaseHTTPRequestHandler):
    server: EmulatorServer
    protocol_version = "HTTP/1.1"
    server_version = "TelnyxEmulator/1.0"
    sys_version = ""

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in two writes; without this, Nagle plus delayed ACKs
        # add ~40 ms to every keep-alive request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_PUT(self) -> None:
        self._handle("PUT")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def log_message(self, format: str, *args: Any) -> None:
        """Silenced: the only access log is the masked one in `_send`."""

    # -- dispatch -------------------------------------------------------------

    def _handle(self, method: str) -> None:
        split = urlsplit(self.path)
        path = split.path
        self._after_response: list[Callable[[], None]] = []
        try:
            raw = self._read_body()
            if path == SEND_EMAIL_PATH and method == "POST":  # SES v2 SendEmail (emails.py)
                status, payload = 200, self.server.emails.send(_parse_json(raw))
            elif path == "/v2" or path.startswith("/v2/"):
                status, payload = self._api(method, path, raw)
            elif path.startswith("/_emulator/"):
                status, payload = self._dev(method, path, split.query, raw)
            else:
                status, payload = 404, {"error": "Not found. The API lives under /v2."}
        except errors.TelnyxApiError as exc:
            status, payload = exc.status, exc.envelope()
        except BadDevRequest as exc:
            status, payload = 400, {"error": str(exc)}
        except BadEmailRequest as exc:
            status, payload = 400, {"message": str(exc)}
        except Exception:
            logger.exception("unexpected error handling %s %s", method, masked_path(path))
            status, payload = 500, errors.TelnyxApiError(500, "10007").envelope()
        try:
            self._send(method, status, payload)
        finally:
            for action in self._after_response:
                action()

    def _read_body(self) -> bytes:
        length_header = self.headers.get("Content-Length")
        if not length_header:
            return b""
        try:
            length = int(length_header)
        except ValueError:
            self.close_connection = True
            raise errors.malformed_body("Invalid Content-Length header.") from None
        if length < 0 or length > MAX_BODY_BYTES:
            self.close_connection = True
            raise errors.malformed_body("The request body is too large.")
        return self.rfile.read(length)

    def _send(self, method: str, status: int, payload: Any) -> None:
        body = json.dumps(payload).encode("utf-8")
        # Logged before the write, so a client that has its answer also has the log line.
        if self.server.config.log_requests:
            logger.info("%s %s %d", method, masked_path(self.path), status)
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    # -- the Verify API ---------------------------------------------------------

    def _authorized(self) -> bool:
        header = self.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return False
        return hmac.compare_digest(token.strip().encode(), self.server.config.api_key.encode())

    def _route(self, method: str, path: str) -> tuple[_Route, tuple[str, ...]] | None:
        state = self.server.state
        parts = tuple(unquote(p) for p in path.split("/")[1:])
        if parts == ("v2", "messages") and method == "POST":
            return _Route("message", lambda _a, raw: self._send_message(raw)), ()
        if len(parts) < 2 or parts[0] != "v2" or parts[1] != "verifications":
            return None
        rest = parts[2:]
        if method == "POST" and len(rest) == 1 and rest[0] in CHANNELS:
            return _Route("send", lambda a, raw: self._trigger(a[0], raw)), (rest[0],)
        if len(rest) == 4 and rest[0] == "by_phone_number" and rest[2:] == ("actions", "verify"):
            if method == "POST":
                return _Route(
                    "verify",
                    lambda a, raw: {"data": state.verify_by_phone_number(a[0], _parse_json(raw))},
                ), (rest[1],)
            return None
        if len(rest) == 2 and rest[0] == "by_phone_number" and method == "GET":
            return _Route("retrieve", lambda a, _raw: state.list_by_phone_number(a[0])), (rest[1],)
        if len(rest) == 3 and rest[1:] == ("actions", "verify") and method == "POST":
            return _Route(
                "verify", lambda a, raw: {"data": state.verify_by_id(a[0], _parse_json(raw))}
            ), (rest[0],)
        if len(rest) == 1 and rest[0] not in (*CHANNELS, "by_phone_number") and method == "GET":
            return _Route("retrieve", lambda a, _raw: {"data": state.retrieve(a[0])}), (rest[0],)
        return None

    def _trigger(self, channel: str, raw: bytes) -> dict[str, Any]:
        result = self.server.state.trigger(channel, _parse_json(raw))
        # Events go out once the caller has its answer, as they would from Telnyx; they count
        # as in flight from now, so a caller waiting for webhooks never sees a gap.
        send = self.server.dispatcher.hold()
        self._after_response.append(
            lambda: send(result.events, result.occurred, result.webhook_fault)
        )
        return {"data": result.verification}

    def _send_message(self, raw: bytes) -> dict[str, Any]:
        key = self.headers.get("Idempotency-Key") or None
        return {"data": self.server.state.send_message(_parse_json(raw), key)}

    def _api(self, method: str, path: str, raw: bytes) -> tuple[int, Any]:
        if not self._authorized():
            raise errors.authentication_failed()
        found = self._route(method, path)
        if found is None:
            raise errors.not_found()
        route, args = found
        fault = self.server.state.take_api_fault(route.endpoint)
        if fault is not None and fault.delay_ms > 0:
            time.sleep(fault.delay_ms / 1000)
        if fault is not None and fault.status is not None and fault.apply == "before":
            raise errors.injected(fault.status)
        result = route.run(args, raw)
        if fault is not None and fault.status is not None and fault.apply == "after":
            raise errors.injected(fault.status)
        return 200, result

    # -- dev-only endpoints -----------------------------------------------------

    def _dev(self, method: str, path: str, query: str, raw: bytes) -> tuple[int, Any]:
        server = self.server
        name = path.removeprefix("/_emulator/").rstrip("/")
        if (method, name) == ("GET", "health"):
            return 200, {"status": "ok"}
        if (method, name) == ("GET", "public_key"):
            return 200, {"public_key": server.signer.public_key_b64}
        if (method, name) == ("GET", "messages"):
            params = _parse_query(query)
            kind = params.get("kind") or None
            if kind not in (None, "code", "notice"):
                raise BadDevRequest("kind must be 'code' or 'notice'")
            channel = params.get("channel") or None
            if channel is not None and channel not in CHANNELS:
                raise BadDevRequest(f"channel must be one of {list(CHANNELS)}")
            data = server.state.messages(
                params.get("phone_number") or None,
                include_undelivered=_truthy(params.get("include_undelivered")),
                kind=kind,
                channel=channel,
                phone_hint=params.get("phone_hint") or None,
            )
            return 200, {"data": data}
        if (method, name) == ("GET", "emails"):
            return 200, {"data": server.emails.emails(_parse_query(query).get("to") or None)}
        if (method, name) == ("GET", "webhooks"):
            return 200, {"data": server.dispatcher.log()}
        if name == "faults":
            if method == "GET":
                return 200, {"data": server.state.faults()}
            if method == "DELETE":
                server.state.clear_faults()
                return 200, {"data": []}
            if method == "POST":
                add_fault_from_json(server.state, _dev_json(raw))
                return 200, {"data": server.state.faults()}
        if name == "clock":
            if method == "GET":
                return 200, server.state.clock_view()
            if method == "POST":
                body = _dev_json(raw)
                advance = body.get("advance_secs")
                if isinstance(advance, bool) or not isinstance(advance, int | float):
                    raise BadDevRequest("advance_secs must be a number")
                return 200, server.state.advance_clock(float(advance))
        if (method, name) == ("POST", "reset"):
            server.state.reset()
            server.emails.reset()
            server.dispatcher.clear()
            return 200, {"reset": True}
        return 404, {"error": f"No dev endpoint {method} /_emulator/{name}"}


def _dev_json(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw) if raw.strip() else {}
    except (ValueError, UnicodeDecodeError):
        raise BadDevRequest("body is not valid JSON") from None
    if not isinstance(body, dict):
        raise BadDevRequest("body must be a JSON object")
    return body


def _int_field(body: dict[str, Any], name: str, default: int, minimum: int) -> int:
    value = body.get(name, default)
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise BadDevRequest(f"{name} must be an integer >= {minimum}")
    return value


def add_fault_from_json(state: EmulatorState, body: dict[str, Any]) -> None:
    """Arm a fault described as in POST /_emulator/faults."""
    count = _int_field(body, "count", 1, 1)
    if "delivery" in body:
        outcome = DELIVERY_FAULTS.get(str(body["delivery"]))
        if outcome is None:
            raise BadDevRequest(f"delivery must be one of {sorted(DELIVERY_FAULTS)}")
        channel = body.get("channel")
        if channel is not None and channel not in CHANNELS:
            raise BadDevRequest(f"channel must be one of {list(CHANNELS)}")
        state.add_delivery_fault(DeliveryFault(outcome, count, channel))
        return
    if "webhook" in body:
        if body["webhook"] not in WEBHOOK_FAULTS:
            raise BadDevRequest(f"webhook must be one of {list(WEBHOOK_FAULTS)}")
        delay_ms = _int_field(body, "delay_ms", 0, 0)
        state.add_webhook_fault(WebhookFault(str(body["webhook"]), count, delay_ms))
        return
    endpoint = body.get("endpoint", "any")
    if endpoint not in ENDPOINTS:
        raise BadDevRequest(f"endpoint must be one of {list(ENDPOINTS)}")
    status = body.get("status")
    if status is not None and (
        isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599
    ):
        raise BadDevRequest("status must be an HTTP error status (400-599)")
    delay_ms = _int_field(body, "delay_ms", 0, 0)
    if status is None and delay_ms == 0:
        raise BadDevRequest("give a status, a delay_ms, or both")
    apply = body.get("apply", "before")
    if apply not in ("before", "after"):
        raise BadDevRequest("apply must be 'before' or 'after'")
    state.add_api_fault(ApiFault(str(endpoint), status, count, delay_ms, str(apply)))
