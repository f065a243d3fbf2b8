"""TelnyxVerifyClient against a scripted transport: request shape and error mapping."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

from phoneverify.adapters.telnyx.client import (
    TelnyxAuthenticationError,
    TelnyxError,
    TelnyxInvalidRequest,
    TelnyxNotFound,
    TelnyxRateLimited,
    TelnyxServerError,
    TelnyxUnavailable,
    TelnyxVerifyClient,
)
from phoneverify.adapters.telnyx.sender import TelnyxCodeSender
from phoneverify.domain.errors import CodeCheckFailed, CodeDeliveryFailed
from phoneverify.domain.models import Channel

PROFILE = "49000000-0000-4000-8000-000000000001"


def client_with(handler: httpx.MockTransport) -> TelnyxVerifyClient:
    return TelnyxVerifyClient("https://api.example.test/", lambda: "KEY_TEST", transport=handler)


def envelope(status: int, code: str, title: str) -> httpx.Response:
    return httpx.Response(status, json={"errors": [{"code": code, "title": title, "detail": "d"}]})


def test_trigger_sms_sends_telnyx_request_and_reads_the_verification() -> None:
    # Given
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            200,
            json={
                "data": {
                    "id": "v-1",
                    "phone_number": "+14155550123",
                    "status": "pending",
                    "verify_profile_id": PROFILE,
                    "timeout_secs": 300,
                    "record_type": "verification",
                }
            },
        )

    # When
    verification = client_with(httpx.MockTransport(handler)).trigger_sms(
        "+14155550123", PROFILE, timeout_secs=300
    )
    # Then
    request = seen[0]
    assert request.method == "POST"
    assert request.url == "https://api.example.test/v2/verifications/sms"
    assert request.headers["Authorization"] == "Bearer KEY_TEST"
    assert json.loads(request.content) == {
        "phone_number": "+14155550123",
        "verify_profile_id": PROFILE,
        "timeout_secs": 300,
    }
    assert verification.id == "v-1" and verification.status == "pending"


def test_verify_by_id_and_by_phone_use_telnyx_paths() -> None:
    # Given
    paths: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.raw_path.decode())
        return httpx.Response(
            200, json={"data": {"phone_number": "+14155550123", "response_code": "accepted"}}
        )

    client = client_with(httpx.MockTransport(handler))
    # When
    by_id = client.verify_by_id("v-1", "123456")
    by_phone = client.verify_by_phone_number("+14155550123", "123456", PROFILE)
    # Then
    assert by_id.accepted and by_phone.accepted
    assert paths == [
        "/v2/verifications/v-1/actions/verify",
        "/v2/verifications/by_phone_number/%2B14155550123/actions/verify",
    ]


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (401, TelnyxAuthenticationError),
        (403, TelnyxAuthenticationError),
        (404, TelnyxNotFound),
        (422, TelnyxInvalidRequest),
        (429, TelnyxRateLimited),
        (500, TelnyxServerError),
        (503, TelnyxServerError),
    ],
)
def test_error_envelope_maps_to_typed_errors(status: int, error: type[TelnyxError]) -> None:
    client = client_with(httpx.MockTransport(lambda r: envelope(status, "10009", "Boom")))
    with pytest.raises(error) as caught:
        client.retrieve("v-1")
    assert caught.value.status == status
    assert caught.value.codes == ["10009"]


@pytest.mark.parametrize(
    "behaviour",
    [
        httpx.ReadTimeout("slow"),
        httpx.ConnectError("refused"),
        httpx.Response(200, text="<html>proxy</html>"),
        httpx.Response(200, json={"data": {"phone_number": "+1"}}),  # no response_code
    ],
    ids=["timeout", "refused", "not-json", "incomplete"],
)
def test_unreachable_or_garbled_telnyx_is_unavailable(behaviour: object) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if isinstance(behaviour, Exception):
            raise behaviour
        assert isinstance(behaviour, httpx.Response)
        return behaviour

    with pytest.raises(TelnyxUnavailable):
        client_with(httpx.MockTransport(handler)).verify_by_id("v-1", "123456")


def test_sender_maps_provider_failures_to_domain_errors() -> None:
    # Given a Telnyx that fails with 503 everywhere
    client = client_with(httpx.MockTransport(lambda r: envelope(503, "90000", "Down")))
    sender = TelnyxCodeSender(client, lambda: PROFILE, timeout_secs=300)
    # Then
    with pytest.raises(CodeDeliveryFailed):
        sender.send("+14155550123")
    with pytest.raises(CodeCheckFailed):
        sender.check("v-1", "123456")


@pytest.mark.parametrize(
    ("channel", "path", "kind"),
    [
        (Channel.SMS, "/v2/verifications/sms", "sms"),
        (Channel.CALL, "/v2/verifications/call", "call"),
        (Channel.WHATSAPP, "/v2/verifications/whatsapp", "whatsapp"),
    ],
)
def test_sender_triggers_the_verify_endpoint_of_each_channel(
    channel: Channel, path: str, kind: str
) -> None:
    # Given a Telnyx that answers each trigger with its record
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        record = {"id": f"v-{kind}", "phone_number": "+14155550123", "type": kind}
        return httpx.Response(200, json={"data": {**record, "status": "pending"}})

    sender = TelnyxCodeSender(
        client_with(httpx.MockTransport(handler)), lambda: PROFILE, timeout_secs=300
    )
    # When
    verification_id = sender.send("+14155550123", channel)
    # Then
    assert verification_id == f"v-{kind}"
    assert seen[0].method == "POST" and seen[0].url.path == path
    assert json.loads(seen[0].content) == {
        "phone_number": "+14155550123",
        "verify_profile_id": PROFILE,
        "timeout_secs": 300,
    }


@pytest.mark.parametrize("channel", [Channel.CALL, Channel.WHATSAPP])
@pytest.mark.parametrize(("status", "code"), [(422, "10016"), (429, "10011"), (503, "10007")])
def test_call_and_whatsapp_refusals_are_delivery_failures(
    channel: Channel, status: int, code: str
) -> None:
    client = client_with(httpx.MockTransport(lambda r: envelope(status, code, "No")))
    sender = TelnyxCodeSender(client, lambda: PROFILE, timeout_secs=300)
    with pytest.raises(CodeDeliveryFailed):
        sender.send("+14155550123", channel)


def test_trigger_call_and_whatsapp_read_the_verification_type() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        kind = request.url.path.rsplit("/", 1)[-1]
        return httpx.Response(200, json={"data": {"id": "v-1", "type": kind}})

    client = client_with(httpx.MockTransport(handler))
    assert client.trigger_call("+14155550123", PROFILE).type == "call"
    assert client.trigger_whatsapp("+14155550123", PROFILE).type == "whatsapp"


def test_sender_treats_an_unknown_verification_as_a_rejected_code() -> None:
    client = client_with(httpx.MockTransport(lambda r: envelope(404, "10005", "Not found")))
    sender = TelnyxCodeSender(client, lambda: PROFILE, timeout_secs=300)
    assert sender.check("v-gone", "123456") is False


def test_errors_are_logged_without_code_or_full_phone(caplog: pytest.LogCaptureFixture) -> None:
    # Given
    client = client_with(httpx.MockTransport(lambda r: envelope(422, "10016", "Invalid phone")))
    # When
    with caplog.at_level(logging.DEBUG), pytest.raises(TelnyxInvalidRequest):
        client.verify_by_phone_number("+14155550123", "987654", PROFILE)
    # Then
    logged = " ".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "telnyx error" in logged and "+1******0123" in logged
    assert "987654" not in logged
    assert "+14155550123" not in logged
    assert "KEY_TEST" not in logged
