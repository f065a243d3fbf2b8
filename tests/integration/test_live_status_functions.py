"""The live-status WebSocket functions and the pushes, as Lambda runs them on moto: $connect
registers a watcher under the flow's hash, a signed delivery report, a cancel and a flow ended
as superseded (the account's phone changed, then the code is entered or resent) reach it
through the management API (moto's), $disconnect forgets it (docs/realtime.md)."""

from __future__ import annotations

import json
import math
import time
import uuid
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from moto.apigatewaymanagementapi.models import apigatewaymanagementapi_backends

from devtools.telnyx_emulator import TelnyxEmulator
from phoneverify.flows.engine.any_flow import flow_key
from tests.support import round_trips
from tests.support.accounts import fresh_phone
from tests.support.lambda_env import (
    LambdaContext,
    api_event,
    invoke,
    load_function,
    template_environment,
    websocket_event,
)
from tests.support.verify_stack import VerifyStack, telnyx_event

PAGE = "http://127.0.0.1:3000"  # the local AllowedOrigin the template is resolved with


@pytest.fixture(scope="module")
def ws(shared_verify_stack: VerifyStack) -> Iterator[dict[str, ModuleType]]:
    with pytest.MonkeyPatch.context() as monkeypatch:
        yield {
            route: load_function(directory, monkeypatch, template_environment(function_id))
            for route, directory, function_id in [
                ("$connect", "ws_connect", "WsConnectFunction"),
                ("$disconnect", "ws_disconnect", "WsDisconnectFunction"),
            ]
        }


@pytest.fixture
def stack(shared_verify_stack: VerifyStack) -> VerifyStack:
    return shared_verify_stack.with_new_account()


def connect(ws: dict[str, ModuleType], flow_id: str | None, connection_id: str) -> dict[str, Any]:
    query = {"flow_id": flow_id} if flow_id is not None else None
    event = websocket_event("$connect", connection_id, query, origin=PAGE)
    answer: dict[str, Any] = ws["$connect"].lambda_handler(event, LambdaContext("ws_connect"))
    return answer


def disconnect(ws: dict[str, ModuleType], connection_id: str) -> None:
    event = websocket_event("$disconnect", connection_id)
    ws["$disconnect"].lambda_handler(event, LambdaContext("ws_disconnect"))


def pushed(connection_id: str) -> list[dict[str, Any]]:
    """What moto's management API received for the connection (JSON documents, in order)."""
    raw = apigatewaymanagementapi_backends["123456789012"]["us-east-1"].connections
    data = raw[connection_id].data.decode() if connection_id in raw else ""
    decoder, found, at = json.JSONDecoder(), [], 0
    while at < len(data):
        document, at = decoder.raw_decode(data, at)
        found.append(document)
    return found


def connections_table(stack: VerifyStack) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = stack.functions.dynamodb.scan(TableName="ConnectionsTable")[
        "Items"
    ]
    return items


def new_id() -> str:
    return uuid.uuid4().hex


def test_a_failed_sms_is_pushed_to_the_connection_as_the_status_body(
    stack: VerifyStack, ws: dict[str, ModuleType]
) -> None:
    # Given a page connected to its pending login
    flow_id, connection = stack.login(), new_id()
    assert connect(ws, flow_id, connection) == {"statusCode": 200}
    # When Telnyx reports that the SMS failed
    failed = telnyx_event(
        "verify.failed", stack.verification_id(), delivery_status="delivery_failed"
    )
    assert stack.deliver(failed)[0] == 200
    # Then the connection received exactly what GET /verify/status answers
    messages = pushed(connection)
    assert [m["delivery_status"] for m in messages] == ["delivery_failed"]
    status = stack.status_of(flow_id)
    assert messages[0]["status"] == status["status"] == "pending"
    assert set(messages[0]) == set(status)


def test_the_table_keeps_the_flows_hash_never_its_id_and_no_longer_than_the_code(
    stack: VerifyStack, ws: dict[str, ModuleType]
) -> None:
    flow_id, connection = stack.login(), new_id()
    connect(ws, flow_id, connection)
    mine = [
        item
        for item in connections_table(stack)
        if item["pk"]["S"] in (f"flow#{flow_key(flow_id)}", f"connection#{connection}")
    ]
    assert len(mine) == 2
    assert flow_id not in json.dumps(connections_table(stack))
    expires_at = float(stack.item(flow_id)["expires_at"]["N"])
    assert {int(item["ttl"]["N"]) for item in mine} == {math.ceil(expires_at)}


