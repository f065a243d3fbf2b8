"""The local gateway serves a template's WebSocket API as API Gateway would: $connect decides
the handshake, $disconnect follows every close, a client's message meets no $default route, and
the management API (what the functions push through) reaches the open connection."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.exceptions import ClientError
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from devtools.local_gateway import LocalGateway, load_app

TEMPLATE = Path(__file__).resolve().parent / "fixtures" / "websocket_app" / "template.yaml"
WAIT_SECS = 30.0


@pytest.fixture(scope="module")
def event_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("ws") / "events.jsonl"


@pytest.fixture(scope="module")
def gateway(event_log: Path) -> Iterator[LocalGateway]:
    event_log.touch()
    gateway = LocalGateway(
        TEMPLATE, port=0, websocket_port=0, extra_env={"EVENT_LOG": str(event_log)}, quiet=True
    )
    with gateway:
        yield gateway


def events(log: Path, route: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in log.read_text().splitlines() if line]
    return [event for event in lines if event["requestContext"]["routeKey"] == route]


def management(gateway: LocalGateway) -> Any:
    return boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=gateway.base_url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",  # the local gateway checks no signature
    )


def test_the_template_s_websocket_routes_are_read() -> None:
    app = load_app(TEMPLATE)
    (api,) = app.websockets.values()
    assert (api.stage, api.routes) == (
        "live",
        {"$connect": "RoutesFunction", "$disconnect": "RoutesFunction"},
    )
    assert app.warnings == []


def test_a_connect_answered_non_2xx_refuses_the_handshake_with_that_answer(
    gateway: LocalGateway,
) -> None:
    assert gateway.websocket is not None
    with pytest.raises(InvalidStatus) as refused:
        connect(f"{gateway.websocket.url}/?deny=403", open_timeout=WAIT_SECS)
    assert refused.value.response.status_code == 403
    assert json.loads(bytes(refused.value.response.body or b"")) == {"denied": True}


def test_connect_message_push_and_disconnect(gateway: LocalGateway, event_log: Path) -> None:
    assert gateway.websocket is not None
    with connect(f"{gateway.websocket.url}/?flow_id=abc&x=1", open_timeout=WAIT_SECS) as ws:
        # The $connect event: API Gateway's shape, with the query string
        connected = events(event_log, "$connect")[-1]
        assert connected["queryStringParameters"] == {"flow_id": "abc", "x": "1"}
        context = connected["requestContext"]
        assert (context["eventType"], context["stage"]) == ("CONNECT", "live")
        # A message: no $default route, API Gateway's own answer names the connection
        ws.send(json.dumps({"action": "anything"}))
        answer = json.loads(ws.recv(timeout=WAIT_SECS))
        assert answer["message"] == "Forbidden"
        assert answer["connectionId"] == context["connectionId"]
        # A push through the management API (boto3, as the functions do) arrives as text
        management(gateway).post_to_connection(
            ConnectionId=context["connectionId"], Data=b'{"status":"pending"}'
        )
        assert ws.recv(timeout=WAIT_SECS) == '{"status":"pending"}'
    # Closing runs $disconnect for that connection
    deadline = time.monotonic() + WAIT_SECS
    while not [
        e
        for e in events(event_log, "$disconnect")
        if e["requestContext"]["connectionId"] == context["connectionId"]
    ]:
        assert time.monotonic() < deadline, "$disconnect never ran"
        time.sleep(0.05)
    # and the connection is gone: a push is answered GoneException, as API Gateway's 410
    with pytest.raises(ClientError) as gone:
        management(gateway).post_to_connection(ConnectionId=context["connectionId"], Data=b"x")
    assert gone.value.response["Error"]["Code"] == "GoneException"


def test_the_management_api_wants_a_signed_request(gateway: LocalGateway) -> None:
    answer = httpx.post(f"{gateway.base_url}/@connections/abc", content=b"x")
    assert answer.status_code == 403


def test_a_push_right_after_the_handshake_reaches_the_connection_however_slow_its_thread(
    event_log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a gateway whose connection threads start late (a busy machine: stress-ng --cpu 2)
    from devtools.local_gateway import websocket

    handle = websocket.LocalWebSocketApi._handle
    started = []

    def late(self: websocket.LocalWebSocketApi, connection: Any) -> None:
        time.sleep(1.0)
        started.append(True)
        handle(self, connection)

    monkeypatch.setattr(websocket.LocalWebSocketApi, "_handle", late)
    slow = LocalGateway(
        TEMPLATE, port=0, websocket_port=0, extra_env={"EVENT_LOG": str(event_log)}, quiet=True
    )
    with slow, connect(f"{slow.websocket.url}/?flow_id=late", open_timeout=WAIT_SECS) as ws:  # type: ignore[union-attr]
        connection_id = events(event_log, "$connect")[-1]["requestContext"]["connectionId"]
        # When a function pushes to it as soon as the client holds the open socket
        assert not started
        management(slow).post_to_connection(ConnectionId=connection_id, Data=b"now")
        # Then it is open, as API Gateway's is once $connect answered: the push arrives
        assert ws.recv(timeout=WAIT_SECS) == "now"
