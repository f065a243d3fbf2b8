"""Attacks on the Telnyx delivery webhook: an attacker who knows a flow's verification id posts
delivery events of their own, to make a person's page say their SMS failed.

So that an event getting through would show, each flow here starts with the emulator's own
webhooks spoiled (a bad signature, which the API refuses): the flow's delivery status stays
`unknown`, and any accepted `verify.failed` would turn it into `sending_failed`."""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.security.conftest import DEMO_PHONE, Target

WEBHOOK_WAIT_SECS = 30  # the emulator retries each refused delivery; wait for all of it
INVALID = {"error": "Invalid signature", "code": "invalid_signature"}


@dataclass
class Flow:
    flow_id: str
    verification_id: str


@pytest.fixture
def flow(target: Target) -> Iterator[Flow]:
    """A pending login whose real delivery reports were all refused: delivery `unknown`."""
    target.emulator.add_webhook_fault("bad_signature")
    try:
        flow_id = target.login()
        verification_id = target.emulator.messages(DEMO_PHONE)[0]["verification_id"]
        assert target.emulator.wait_for_webhooks(WEBHOOK_WAIT_SECS)
        refused = [
            entry["status_code"]
            for entry in target.emulator.webhook_log()
            if entry["verification_id"] == verification_id
        ]
        assert refused and set(refused) == {401}, refused
        assert delivery_status(target, flow_id) == "unknown"
        yield Flow(flow_id, verification_id)
    finally:
        target.emulator.clear_faults()


def delivery_status(target: Target, flow_id: str) -> str:
    response = target.api.get("/verify/status", params={"flow_id": flow_id})
    assert response.status_code == 200, response.text
    status: str = response.json()["delivery_status"]
    return status


def event(
    verification_id: str,
    event_type: str = "verify.failed",
    delivery: str = "sending_failed",
    event_id: str | None = None,
) -> bytes:
    """A Telnyx Verify event body, as Telnyx's envelope has it."""
    envelope = {
        "data": {
            "event_type": event_type,
            "id": event_id or str(uuid.uuid4()),
            "occurred_at": "2025-01-01T00:00:00.000+00:00",
            "payload": {
                "id": verification_id,
                "delivery_status": delivery,
                "phone_number": DEMO_PHONE,
                "record_type": "verification",
                "type": "sms",
            },
            "record_type": "event",
        },
        "meta": {"attempt": 1, "delivered_to": "https://attacker.example/"},
    }
    return json.dumps(envelope).encode()


def post(target: Target, body: bytes, headers: dict[str, str]) -> Any:
    return target.api.post(
        "/webhooks/telnyx", content=body, headers={"Content-Type": "application/json", **headers}
    )


def test_an_event_signed_with_another_key_is_refused(target: Target, flow: Flow) -> None:
    # Given an attacker's own Ed25519 key, and an event in Telnyx's format for this flow
    body = event(flow.verification_id)
    timestamp = str(int(time.time()))
    signature = Ed25519PrivateKey.generate().sign(timestamp.encode() + b"|" + body)
    headers = {
        "telnyx-signature-ed25519": base64.b64encode(signature).decode(),
        "telnyx-timestamp": timestamp,
    }
    # When they post it
    response = post(target, body, headers)
    # Then it is refused and the page still knows nothing about the delivery
    assert response.status_code == 401
    assert response.json() == INVALID
    assert delivery_status(target, flow.flow_id) == "unknown"
    # while the very same body signed with Telnyx's key would have been taken in
    accepted = post(target, body, target.emulator.sign_webhook(body))
    assert accepted.status_code == 200, accepted.text
    assert delivery_status(target, flow.flow_id) == "sending_failed"


def test_a_correctly_signed_event_with_a_stale_timestamp_is_refused(
    target: Target, flow: Flow
) -> None:
    # Given a genuine signature, made 301 s ago (just past the 300 s tolerance)
    body = event(flow.verification_id)
    headers = target.emulator.sign_webhook(body, timestamp=int(time.time()) - 301)
    # When it is posted now
    response = post(target, body, headers)
    # Then it is refused
    assert response.status_code == 401
    assert response.json() == INVALID
    assert delivery_status(target, flow.flow_id) == "unknown"


def test_a_valid_signature_does_not_cover_another_body(target: Target, flow: Flow) -> None:
    # Given a genuine signature over one event (say, a harmless verify.sent)
    signed = event(flow.verification_id, "verify.sent", "sent")
    headers = target.emulator.sign_webhook(signed)
    # When a different body is sent under it: a failure report, or the same event re-encoded
    altered = event(flow.verification_id)
    reordered = json.dumps(json.loads(signed), indent=1).encode()
    responses = [post(target, body, headers) for body in (altered, reordered)]
    # Then both are refused
    for response in responses:
        assert response.status_code == 401
        assert response.json() == INVALID
    assert delivery_status(target, flow.flow_id) == "unknown"


def test_an_event_is_processed_once_and_never_moves_the_status_back(
    target: Target, flow: Flow
) -> None:
    # Given a genuine verify.failed event, taken in
    event_id = str(uuid.uuid4())
    body = event(flow.verification_id, event_id=event_id)
    first = post(target, body, target.emulator.sign_webhook(body))
    assert first.status_code == 200, first.text
    assert first.json() == {"received": True}
    assert delivery_status(target, flow.flow_id) == "sending_failed"
    dynamodb = boto3.client(
        "dynamodb", endpoint_url=target.stack.aws_env["AWS_ENDPOINT_URL_DYNAMODB"]
    )
    key = {"pk": {"S": f"telnyx#{event_id}"}}
    recorded = dynamodb.get_item(TableName="WebhookEventsTable", Key=key, ConsistentRead=True)
    assert "Item" in recorded
    # When the same delivery is replayed, signed again at another moment (a minute earlier:
    # inside the signature tolerance, and a different signature without waiting)
    resigned = target.emulator.sign_webhook(body, int(time.time()) - 60)
    replayed = post(target, body, resigned)
    # Then it is answered 200 (Telnyx stops retrying) and was taken in only once
    assert replayed.status_code == 200, replayed.text
    again = dynamodb.get_item(TableName="WebhookEventsTable", Key=key, ConsistentRead=True)
    assert again["Item"] == recorded["Item"]
    assert delivery_status(target, flow.flow_id) == "sending_failed"
    # and a genuine event with a new id but an earlier state does not move the status back
    earlier = event(flow.verification_id, "verify.sent", "sent")
    late = post(target, earlier, target.emulator.sign_webhook(earlier))
    assert late.status_code == 200, late.text
    assert delivery_status(target, flow.flow_id) == "sending_failed"


@pytest.mark.parametrize(
    "kept",
    [(), ("telnyx-timestamp",), ("telnyx-signature-ed25519",)],
    ids=["none", "timestamp-only", "signature-only"],
)
def test_an_event_without_its_signature_headers_is_refused(
    target: Target, flow: Flow, kept: tuple[str, ...]
) -> None:
    # Given an event, and (at most) one half of a genuine signature for it
    body = event(flow.verification_id)
    genuine = target.emulator.sign_webhook(body)
    # When it is posted without the rest
    response = post(target, body, {name: genuine[name] for name in kept})
    # Then it is refused
    assert response.status_code == 401
    assert response.json() == INVALID
    assert delivery_status(target, flow.flow_id) == "unknown"
