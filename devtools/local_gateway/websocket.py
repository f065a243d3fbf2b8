"""A template's WebSocket API (``AWS::ApiGatewayV2::Api``, ProtocolType WEBSOCKET), served
locally with the ``websockets`` package the way API Gateway runs it:

* ``$connect``: the route's function gets the API Gateway-shaped event (query string, headers,
  ``requestContext.connectionId``); a 2xx answer completes the handshake, anything else refuses
  it with that status (and the function's body), as API Gateway does.
* ``$disconnect``: invoked once the connection closed, from either side; its answer is ignored.
* A message from the client: there is no ``$default`` route locally either, so it is answered
  ``{"message": "Forbidden"}`` and reaches no function.
* The management API the functions push through (``POST /@connections/{id}``, and ``GET`` and
  ``DELETE``) is served by the HTTP gateway (server.py), which hands it to ``post``/``close``
  here: 410 GoneException for a connection that is not open, as API Gateway answers.
  A connection is open from the moment its $connect answered 2xx (API Gateway's is): the
  ``websockets`` server sends the 101 before the connection's own thread starts, so a push
  in between waits for the handshake to finish instead of calling the socket gone (on a
  busy machine that gap let a flow's cap sweep drop a live socket: docs/realtime.md).

Not emulated: the 10-minute idle timeout and the 2-hour connection limit.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.protocol import State
from websockets.sync.server import Server, ServerConnection, serve

from .template import WebSocketApi
from .workers import Outcome

Invoke = Callable[[str, Any, str, "float | None"], Outcome]

HANDSHAKE_WAIT_SECS = 10.0  # a push to a socket whose 101 is still being written waits this long


def _connection_id() -> str:
    """API Gateway-looking (base64 of 12 bytes): e.g. ``L0SM9cOFvHcCIhw=``."""
    return secrets.token_urlsafe(12)[:15] + "="


def _request_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")


class LocalWebSocketApi:
    def __init__(
        self, api: WebSocketApi, invoke: Invoke, host: str, port: int, log: Callable[[str], None]
    ) -> None:
        self.api, self._invoke, self._log = api, invoke, log
        self.host, self._requested_port = host, port
        self._server: Server | None = None
        self._open: dict[str, ServerConnection] = {}
        self._ids: dict[int, str] = {}  # id(connection) -> connection id, from the handshake
        self._connected_at: dict[str, float] = {}
        self._lock = threading.Lock()

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> LocalWebSocketApi:
        self._server = serve(
            self._handle,
            self.host,
            self._requested_port,
            process_request=self._connect,
            compression=None,
            server_header=None,
        )
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
        with self._lock:
            connections = list(self._open.values())
        for connection in connections:
            connection.close(1001)

    @property
    def port(self) -> int:
        server = self._server
        return self._requested_port if server is None else int(server.socket.getsockname()[1])

    @property
    def url(self) -> str:
        """What a client opens (``wss://<api>.execute-api.<region>.amazonaws.com/<stage>`` on
        AWS); any path is accepted locally."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"ws://{host}:{self.port}"

    def is_open(self, connection_id: str) -> bool:
        with self._lock:
            return connection_id in self._open

    # -- the management API ------------------------------------------------------------------
    def post(self, connection_id: str, data: bytes) -> bool:
        """Send `data` to the connection (a text frame when it is UTF-8); False if not open."""
        with self._lock:
            connection = self._open.get(connection_id)
        if connection is None or not self._handshake_done(connection_id, connection):
            return False
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            connection.send(data)
        else:
            connection.send(text)
        return True

    def close(self, connection_id: str) -> bool:
        with self._lock:
            connection = self._open.get(connection_id)
        if connection is None or not self._handshake_done(connection_id, connection):
            return False
        connection.close(1000)
        return True

    def _handshake_done(self, connection_id: str, connection: ServerConnection) -> bool:
        """True once the connection is open; False (and forgotten) if its handshake failed
        after $connect accepted it (the client went away before the 101)."""
        deadline = time.monotonic() + HANDSHAKE_WAIT_SECS
        while connection.state is State.CONNECTING and time.monotonic() < deadline:
            time.sleep(0.005)
        if connection.state is State.OPEN:
            return True
        if connection.state is State.CLOSED:
            with self._lock:
                if self._open.get(connection_id) is connection and id(connection) in self._ids:
                    # accepted, never handled: no thread will forget it
                    del self._open[connection_id], self._ids[id(connection)]
                    self._connected_at.pop(connection_id, None)
        return False

    def describe(self, connection_id: str) -> dict[str, Any] | None:
        with self._lock:
            at = self._connected_at.get(connection_id)
        if at is None:
            return None
        stamp = datetime.fromtimestamp(at, tz=UTC).isoformat()
        return {"connectedAt": stamp, "lastActiveAt": stamp, "identity": {"sourceIp": self.host}}

    # -- routes ------------------------------------------------------------------------------
    def _event(self, route: str, connection_id: str, request: Request | None) -> dict[str, Any]:
        now = time.time()
        request_id = str(uuid.uuid4())
        context: dict[str, Any] = {
            "routeKey": route,
            "eventType": "CONNECT" if route == "$connect" else "DISCONNECT",
            "extendedRequestId": request_id,
            "requestTime": _request_time(now),
            "messageDirection": "IN",
            "stage": self.api.stage,
            "connectedAt": int(self._connected_at.get(connection_id, now) * 1000),
            "requestTimeEpoch": int(now * 1000),
            "identity": {"sourceIp": self.host, "userAgent": None},
            "requestId": request_id,
            "domainName": f"{self.host}:{self.port}",
            "connectionId": connection_id,
            "apiId": self.api.api_id,
        }
        event: dict[str, Any] = {"requestContext": context, "isBase64Encoded": False}
        if request is not None:
            headers = {name: value for name, value in request.headers.raw_items()}
            context["identity"]["userAgent"] = headers.get("User-Agent")
            query = parse_qs(urlsplit(request.path).query, keep_blank_values=True)
            event["headers"] = headers
            event["multiValueHeaders"] = {k: request.headers.get_all(k) for k in headers}
            event["queryStringParameters"] = {k: v[-1] for k, v in query.items()} or None
            event["multiValueQueryStringParameters"] = query or None
        else:
            context["disconnectStatusCode"] = 1000
            context["disconnectReason"] = ""
            event["headers"] = {"Host": f"{self.host}:{self.port}"}
        return event

    def _connect(self, connection: ServerConnection, request: Request) -> Response | None:
        connection_id = _connection_id()
        self._connected_at[connection_id] = time.time()
        function_id = self.api.routes.get("$connect")
        if function_id is not None:
            event = self._event("$connect", connection_id, request)
            outcome = self._invoke(function_id, event, connection_id, None)
            payload = outcome.payload if isinstance(outcome.payload, dict) else {}
            status = int(payload.get("statusCode") or 0) if outcome.kind == "ok" else 502
            self._log(f"WS $connect {urlsplit(request.path).path} -> {status} ({function_id})")
            if not 200 <= status < 300:
                self._connected_at.pop(connection_id, None)
                body = payload.get("body")
                return connection.respond(status, body if isinstance(body, str) else "")
        with self._lock:
            # Open from now on, as API Gateway's connection is once $connect answered 2xx
            # (`post` waits for the 101 to be written).
            self._ids[id(connection)] = connection_id
            self._open[connection_id] = connection
        return None

    def _handle(self, connection: ServerConnection) -> None:
        with self._lock:
            connection_id = self._ids.pop(id(connection))
        try:
            for _ in connection:  # no $default route: API Gateway's own answer
                connection.send(
                    json.dumps(
                        {
                            "message": "Forbidden",
                            "connectionId": connection_id,
                            "requestId": str(uuid.uuid4()),
                        }
                    )
                )
        except ConnectionClosed:
            pass
        finally:
            with self._lock:
                self._open.pop(connection_id, None)
            function_id = self.api.routes.get("$disconnect")
            if function_id is not None:
                event = self._event("$disconnect", connection_id, None)
                self._invoke(function_id, event, connection_id, None)
                self._log(f"WS $disconnect -> ({function_id})")
            self._connected_at.pop(connection_id, None)