def test_disconnect_forgets_the_connection(stack: VerifyStack, ws: dict[str, ModuleType]) -> None:
    flow_id, connection = stack.login(), new_id()
    connect(ws, flow_id, connection)
    disconnect(ws, connection)
    keys = {item["pk"]["S"]: item for item in connections_table(stack)}
    assert f"connection#{connection}" not in keys
    assert "connections" not in keys.get(f"flow#{flow_key(flow_id)}", {})
    stack.deliver(telnyx_event("verify.delivered", stack.verification_id()))
    assert pushed(connection) == []


def test_an_ended_flow_is_refused_and_nothing_is_written(
    stack: VerifyStack, ws: dict[str, ModuleType]
) -> None:
    flow_id, connection = stack.login(), new_id()
    assert stack.cancel(flow_id)[0] == 200
    answer = connect(ws, flow_id, connection)
    assert answer["statusCode"] == 403
    assert json.loads(answer["body"])["code"] == "watch_refused"
    assert not [i for i in connections_table(stack) if connection in i["pk"]["S"]]


def test_a_flow_takes_at_most_five_connections(
    stack: VerifyStack, ws: dict[str, ModuleType]
) -> None:
    flow_id = stack.login()
    answers = [connect(ws, flow_id, new_id())["statusCode"] for _ in range(6)]
    assert answers == [200] * 5 + [429]


def test_a_cancel_is_pushed_to_the_flows_connections(
    stack: VerifyStack, ws: dict[str, ModuleType]
) -> None:
    flow_id, connection = stack.login(), new_id()
    connect(ws, flow_id, connection)
    assert stack.cancel(flow_id) == (200, {"cancelled": True})
    assert pushed(connection) == [
        {"status": "cancelled", "delivery_status": "unknown", "expires_in": 0, "channel": "sms"}
    ]


def test_each_report_is_pushed_once_with_the_status_it_recorded(
    stack: VerifyStack, ws: dict[str, ModuleType]
) -> None:
    # Given a page connected to its pending login
    flow_id, connection = stack.login(), new_id()
    connect(ws, flow_id, connection)
    vid = stack.verification_id()
    sent = telnyx_event("verify.sent", vid)
    # When Telnyx reports sent (twice: its redelivery), delivered, then a late sent
    for body in (
        sent,
        sent,
        telnyx_event("verify.delivered", vid),
        telnyx_event("verify.sent", vid),
    ):
        assert stack.deliver(body) == (200, {"received": True})
    # Then the page heard each step forward once, as GET /verify/status tells it
    messages = pushed(connection)
    assert [(m["status"], m["delivery_status"]) for m in messages] == [
        ("pending", "sent"),
        ("pending", "delivered"),
    ]
    assert messages[-1] | {"expires_in": 0} == stack.status_of(flow_id) | {"expires_in": 0}


def test_a_watched_report_learns_its_watchers_from_its_own_write(
    stack: VerifyStack, ws: dict[str, ModuleType]
) -> None:
    # Given a watched login, the webhook function's calls counted
    flow_id, connection = stack.login(), new_id()
    connect(ws, flow_id, connection)
    round_trips.watch(stack.webhook)
    # When a report comes in
    with round_trips.counting() as calls:
        assert stack.deliver(telnyx_event("verify.delivered", stack.verification_id()))[0] == 200
    # Then: the lookup, the write that found the watcher, the write made expecting it, and
    # the flow's state to push; the connections table is never read
    assert {name: n for name, n in calls.items() if name.startswith("dynamodb.")} == {
        "dynamodb.Query": 1,
        "dynamodb.TransactWriteItems": 2,
        "dynamodb.GetItem": 1,
    }
    assert [m["delivery_status"] for m in pushed(connection)] == ["delivered"]


def test_a_page_connecting_while_the_report_is_written_hears_it(
    stack: VerifyStack, ws: dict[str, ModuleType]
) -> None:
    # Given a page watching its login, and a second tab that connects between the report's
    # first write (which finds the first page) and its second
    flow_id, first, second = stack.login(), new_id(), new_id()
    connect(ws, flow_id, first)
    events = stack.webhook.runtime.dynamodb.meta.events
    writes: list[int] = []

    def second_tab_connects(**_: Any) -> None:
        writes.append(1)
        if len(writes) == 2:
            assert connect(ws, flow_id, second) == {"statusCode": 200}

    events.register("before-call.dynamodb.TransactWriteItems", second_tab_connects)
    try:
        assert stack.deliver(telnyx_event("verify.delivered", stack.verification_id()))[0] == 200
    finally:
        events.unregister("before-call.dynamodb.TransactWriteItems", second_tab_connects)
    # Then the report was written expecting exactly the watchers at its commit: both hear it
    assert [m["delivery_status"] for m in pushed(first)] == ["delivered"]
    assert [m["delivery_status"] for m in pushed(second)] == ["delivered"]


