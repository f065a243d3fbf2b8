"""After an attack, the owner's and the operator's record: every authentication decision the
attacker provoked is in the audit trail, with where it came from and never a secret."""

from __future__ import annotations

import base64
import json
import time
import uuid
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from phoneverify.adapters.dynamo.audit import DynamoAuditTrail
from phoneverify.domain.keyed import keyed_digest
from phoneverify.domain.throttling import account_key
from phoneverify.flows.sessions import FORGED_SUBJECT
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


def keyed(target: Target, email: str) -> str:
    """The subject an email is audited under: its digest keyed with the stack's pepper."""
    pepper = target.ssm_value("/phone-verify/dev/hash-pepper").encode()
    return f"email#{keyed_digest(pepper, account_key(email))}"


def test_password_guessing_leaves_a_trail_under_the_account_and_the_keyed_email(
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
    # Then the owner's trail shows five refusals with the attacker's address and user agent,
    # and the attempts the throttle refused, under the account too: where its owner looks
    owners = [e for e in trail(target, account.user_id) if e["event"].startswith("password")]
    assert [e["event"] for e in owners] == ["password_rejected"] * 5
    assert {(e["source_ip"], e["user_agent"]) for e in owners} == {("127.0.0.1", "stuffer/2.0")}
    throttled = [e for e in trail(target, account.user_id) if e["event"] == "login_throttled"]
    assert len(throttled) == 2  # the sixth guess and the owner's own attempt, both waited
    assert trail(target, keyed(target, account.email)) == []
    # and the unknown address's attempts under its keyed digest: a plain sha256 of the email
    # (anyone can hash a list of addresses and compare) keys nothing
    assert "login_throttled" in [e["event"] for e in trail(target, keyed(target, unknown))]
    for email in (account.email, unknown):
        assert trail(target, f"email#{account_key(email)}") == []
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


def forged_token() -> str:
    """A token with a real account's believable claims, signed with a key the attacker chose."""
    now = int(time.time())
    claims = {
        "sub": "demo-user",
        "iss": "phone-verify-dev",
        "aud": "phone-verify-dev-api",
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "jti": uuid.uuid4().hex,
        "gen": 0,
    }
    return jwt.encode(claims, "attacker-chosen-secret-0123456789abcdef", algorithm="HS256")


def test_forged_tokens_at_the_routes_that_check_tokens_themselves_are_audited(
    target: Target,
) -> None:
    # Given an attacker (their own user agent) with a forged token
    agent = {"User-Agent": f"forger/{uuid.uuid4().hex[:8]}"}
    headers = {**bearer(forged_token()), **agent}
    # When they try it on each route that checks the token itself
    answers = [
        target.api.post("/logout", json={"all": True}, headers=headers),
        target.api.get("/verify/status", params={"payment_id": "pay_12345678"}, headers=headers),
        target.api.post("/verify/cancel", json={"payment_id": "pay_12345678"}, headers=headers),
    ]
    # Then each is the plain 401, and each is on record with its reason and where it came from
    assert [a.status_code for a in answers] == [401, 401, 401]
    mine = [e for e in trail(target, FORGED_SUBJECT) if e["user_agent"] == agent["User-Agent"]]
    assert [e["event"] for e in mine] == ["token_refused"] * 3
    assert {e["detail"]["reason"] for e in mine} == {"malformed"}
    assert {e["source_ip"] for e in mine} == {"127.0.0.1"}
    # and never under the account its claims name, which it cannot speak for
    assert not [e for e in trail(target, "demo-user") if e["user_agent"] == agent["User-Agent"]]
