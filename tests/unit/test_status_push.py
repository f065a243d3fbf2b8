"""The push through API Gateway's management API: what each answer of it becomes (botocore's
Stubber plays API Gateway)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest
from botocore.exceptions import ConnectTimeoutError
from botocore.stub import Stubber

from phoneverify.adapters.websocket import ApiGatewayStatusPush
from phoneverify.domain.models import ChallengeState, DeliveryStatus
from phoneverify.ports.verifications import PushUnavailable

STATE = ChallengeState("pending", DeliveryStatus.DELIVERY_FAILED, 287)
URL = "https://abc123.execute-api.us-east-1.amazonaws.com/dev"


@pytest.fixture
def api() -> Iterator[tuple[ApiGatewayStatusPush, Stubber]]:
    client = boto3.client(
        "apigatewaymanagementapi",
        endpoint_url=URL,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # the Stubber answers; nothing is sent
    )
    with Stubber(client) as stubber:
        yield ApiGatewayStatusPush(lambda: client), stubber


def test_a_push_is_the_status_body_and_reaches_an_open_connection(
    api: tuple[ApiGatewayStatusPush, Stubber],
) -> None:
    push, stubber = api
    body = {
        "status": "pending",
        "delivery_status": "delivery_failed",
        "expires_in": 287,
        "channel": "sms",
    }
    expected = {"ConnectionId": "c1", "Data": json.dumps(body, separators=(",", ":")).encode()}
    stubber.add_response("post_to_connection", {}, expected)
    assert push.post("c1", STATE) is True
    stubber.assert_no_pending_responses()


def test_a_gone_connection_is_false(api: tuple[ApiGatewayStatusPush, Stubber]) -> None:
    push, stubber = api
    stubber.add_client_error("post_to_connection", "GoneException", http_status_code=410)
    assert push.post("c1", STATE) is False


@pytest.mark.parametrize("code", ["LimitExceededException", "ForbiddenException"])
def test_any_other_refusal_is_push_unavailable(
    api: tuple[ApiGatewayStatusPush, Stubber], code: str
) -> None:
    push, stubber = api
    stubber.add_client_error("post_to_connection", code, http_status_code=429)
    with pytest.raises(PushUnavailable):
        push.post("c1", STATE)


def test_a_timeout_is_push_unavailable() -> None:
    class Timeouts:
        def post_to_connection(self, **_: object) -> None:
            raise ConnectTimeoutError(endpoint_url=URL)

    with pytest.raises(PushUnavailable):
        ApiGatewayStatusPush(Timeouts).post("c1", STATE)


def test_the_client_is_built_on_the_first_push_only() -> None:
    built: list[int] = []

    def factory() -> object:
        built.append(1)
        raise AssertionError("no push yet")

    ApiGatewayStatusPush(factory)
    assert built == []
