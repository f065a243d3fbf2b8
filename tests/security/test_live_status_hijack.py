"""Attacks on the live-status WebSocket (docs/realtime.md), through the local stack: an
attacker opens sockets to watch flows that are not theirs, ended, or expired, opens more than a
flow may have, or asks their own socket for someone else's flow."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import ClientConnection, connect

from phoneverify.flows.engine.any_flow import flow_key
from tests.security.conftest import PASSWORD, Target, seed_account
from tests.support.stacks import dynamodb_of
from tests.support.verify_stack import telnyx_event
from tests.support.webhook_relay import held_webhooks

WAIT_SECS = 30  # for cold starts on a busy machine; every wait ends as soon as its event comes


@contextmanager
def watching(target: Target, flow_id: str, origin: str | None = None) -> Iterator[ClientConnection]:
    url = f"{target.stack.websocket_url}/?flow_id={flow_id}"
    headers = {"Origin": origin} if origin else None
    with connect(url, open_timeout=WAIT_SECS, additional_headers=headers) as ws:
        yield ws


def refused_with(target: Target, query: str, origin: str | None = None) -> tuple[int, dict]:
    """The handshake's status and body when the socket is refused."""
    headers = {"Origin": origin} if origin else None
    url = f"{target.stack.websocket_url}/{query}"
    with pytest.raises(InvalidStatus) as refused:
        connect(url, open_timeout=WAIT_SECS, additional_headers=headers).close()
    response = refused.value.response
    return response.status_code, json.loads(bytes(response.body or b"{}"))


def login_own_account(target: Target) -> tuple[str, str]:
    """(flow id, phone) of a login of a fresh account."""
    account = seed_account(target.stack)
    return target.login(account.email, PASSWORD), account.phone


def report_failed(target: Target, phone: str) -> None:
    """Telnyx (the emulator's key) reports that the SMS to `phone` failed."""
    verification_id = target.emulator.messages(phone, include_undelivered=True)[0][
        "verification_id"
    ]
    body = telnyx_event("verify.failed", verification_id, delivery_status="delivery_failed")
    answer = target.api.post(
        "/webhooks/telnyx",
        content=body,
        headers={"Content-Type": "application/json", **target.emulator.sign_webhook(body)},
    )
    assert answer.status_code == 200, answer.text


def test_an_unknown_or_made_up_flow_id_cannot_be_watched(target: Target) -> None:
    # A guessed id of the right shape: refused with the one answer every refusal gets
    status, body = refused_with(target, "?flow_id=" + "A" * 43)
    assert (status, body["code"]) == (403, "watch_refused")
    # No flow id, or one that is not a flow id: a 400 naming the field
    for query in ("", "?flow_id=../../etc", "?other=1"):
        status, body = refused_with(target, query)
        assert (status, body.get("field")) == (400, "flow_id"), query


@pytest.mark.parametrize("ending", ["verified", "cancelled"])
def test_an_ended_flow_cannot_be_watched(target: Target, ending: str) -> None:
    # Given a login that was completed (or cancelled) by its owner
    flow_id, phone = login_own_account(target)
    if ending == "verified":
        done = target.api.post(
            "/login/verify", json={"flow_id": flow_id, "code": target.code_for(phone)}
        )
    else:
        done = target.api.post("/verify/cancel", json={"flow_id": flow_id})
    assert done.status_code == 200, done.text
    # When someone holding its flow id opens a socket for it, then it is refused
    status, body = refused_with(target, f"?flow_id={flow_id}")
    assert (status, body["code"]) == (403, "watch_refused")


def test_an_expired_flow_cannot_be_watched_though_its_item_is_still_there(
    target: Target,
) -> None:
    # Given a login whose code expired a moment ago (its item stays until TTL deletes it)
    flow_id, _ = login_own_account(target)
    dynamodb_of(target.stack.aws_env).update_item(
        TableName="VerificationsTable",
        Key={"pk": {"S": flow_key(flow_id)}},
        UpdateExpression="SET expires_at = :past",
        ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 1)}},
    )
    status, body = refused_with(target, f"?flow_id={flow_id}")
    assert (status, body["code"]) == (403, "watch_refused")


