"""After an attack, the owner's and the operator's record: every authentication decision the
attacker provoked is in the audit trail, with where it came from and never a secret."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from phoneverify.adapters.dynamo.audit import DynamoAuditTrail
from phoneverify.domain.throttling import account_key
from tests.security.conftest import PASSWORD, Target, seed_account
from tests.support.payments import bearer, token_for
from tests.support.stacks import dynamodb_of

ATTACKER = {"User-Agent": "stuffer/2.0"}


def trail(target: Target, subject: str) -> list[dict[str, Any]]:
    client = dynamodb_of(target.stack.aws_env)
    return DynamoAuditTrail(client, "AuditTable", retention_secs=1).events_for(subject)


def everything(target: Target) -> str:
    client = dynamodb_of(target.stack.aws_env)
    pages = client.get_paginator("scan").paginate(TableName="AuditTable")
    return json.dumps([item for page in pages for item in page["Items"]])


def test_password_guessing_leaves_a_trail_under_the_account_and_the_hashed_email(
    target: Target,
) -> None:
    # Given an account, and an attacker guessing its password and an unknown one's
    account = seed_account(target.stack)
    unknown = f"nobody-{uuid.uuid4().hex[:10]}@example.com"
    for email in (account.email, unknown):
        for i in range(6):
            target.api.post(
                "/login", json={"email": email, "password": f"guess-{i}"}, headers=ATTACKER
            )
    # When the owner then signs in
    target.api.post("/login", json={"email": account.email, "password": PASSWORD})
    # Then the owner's trail shows five refusals with the attacker's address and user agent
    owners = [e for e in trail(target, account.user_id) if e["event"].startswith("password")]
    assert [e["event"] for e in owners] == ["password_rejected"] * 5
    assert {(e["source_ip"], e["user_agent"]) for e in owners} == {("127.0.0.1", "stuffer/2.0")}
    # and the throttled attempts are kept under the hashed email, for both addresses alike
    for email in (account.email, unknown):
        hashed = trail(target, f"email#{account_key(email)}")
        assert "login_throttled" in [e["event"] for e in hashed]
    # and nothing holds a guess or the unknown address
    stored = everything(target)
    assert "guess-" not in stored
    assert unknown not in stored


def test_a_refused_token_and_a_forged_webhook_are_audited_with_their_reason(
    target: Target,
) -> None:
    # Given a token that was ended by a logout
    account = seed_account(target.stack)
    token = token_for(target.stack, account.email, PASSWORD, account.phone)
    assert target.api.post("/logout", json={}, headers=bearer(token)).status_code == 200
    # When it is used again, and a webhook signed with someone else's key arrives
    target.api.post(
        "/payments/initiate",
        json={"amount": "5.00", "currency": "USD", "recipient": "x"},
        headers={**bearer(token), **ATTACKER},
    )
    body = json.dumps({"data": {"event_type": "verify.delivered", "id": str(uuid.uuid4())}})
    stamp = str(int(time.time()))
    forged = Ed25519PrivateKey.generate().sign(stamp.encode() + b"|" + body.encode())
    target.api.post(
        "/webhooks/telnyx",
        content=body,
        headers={
            "Content-Type": "application/json",
            "telnyx-signature-ed25519": base64.b64encode(forged).decode(),
            "telnyx-timestamp": stamp,
            **ATTACKER,
        },
    )
    # Then the account's trail says its token was refused, and why
    events = trail(target, account.user_id)
    assert [e["event"] for e in events[:2]] == ["token_refused", "logged_out"]
    assert events[0]["detail"] == {"reason": "token_ended"}
    assert events[0]["user_agent"] == "stuffer/2.0"
    # and the forged webhook is on record with its reason
    webhooks = trail(target, "webhook#telnyx")
    assert webhooks[0]["event"] == "webhook_signature_rejected"
    assert webhooks[0]["detail"] == {"reason": "signature does not match"}
    assert webhooks[0]["user_agent"] == "stuffer/2.0"
    # and no token is stored anywhere
    assert token not in everything(target)
