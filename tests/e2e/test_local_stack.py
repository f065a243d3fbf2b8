"""The walking skeleton end to end: HTTP through the local gateway into the real handlers,
AWS's DynamoDB Local as the database, codes read from the Telnyx emulator's outbox."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
import httpx
import jwt

from devtools.local_stack.seeding import DEMO_PASSWORD
from devtools.local_stack.stack import LocalStack
from phoneverify.flows.engine.any_flow import flow_key

PHONE = "+14155550123"


def start_login(api: httpx.Client) -> str:
    response = api.post("/login", json={"email": "demo@example.com", "password": DEMO_PASSWORD})
    assert response.status_code == 200, response.text
    flow_id: str = response.json()["flow_id"]
    return flow_id


def latest_code(stack: LocalStack) -> str:
    assert stack.emulator is not None
    code = stack.emulator.latest_code(PHONE)
    assert code is not None
    return code


def decode_token(stack: LocalStack, token: str) -> dict[str, Any]:
    ssm = boto3.client("ssm", endpoint_url=stack.aws_env["AWS_ENDPOINT_URL"])
    secret = ssm.get_parameter(Name="/phone-verify/dev/jwt-signing-secret", WithDecryption=True)
    claims: dict[str, Any] = jwt.decode(
        token,
        secret["Parameter"]["Value"],
        algorithms=["HS256"],
        audience="phone-verify-dev-api",
        issuer="phone-verify-dev",
    )
    return claims


def test_demo_login_with_the_code_from_the_outbox_returns_a_jwt(
    stack: LocalStack, api: httpx.Client
) -> None:
    # Given
    flow_id = start_login(api)
    # When
    response = api.post("/login/verify", json={"flow_id": flow_id, "code": latest_code(stack)})
    # Then
    assert response.status_code == 200, response.text
    body = response.json()
    claims = decode_token(stack, body["token"])
    assert claims["sub"] == "demo-user"
    assert claims["exp"] - claims["iat"] == body["expires_in"]
    # and "who am I" names the demo account, with when it was made
    me = api.get("/account", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200, me.text
    assert me.json()["name"] == "Demo User"
    assert isinstance(me.json()["created_at"], int | float), me.json()
    # and a used flow is gone
    again = api.post("/login/verify", json={"flow_id": flow_id, "code": latest_code(stack)})
    assert again.status_code == 400
    assert again.json()["error"] == "No pending verification. Start login again."


def test_wrong_codes_count_down_and_the_cap_closes_the_flow(
    stack: LocalStack, api: httpx.Client
) -> None:
    # Given
    flow_id = start_login(api)
    code = latest_code(stack)
    wrong = str((int(code) + 1) % 1_000_000).zfill(6)
    # When
    statuses = []
    for _ in range(5):
        response = api.post("/login/verify", json={"flow_id": flow_id, "code": wrong})
        statuses.append((response.status_code, response.json().get("attempts_remaining")))
    final = api.post("/login/verify", json={"flow_id": flow_id, "code": code})
    # Then
    assert statuses == [(401, 4), (401, 3), (401, 2), (401, 1), (429, None)]
    assert final.status_code == 429
    assert final.headers["Retry-After"] == "0"


def test_an_expired_flow_answers_410(stack: LocalStack, api: httpx.Client) -> None:
    # Given a flow whose five minutes are over (moved back in time in the table)
    flow_id = start_login(api)
    dynamodb = boto3.client("dynamodb", endpoint_url=stack.aws_env["AWS_ENDPOINT_URL_DYNAMODB"])
    dynamodb.update_item(
        TableName="VerificationsTable",
        Key={"pk": {"S": flow_key(flow_id)}},
        UpdateExpression="SET expires_at = :past",
        ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 1)}},
    )
    # When
    response = api.post("/login/verify", json={"flow_id": flow_id, "code": latest_code(stack)})
    # Then
    assert response.status_code == 410
    assert response.json()["error"] == "Verification expired. Start login again."


def test_twenty_concurrent_right_codes_issue_exactly_one_token(
    stack: LocalStack, api: httpx.Client
) -> None:
    # Given
    flow_id = start_login(api)
    code = latest_code(stack)

    def verify(_: int) -> int:
        with httpx.Client(base_url=stack.api_url, timeout=60) as client:
            return client.post("/login/verify", json={"flow_id": flow_id, "code": code}).status_code

    # When
    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = list(pool.map(verify, range(20)))
    # Then
    assert statuses.count(200) == 1, statuses
    # the others: already used (400), or told a check was in flight (409); never a lockout
    assert set(statuses) <= {200, 400, 409}, statuses


def test_cors_allows_the_stacks_own_origin_and_no_other(
    stack: LocalStack, api: httpx.Client
) -> None:
    # Given the local stack, whose AllowedOrigin is its own address (the template has no "*")
    origin = stack.api_url
    # When a browser on that origin asks, Then it may call the API
    preflight = api.options(
        "/login", headers={"Origin": origin, "Access-Control-Request-Method": "POST"}
    )
    assert preflight.status_code == 200
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert preflight.headers["Access-Control-Allow-Origin"] == origin
    login = {"email": "nophone@example.com", "password": DEMO_PASSWORD}
    response = api.post("/login", json=login, headers={"Origin": origin})
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == origin
    # When a page on another origin calls, Then its browser is not allowed to read the answer
    foreign = api.post("/login", json=login, headers={"Origin": "https://evil.example"})
    assert foreign.headers.get("Access-Control-Allow-Origin") in (None, origin)