def test_a_page_on_another_origin_cannot_open_the_socket(target: Target) -> None:
    flow_id, _ = login_own_account(target)
    status, _ = refused_with(target, f"?flow_id={flow_id}", origin="https://evil.example")
    assert status == 403


def test_a_connection_never_hears_another_flows_reports(target: Target) -> None:
    with held_webhooks(target.stack):
        # Given a victim and an attacker, each watching their own login
        victim_flow, victim_phone = login_own_account(target)
        attacker_flow, attacker_phone = login_own_account(target)
        with (
            watching(target, victim_flow) as victim,
            watching(target, attacker_flow) as attacker,
        ):
            # When the attacker asks their socket for the victim's flow
            attacker.send(json.dumps({"action": "subscribe", "flow_id": victim_flow}))
            assert json.loads(attacker.recv(timeout=WAIT_SECS))["message"] == "Forbidden"
            # and the victim's SMS fails
            report_failed(target, victim_phone)
            assert json.loads(victim.recv(timeout=WAIT_SECS))["delivery_status"] == (
                "delivery_failed"
            )
            # Then the first thing the attacker hears of is their own flow's report, which
            # came after the victim's: the victim's report never reached them
            report_failed(target, attacker_phone)
            heard = json.loads(attacker.recv(timeout=WAIT_SECS))
            assert heard == {
                "status": "pending",
                "delivery_status": "delivery_failed",
                "expires_in": heard["expires_in"],
                "channel": "sms",
            }
            status = target.api.get("/verify/status", params={"flow_id": attacker_flow})
            assert status.json()["delivery_status"] == "delivery_failed"


def test_a_captured_report_replayed_in_a_burst_reaches_the_page_once(target: Target) -> None:
    with held_webhooks(target.stack):
        # Given a victim watching their login, and an attacker holding a captured, genuinely
        # signed verify.sent report of it (inside the signature's tolerance)
        flow_id, phone = login_own_account(target)
        verification_id = target.emulator.messages(phone, include_undelivered=True)[0][
            "verification_id"
        ]
        captured = telnyx_event("verify.sent", verification_id)
        headers = {"Content-Type": "application/json", **target.emulator.sign_webhook(captured)}
        with watching(target, flow_id) as page:
            # When the attacker replays it 8 times at once
            with ThreadPoolExecutor(max_workers=8) as pool:
                answers = list(
                    pool.map(
                        lambda _: (
                            target.api.post(
                                "/webhooks/telnyx", content=captured, headers=headers
                            ).status_code
                        ),
                        range(8),
                    )
                )
            # and the genuine delivered report follows
            delivered = telnyx_event("verify.delivered", verification_id)
            signed = {"Content-Type": "application/json", **target.emulator.sign_webhook(delivered)}
            assert target.api.post("/webhooks/telnyx", content=delivered, headers=signed).is_success
            heard = [json.loads(page.recv(timeout=WAIT_SECS))["delivery_status"]]
            while heard[-1] != "delivered":
                heard.append(json.loads(page.recv(timeout=WAIT_SECS))["delivery_status"])
    # Then the replays were answered 200 (or 503 to one that lost a race: nothing written,
    # never a 500), the page heard the report once, and it was taken in once
    assert set(answers) <= {200, 503} and 200 in answers, answers
    assert heard == ["sent", "delivered"]
    event_id = json.loads(captured)["data"]["id"]
    ledger = dynamodb_of(target.stack.aws_env).get_item(
        TableName="WebhookEventsTable", Key={"pk": {"S": f"telnyx#{event_id}"}}
    )
    assert "Item" in ledger


def test_a_flow_takes_five_sockets_at_most(target: Target) -> None:
    # Given an attacker who opens five sockets for one flow
    flow_id, _ = login_own_account(target)
    with (
        watching(target, flow_id),
        watching(target, flow_id),
        watching(target, flow_id),
        watching(target, flow_id),
        watching(target, flow_id) as fifth,
    ):
        # When they open a sixth, then it is refused until one closes
        status, body = refused_with(target, f"?flow_id={flow_id}")
        assert (status, body["code"]) == (429, "too_many_connections")
        fifth.close()
        deadline = time.monotonic() + WAIT_SECS  # until the gateway ran $disconnect
        while True:
            try:
                with watching(target, flow_id):
                    break
            except InvalidStatus:
                assert time.monotonic() < deadline, "a closed socket never made room"
