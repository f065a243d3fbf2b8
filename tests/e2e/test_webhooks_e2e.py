"""Delivery reports end to end: the Telnyx emulator sends real signed webhooks to the local
gateway's function URL mount (/webhooks/telnyx), and GET /verify/status shows what the person's
page would show. DynamoDB Local is the database."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from devtools.local_stack.seeding import DEMO_PASSWORD
from devtools.local_stack.stack import LocalStack
from devtools.telnyx_emulator import TelnyxEmulator

PHONE = "+14155550123"
WEBHOOK_WAIT_SECS = 30  # the first delivery starts the webhook function's worker


@pytest.fixture
def emulator(stack: LocalStack) -> Iterator[TelnyxEmulator]:
    assert stack.emulator is not None
    yield stack.emulator
    stack.emulator.wait_for_webhooks(WEBHOOK_WAIT_SECS)
    stack.emulator.clear_faults()


def start_login(api: httpx.Client) -> str:
    response = api.post("/login", json={"email": "demo@example.com", "password": DEMO_PASSWORD})
    assert response.status_code == 200, response.text
    flow_id: str = response.json()["flow_id"]
    return flow_id


def status_of(api: httpx.Client, flow_id: str) -> dict[str, Any]:
    response = api.get("/verify/status", params={"flow_id": flow_id})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def deliveries_for(emulator: TelnyxEmulator, verification_id: str) -> list[tuple[str, int]]:
    return [
        (entry["event_type"], entry["status_code"])
        for entry in emulator.webhook_log()
        if entry["verification_id"] == verification_id
    ]


def test_the_emulators_signed_webhooks_show_the_sms_as_delivered(
    api: httpx.Client, emulator: TelnyxEmulator
) -> None:
    # Given a login whose code went out
    flow_id = start_login(api)
    vid = emulator.messages(PHONE)[0]["verification_id"]
    # When Telnyx's events arrive (verify.sent, then verify.delivered)
    assert emulator.wait_for_webhooks(WEBHOOK_WAIT_SECS)
    # Then each was accepted once, and the page can tell the SMS arrived
    assert deliveries_for(emulator, vid) == [("verify.sent", 200), ("verify.delivered", 200)]
    body = status_of(api, flow_id)
    assert (body["status"], body["delivery_status"]) == ("pending", "delivered")


def test_an_undelivered_sms_shows_as_delivery_failed(
    api: httpx.Client, emulator: TelnyxEmulator
) -> None:
    # Given the carrier will not deliver the next SMS
    emulator.add_delivery_fault("failed")
    # When a login sends it
    flow_id = start_login(api)
    assert emulator.wait_for_webhooks(WEBHOOK_WAIT_SECS)
    # Then the page can say the SMS could not be delivered
    assert status_of(api, flow_id)["delivery_status"] == "delivery_failed"


def test_a_forged_webhook_is_refused(
    stack: LocalStack, api: httpx.Client, emulator: TelnyxEmulator
) -> None:
    # Given a login, and an attacker who knows its verification id but not Telnyx's key
    flow_id = start_login(api)
    assert emulator.wait_for_webhooks(WEBHOOK_WAIT_SECS)
    vid = emulator.messages(PHONE)[0]["verification_id"]
    body = json.dumps(
        {
            "data": {
                "event_type": "verify.failed",
                "id": str(uuid.uuid4()),
                "payload": {"id": vid, "delivery_status": "sending_failed"},
                "record_type": "event",
            }
        }
    ).encode()
    stolen = emulator.sign_webhook(b"some other body")
    # When
    forged = api.post(
        "/webhooks/telnyx",
        content=body,
        headers={"Content-Type": "application/json", **stolen},
    )
    stale = api.post(
        "/webhooks/telnyx",
        content=body,
        headers={
            "Content-Type": "application/json",
            **emulator.sign_webhook(body, timestamp=int(time.time()) - 3600),
        },
    )
    # Then
    for response in (forged, stale):
        assert response.status_code == 401
        assert response.json() == {"error": "Invalid signature", "code": "invalid_signature"}
    assert status_of(api, flow_id)["delivery_status"] == "delivered"


def test_cancel_then_status_over_http(api: httpx.Client, emulator: TelnyxEmulator) -> None:
    flow_id = start_login(api)
    assert api.post("/verify/cancel", json={"flow_id": flow_id}).json() == {"cancelled": True}
    assert api.post("/verify/cancel", json={"flow_id": flow_id}).json() == {"cancelled": False}
    assert status_of(api, flow_id)["status"] == "cancelled"
    missing = api.get("/verify/status", params={"flow_id": "x" * 43})
    assert (missing.status_code, missing.json()["code"]) == (404, "not_found")