# -- a flow ended as superseded: the functions that check and resend codes push it too ---------
# What a watcher hears when its flow ends, as GET /verify/status then answers.
ENDED = {"status": "cancelled", "delivery_status": "unknown", "expires_in": 0, "channel": "sms"}
ORDER = {"amount": "250.00", "currency": "USD", "recipient": "Acme Supplies"}  # needs a code


@pytest.fixture(scope="module")
def payments(
    shared_verify_stack: VerifyStack, emulator: TelnyxEmulator
) -> Iterator[dict[str, ModuleType]]:
    """The payment functions over the shared stack's tables, resending at once."""
    overrides = {"TelnyxApiBaseUrl": emulator.base_url}
    with pytest.MonkeyPatch.context() as monkeypatch:
        yield {
            directory: load_function(
                directory,
                monkeypatch,
                {**template_environment(function_id, overrides), "RESEND_COOLDOWN_SECS": "0"},
            )
            for directory, function_id in [
                ("payments_initiate", "PaymentsInitiateFunction"),
                ("payments_confirm", "PaymentsConfirmFunction"),
                ("payments_resend", "PaymentsResendFunction"),
            ]
        }


def pay(
    payments: dict[str, ModuleType], stack: VerifyStack, name: str, path: str, body: object
) -> tuple[int, dict[str, Any]]:
    """Call a payment function as API Gateway does after the authorizer allowed the payer."""
    event = api_event(path, body)
    event["requestContext"]["authorizer"] = {"principalId": stack.user_id, "user_id": stack.user_id}
    status, answer, _ = invoke(payments[name], event)
    return status, answer


def change_phone(stack: VerifyStack) -> None:
    """The account moves to another number (what POST /account/phone/verify writes)."""
    users = stack.functions.users
    user = users.get(stack.user_id)
    assert user is not None
    users.change_phone(
        stack.user_id, stack.phone, fresh_phone(), user.phone_generation, time.time()
    )


@pytest.mark.parametrize("step", ["verify", "resend"])
def test_a_login_superseded_by_a_phone_change_is_pushed_to_its_watcher(
    stack: VerifyStack, ws: dict[str, ModuleType], step: str
) -> None:
    # Given a page watching its login, whose account then moved to another phone
    flow_id, connection = stack.login(), new_id()
    code = stack.code()
    assert connect(ws, flow_id, connection) == {"statusCode": 200}
    change_phone(stack)
    # When the code is entered, or a fresh one asked for
    if step == "verify":
        status, body, _ = stack.call("login_verify", {"flow_id": flow_id, "code": code})
    else:
        status, body, _ = stack.call("login_resend", {"flow_id": flow_id})
    # Then the login ends as superseded, and the page hears it ended, as GET /verify/status
    assert (status, body.get("code")) == (400, "no_pending_verification"), body
    assert pushed(connection) == [ENDED]
    assert stack.status_of(flow_id) | {"expires_in": 0} == ENDED


@pytest.mark.parametrize(
    ("step", "path"),
    [("payments_confirm", "/payments/confirm"), ("payments_resend", "/payments/resend")],
)
def test_a_payment_superseded_by_a_phone_change_is_pushed_to_its_watcher(
    stack: VerifyStack,
    ws: dict[str, ModuleType],
    payments: dict[str, ModuleType],
    step: str,
    path: str,
) -> None:
    # Given a payment waiting for its code, watched (its flow id is the server's: read here
    # from the payment), and the payer's account then moved to another phone
    status, started = pay(payments, stack, "payments_initiate", "/payments/initiate", ORDER)
    assert status == 200 and started["requires_verification"] is True, started
    payment_id = started["payment_id"]
    flow_id = stack.functions.dynamodb.get_item(
        TableName="PaymentsTable", Key={"payment_id": {"S": payment_id}}, ConsistentRead=True
    )["Item"]["flow_id"]["S"]
    connection = new_id()
    assert connect(ws, flow_id, connection) == {"statusCode": 200}
    code = stack.code()
    change_phone(stack)
    # When the code is entered, or a fresh one asked for
    body = (
        {"payment_id": payment_id, "code": code}
        if step == "payments_confirm"
        else {"payment_id": payment_id}
    )
    status, answer = pay(payments, stack, step, path, body)
    # Then the payment's flow ends as superseded, and its watcher hears it
    assert (status, answer.get("code")) == (400, "no_pending_verification"), answer
    assert pushed(connection) == [ENDED]
