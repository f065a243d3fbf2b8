"""The Telnyx Verify emulator, driven through the official `telnyx` SDK and plain HTTP.

The SDK is an independent client: if it parses the emulator's answers and raises its
own error types for the emulator's errors, the wire format matches what it expects
from api.telnyx.com.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
import socket
import stat
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import telnyx
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from devtools.telnyx_emulator import EmulatorConfig, TelnyxEmulator

API_KEY = "KEY_LOCAL"
PROFILE_ID = "49000000-0000-4000-8000-000000000001"
PHONE = "+14155550123"
OTHER_PHONE = "+442071838750"
# Waits that end as soon as what they wait for happens: long enough that a loaded machine
# cannot cross them, never a measure of speed.
SETTLE_SECS = 60.0
RECORD_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}$")
EVENT_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00$")
VERIFICATION_FIELDS = {
    "id",
    "type",
    "record_type",
    "phone_number",
    "verify_profile_id",
    "custom_code",
    "timeout_secs",
    "status",
    "created_at",
    "updated_at",
}


# -- fixtures and helpers -----------------------------------------------------------


class FakeClock:
    def __init__(self, start: float = 1_750_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, secs: float) -> None:
        self.now += secs


@dataclass
class ReceivedWebhook:
    headers: dict[str, str]
    raw_body: bytes

    @property
    def event(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.raw_body)
        return parsed


@dataclass
class WebhookReceiver:
    """A local HTTP server standing in for the API's /webhooks/telnyx endpoint."""

    url: str = ""
    received: list[ReceivedWebhook] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # answers to give, then 200
    held: threading.Event | None = None  # when set: deliveries wait until it is set
    cond: threading.Condition = field(default_factory=threading.Condition)

    def wait_for(self, n: int, timeout: float = SETTLE_SECS) -> list[ReceivedWebhook]:
        with self.cond:
            assert self.cond.wait_for(lambda: len(self.received) >= n, timeout), (
                f"expected {n} webhooks, got {len(self.received)}"
            )
            return list(self.received)


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    state = WebhookReceiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            if state.held is not None:
                state.held.wait(SETTLE_SECS)
            with state.cond:
                state.received.append(
                    ReceivedWebhook({k.lower(): v for k, v in self.headers.items()}, raw)
                )
                status = state.statuses.pop(0) if state.statuses else 200
                state.cond.notify_all()
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/webhooks/telnyx"
    yield state
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.fixture
def make_emulator() -> Iterator[Callable[..., TelnyxEmulator]]:
    started: list[TelnyxEmulator] = []

    def make(**overrides: Any) -> TelnyxEmulator:
        settings: dict[str, Any] = {
            "port": 0,
            "webhook_retry_delay_secs": 0.05,
            "webhook_timeout_secs": SETTLE_SECS,  # retries come from answers, not from load
        }
        settings.update(overrides)
        emulator = TelnyxEmulator(EmulatorConfig(**settings)).start()
        started.append(emulator)
        return emulator

    yield make
    for emulator in started:
        emulator.stop()


@pytest.fixture
def emu(make_emulator: Callable[..., TelnyxEmulator]) -> TelnyxEmulator:
    return make_emulator()


def sdk(emulator: TelnyxEmulator, api_key: str = API_KEY) -> telnyx.Telnyx:
    return telnyx.Telnyx(api_key=api_key, base_url=emulator.base_url + "/v2", max_retries=0)


@pytest.fixture
def client(emu: TelnyxEmulator) -> Iterator[telnyx.Telnyx]:
    with sdk(emu) as c:
        yield c


def outbox(emulator: TelnyxEmulator, phone: str | None = None, **params: str) -> list[Any]:
    query = dict(params)
    if phone is not None:
        query["phone_number"] = phone
    response = httpx.get(f"{emulator.base_url}/_emulator/messages", params=query)
    assert response.status_code == 200
    data: list[Any] = response.json()["data"]
    return data


def latest_code(emulator: TelnyxEmulator, phone: str = PHONE) -> str:
    return str(outbox(emulator, phone)[0]["code"])


def raw_post(emulator: TelnyxEmulator, path: str, content: bytes | str, **headers: str) -> Any:
    return httpx.post(
        emulator.base_url + path,
        content=content,
        headers={"Authorization": f"Bearer {API_KEY}", "Content-Type": "application/json"}
        | headers,
    )


def verify_signature(public_key_b64: str, received: ReceivedWebhook) -> None:
    """Telnyx's check, as in the SDK's telnyx.lib.webhook_verification: Ed25519 over
    f"{telnyx-timestamp}|{raw body}"; raises InvalidSignature on mismatch."""
    key = Ed25519PublicKey.from_public_bytes(base64.b64decode(public_key_b64))
    signature = base64.b64decode(received.headers["telnyx-signature-ed25519"])
    timestamp = received.headers["telnyx-timestamp"]
    key.verify(signature, f"{timestamp}|".encode() + received.raw_body)


def error_of(exc: telnyx.APIStatusError) -> dict[str, Any]:
    body = exc.body
    assert isinstance(body, dict)
    first: dict[str, Any] = body["errors"][0]
    return first


# -- the happy path through the SDK -----------------------------------------------


def test_trigger_sms_returns_the_verification_record_telnyx_returns(
    client: telnyx.Telnyx,
) -> None:
    # Given an emulator with the default profile
    # When a client triggers an SMS verification
    raw = client.verifications.with_raw_response.trigger_sms(
        phone_number=PHONE, verify_profile_id=PROFILE_ID
    )
    # Then it gets 200 and exactly the fields of Telnyx's Verification record
    assert raw.status_code == 200
    data = raw.json()["data"]
    assert set(data) == VERIFICATION_FIELDS
    assert data["type"] == "sms"
    assert data["record_type"] == "verification"
    assert data["status"] == "pending"
    assert data["phone_number"] == PHONE
    assert data["verify_profile_id"] == PROFILE_ID
    assert data["custom_code"] is None
    assert data["timeout_secs"] == 300
    assert uuid.UUID(data["id"])
    assert RECORD_TIME.match(data["created_at"])
    assert data["created_at"] == data["updated_at"]


def test_code_from_the_outbox_is_accepted_by_verification_id(
    emu: TelnyxEmulator, client: telnyx.Telnyx
) -> None:
    # Given a triggered verification and its SMS in the outbox
    verification = client.verifications.trigger_sms(
        phone_number=PHONE, verify_profile_id=PROFILE_ID
    ).data
    message = outbox(emu, PHONE)[0]
    assert message["verification_id"] == verification.id
    # When the client submits that code by verification id
    result = client.verifications.actions.verify(verification.id or "", code=message["code"])
    # Then it is accepted and the verification reads as accepted
    assert result.data.response_code == "accepted"
    assert result.data.phone_number == PHONE
    retrieved = client.verifications.retrieve(verification.id or "").data
    assert retrieved.status == "accepted"


def test_code_is_accepted_by_phone_number(emu: TelnyxEmulator, client: telnyx.Telnyx) -> None:
    # Given a triggered verification
    client.verifications.trigger_sms(phone_number=PHONE, verify_profile_id=PROFILE_ID)
    # When the client submits the code by phone number (the SDK sends the + unencoded)
    result = client.verifications.by_phone_number.actions.verify(
        PHONE, code=latest_code(emu), verify_profile_id=PROFILE_ID
    )
    # Then it is accepted
    assert result.data.response_code == "accepted"
    assert result.data.phone_number == PHONE


def test_percent_encoded_phone_number_in_the_path_is_understood(emu: TelnyxEmulator) -> None:
    # Given a triggered verification
    raw_post(
        emu,
        "/v2/verifications/sms",
        json.dumps({"phone_number": PHONE, "verify_profile_id": PROFILE_ID}),
    )
    # When a client that percent-encodes the path (%2B) submits the code
    body = json.dumps({"code": latest_code(emu), "verify_profile_id": PROFILE_ID})
    response = raw_post(
        emu, "/v2/verifications/by_phone_number/%2B14155550123/actions/verify", body
    )
    # Then it is accepted
    assert response.json() == {"data": {"phone_number": PHONE, "response_code": "accepted"}}


def test_wrong_code_is_rejected_and_the_verification_stays_pending(
    emu: TelnyxEmulator, client: telnyx.Telnyx
) -> None:
    # Given a triggered verification
    verification = client.verifications.trigger_sms(
        phone_number=PHONE, verify_profile_id=PROFILE_ID
    ).data
    wrong = str((int(latest_code(emu)) + 1) % 1_000_000).zfill(6)
    # When a wrong code is submitted both ways
    by_id = client.verifications.actions.verify(verification.id or "", code=wrong)
    by_phone = client.verifications.by_phone_number.actions.verify(
        PHONE, code=wrong, verify_profile_id=PROFILE_ID
    )
    # Then both are rejected, and the right code still works afterwards
    assert by_id.data.response_code == "rejected"
    assert by_phone.data.response_code == "rejected"
    assert client.verifications.retrieve(verification.id or "").data.status == "pending"
    again = client.verifications.actions.verify(verification.id or "", code=latest_code(emu))
    assert again.data.response_code == "accepted"


def test_accepted_verification_cannot_be_accepted_again(
    emu: TelnyxEmulator, client: telnyx.Telnyx
) -> None:
    # Given a verification already accepted
    verification = client.verifications.trigger_sms(
        phone_number=PHONE, verify_profile_id=PROFILE_ID
    ).data
    code = latest_code(emu)
    client.verifications.actions.verify(verification.id or "", code=code)
    # When the same code is submitted again, by id and by phone number
    by_id = client.verifications.actions.verify(verification.id or "", code=code)
    by_phone = client.verifications.by_phone_number.actions.verify(
        PHONE, code=code, verify_profile_id=PROFILE_ID
    )
    # Then both are rejected
    assert by_id.data.response_code == "rejected"
    assert by_phone.data.response_code == "rejected"


def test_by_phone_number_checks_the_newest_verification(
    emu: TelnyxEmulator, client: telnyx.Telnyx
) -> None:
    # Given two sends to the same number (a resend), with different codes
    client.verifications.trigger_sms(
        phone_number=PHONE, verify_profile_id=PROFILE_ID, custom_code="111111"
    )
    client.verifications.trigger_sms(
        phone_number=PHONE, verify_profile_id=PROFILE_ID, custom_code="222222"
    )
    # When the older code is submitted by phone number, then the newer one
    old = client.verifications.by_phone_number.actions.verify(
        PHONE, code="111111", verify_profile_id=PROFILE_ID
    )
    new = client.verifications.by_phone_number.actions.verify(
        PHONE, code="222222", verify_profile_id=PROFILE_ID
    )
    # Then only the newest code is accepted
    assert old.data.response_code == "rejected"
    assert new.data.response_code == "accepted"


def test_list_by_phone_number_returns_records_newest_first(client: telnyx.Telnyx) -> None:
    # Given two verifications for one number and one for another
    first = client.verifications.trigger_sms(phone_number=PHONE, verify_profile_id=PROFILE_ID)
    second = client.verifications.trigger_sms(phone_number=PHONE, verify_profile_id=PROFILE_ID)
    client.verifications.trigger_sms(phone_number=OTHER_PHONE, verify_profile_id=PROFILE_ID)
    # When the client lists verifications for the first number
    listed = client.verifications.by_phone_number.list(PHONE)
    # Then it sees just those two, newest first, with Telnyx's pagination meta
    assert [v.id for v in listed.data] == [second.data.id, first.data.id]
    assert listed.meta.total_results == 2


# -- errors as Telnyx sends them ---------------------------------------------------


def test_wrong_api_key_raises_the_sdk_authentication_error(emu: TelnyxEmulator) -> None:
    # Given a client with a key the emulator does not know
    # When it triggers a verification
    with (
        sdk(emu, api_key="KEY_SOMEONE_ELSE") as wrong,
        pytest.raises(telnyx.AuthenticationError) as caught,
    ):
        wrong.verifications.trigger_sms(phone_number=PHONE, verify_profile_id=PROFILE_ID)
    # Then it gets Telnyx's 401 envelope and no SMS goes out
    assert caught.value.status_code == 401
    error = error_of(caught.value)
    assert error["code"] == "10009"
    assert error["title"] == "Authentication failed"
    assert outbox(emu) == []


@pytest.mark.parametrize("header", [None, "Bearer", "Basic S0VZX0xPQ0FM", f"Bearer {API_KEY}x"])
def test_every_v2_route_needs_the_bearer_key(emu: TelnyxEmulator, header: str | None) -> None:
    # Given a request without the right bearer token
    headers = {} if header is None else {"Authorization": header}
    # When it calls a read-only route
    response = httpx.get(f"{emu.base_url}/v2/verifications/{uuid.uuid4()}", headers=headers)
    # Then it is refused with 401 before anything else is looked at
    assert response.status_code == 401
    assert response.json()["errors"][0]["code"] == "10009"


def test_unknown_verify_profile_raises_the_sdk_not_found_error(
    emu: TelnyxEmulator, client: telnyx.Telnyx
) -> None:
    # Given a profile id the emulator does not have
    unknown = str(uuid.uuid4())
    # When a client triggers, or verifies by phone number, with it
    with pytest.raises(telnyx.NotFoundError) as on_send:
        client.verifications.trigger_sms(phone_number=PHONE, verify_profile_id=unknown)
    with pytest.raises(telnyx.NotFoundError) as on_verify:
        client.verifications.by_phone_number.actions.verify(
            PHONE, code="123456", verify_profile_id=unknown
        )
    # Then both get Telnyx's 404 "Resource not found" pointing at the profile
    for caught in (on_send, on_verify):
        error = error_of(caught.value)
        assert error["code"] == "10005"
        assert error["source"] == {"pointer": "/verify_profile_id"}
    assert outbox(emu) == []


@pytest.mark.parametrize("phone", ["4155550123", "+0123456", "+1415555012345678", "+1 415 555"])
def test_phone_number_not_in_e164_raises_unprocessable_entity(
    client: telnyx.Telnyx, phone: str
) -> None:
    # Given a phone number that is not +E.164
    # When a client triggers a verification for it
    with pytest.raises(telnyx.UnprocessableEntityError) as caught:
        client.verifications.trigger_sms(phone_number=phone, verify_profile_id=PROFILE_ID)
    # Then it gets 422 with Telnyx's E.164 error pointing at the field
    error = error_of(caught.value)
    assert error["code"] == "10016"
    assert error["source"] == {"pointer": "/phone_number"}


@pytest.mark.parametrize(
    ("body", "status", "code", "pointer"),
    [
        ({"verify_profile_id": PROFILE_ID}, 422, "10004", "/phone_number"),
        ({"phone_number": PHONE}, 422, "10004", "/verify_profile_id"),
        (
            {"phone_number": 14155550123, "verify_profile_id": PROFILE_ID},
            422,
            "10015",
            "/phone_number",
        ),
        (
            {"phone_number": PHONE, "verify_profile_id": PROFILE_ID, "timeout_secs": "300"},
            422,
            "10015",
            "/timeout_secs",
        ),
        (
            {"phone_number": PHONE, "verify_profile_id": PROFILE_ID, "custom_code": "12ab"},
            422,
            "10015",
            "/custom_code",
        ),
        ([PHONE], 400, "10015", None),
    ],
)
def test_invalid_trigger_bodies_get_telnyx_validation_errors(
    emu: TelnyxEmulator, body: Any, status: int, code: str, pointer: str | None
) -> None:
    # Given a trigger body with a missing or wrongly typed field
    # When it is posted
    response = raw_post(emu, "/v2/verifications/sms", json.dumps(body))
    # Then the error names the field in Telnyx's envelope, and nothing is sent
    assert response.status_code == status
    error = response.json()["errors"][0]
    assert error["code"] == code
    assert error.get("source", {}).get("pointer") == pointer
    assert {"code", "title", "detail", "meta"} <= set(error)
    assert outbox(emu) == []


@pytest.mark.parametrize("content", [b"{not json", b"", b"\xff\xfe"])
def test_malformed_json_is_a_400_bad_request(emu: TelnyxEmulator, content: bytes) -> None:
    # Given a body that is not JSON
    # When it is posted to the trigger endpoint
    response = raw_post(emu, "/v2/verifications/sms", content)
    # Then Telnyx's 400 "Bad Request" comes back
    assert response.status_code == 400
    assert response.json()["errors"][0]["code"] == "10015"


def test_unknown_verification_id_raises_not_found(client: telnyx.Telnyx) -> None:
    # Given an id no verification has
    unknown = str(uuid.uuid4())
    # When the client retrieves it or verifies a code against it
    with pytest.raises(telnyx.NotFoundError) as on_retrieve:
        client.verifications.retrieve(unknown)
    with pytest.raises(telnyx.NotFoundError) as on_verify:
        client.verifications.actions.verify(unknown, code="123456")
    # Then both get 404 10005
    assert error_of(on_retrieve.value)["code"] == "10005"
    assert error_of(on_verify.value)["code"] == "10005"


def test_malformed_verification_id_is_a_400_invalid_id(client: telnyx.Telnyx) -> None:
    # Given an id that is not a UUID
    # When the client retrieves it
    with pytest.raises(telnyx.BadRequestError) as caught:
        client.verifications.retrieve("not-a-uuid")
    # Then Telnyx's "Invalid ID" comes back
    assert error_of(caught.value)["code"] == "10006"


def test_verify_by_phone_number_without_any_verification_is_not_found(
    client: telnyx.Telnyx,
) -> None:
    # Given no verification was ever sent to this number
    # When a code is submitted for it
    with pytest.raises(telnyx.NotFoundError) as caught:
        client.verifications.by_phone_number.actions.verify(
            OTHER_PHONE, code="123456", verify_profile_id=PROFILE_ID
        )
    # Then it is a 404
    assert error_of(caught.value)["code"] == "10005"


def test_verify_by_id_without_code_or_status_is_a_missing_parameter(
    client: telnyx.Telnyx,
) -> None:
    # Given a pending verification
    verification = client.verifications.trigger_sms(
        phone_number=PHONE, verify_profile_id=PROFILE_ID
    ).data
    # When the client verifies with neither code nor status
    with pytest.raises(telnyx.UnprocessableEntityError) as caught:
        client.verifications.actions.verify(verification.id or "")
    # Then it is told the code is required
    assert error_of(caught.value)["code"] == "10004"


def test_unknown_v2_route_is_not_found(emu: TelnyxEmulator) -> None:
    # Given an authenticated request to a route the emulator does not have
    response = httpx.get(
        f"{emu.base_url}/v2/messages", headers={"Authorization": f"Bearer {API_KEY}"}
    )
    # Then Telnyx's 404 envelope comes back
    assert response.status_code == 404
    assert response.json()["errors"][0]["code"] == "10005"


# -- codes, expiry, custom codes ---------------------------------------------------


def test_codes_have_the_configured_length_and_the_sms_carries_only_the_code(
    make_emulator: Callable[..., TelnyxEmulator],
) -> None:
    # Given an emulator configured for 4-digit codes
    emulator = make_emulator(code_length=4)
    with sdk(emulator) as c:
        # When several verifications are triggered
        for _ in range(5):
            c.verifications.trigger_sms(phone_number=PHONE, verify_profile_id=PROFILE_ID)
    # Then every code is 4 digits and the SMS text holds that code and no other digits
    for message in outbox(emulator, PHONE):
        assert re.fullmatch(r"\d{4}", message["code"])
        assert message["text"] == f"Your verification code is {message['code']}."
        assert re.sub(r"\D", "", message["text"]) == message["code"]


def test_custom_code_is_sent_echoed_and_accepted(
    emu: TelnyxEmulator, client: telnyx.Telnyx
) -> None:
    # Given a verification triggered with a custom code
    verification = client.verifications.trigger_sms(
        phone_number=PHONE, verify_profile_id=PROFILE_ID, custom_code="43612"
    ).data
    # Then the record echoes it and the SMS carries it
    assert verification.custom_code == "43612"
    assert latest_code(emu) == "43612"
    # When the custom code is submitted
    result = client.verifications.actions.verify(verification.id or "", code="43612")
    # Then it is accepted
    assert result.data.response_code == "accepted"


def test_status_override_is_only_allowed_for_custom_code_verifications(
    client: telnyx.Telnyx,
) -> None:
    # Given one verification with a custom code and one without
    custom = client.verifications.trigger_sms(
        phone_number=PHONE, verify_profile_id=PROFILE_ID, custom_code="5555"
    ).data
    generated = client.verifications.trigger_sms(
        phone_number=OTHER_PHONE, verify_profile_id=PROFILE_ID
    ).data
    # When the client reports the outcome itself with `status`
    result = client.verifications.actions.verify(custom.id or "", status="accepted")
    with pytest.raises(telnyx.UnprocessableEntityError) as caught:
        client.verifications.actions.verify(generated.id or "", status="accepted")
    # Then it is taken for the custom-code one and refused for the other
    assert result.data.response_code == "accepted"
    assert client.verifications.retrieve(custom.id or "").data.status == "accepted"
    assert error_of(caught.value)["source"] == {"pointer": "/status"}
    assert client.verifications.retrieve(generated.id or "").data.status == "pending"


def test_code_expires_after_timeout_secs_on_the_injected_clock(
    make_emulator: Callable[..., TelnyxEmulator],
) -> None:
    # Given an emulator on a fake clock and two verifications sent at t0
    clock = FakeClock()
    emulator = make_emulator(clock=clock)
    with sdk(emulator) as c:
        early = c.verifications.trigger_sms(
            phone_number=PHONE, verify_profile_id=PROFILE_ID, custom_code="1111"
        ).data
        late = c.verifications.trigger_sms(
            phone_number=OTHER_PHONE, verify_profile_id=PROFILE_ID, custom_code="2222"
        ).data
        # When one code is submitted 299 s later and the other 300 s later
        clock.advance(299)
        in_time = c.verifications.actions.verify(early.id or "", code="1111")
        clock.advance(1)
        too_late = c.verifications.actions.verify(late.id or "", code="2222")
        # Then the first is accepted, the second rejected and its record reads expired
        assert in_time.data.response_code == "accepted"
        assert too_late.data.response_code == "rejected"
        expired = c.verifications.retrieve(late.id or "").data
    assert expired.status == "expired"
    assert expired.updated_at is not None and RECORD_TIME.match(expired.updated_at)


def test_per_request_timeout_secs_overrides_the_profile_default(
    make_emulator: Callable[..., TelnyxEmulator],
) -> None:
    # Given a verification triggered with timeout_secs=60
    clock = FakeClock()
    emulator = make_emulator(clock=clock)
    with sdk(emulator) as c:
        verification = c.verifications.trigger_sms(
            phone_number=PHONE, verify_profile_id=PROFILE_ID, timeout_secs=60
        ).data
        assert verification.timeout_secs == 60
        # When the right code arrives 61 s later
        clock.advance(61)
        result = c.verifications.by_phone_number.actions.verify(
            PHONE, code=latest_code(emulator), verify_profile_id=PROFILE_ID
        )
    # Then it is rejected
    assert result.data.response_code == "rejected"


def test_clock_endpoint_moves_emulator_time(emu: TelnyxEmulator, client: telnyx.Telnyx) -> None:
    # Given a pending verification on the real clock
    verification = client.verifications.trigger_sms(
        phone_number=PHONE, verify_profile_id=PROFILE_ID
    ).data
    # When time is advanced past the timeout through the dev endpoint
    moved = httpx.post(f"{emu.base_url}/_emulator/clock", json={"advance_secs": 301})
    assert moved.status_code == 200
    assert moved.json()["offset_secs"] == 301
    # Then the code no longer verifies and the record reads expired
    result = client.verifications.actions.verify(verification.id or "", code=latest_code(emu))
    assert result.data.response_code == "rejected"
    assert client.verifications.retrieve(verification.id or "").data.status == "expired"


# -- outbox ------------------------------------------------------------------------


def test_outbox_is_newest_first_and_filters_by_phone_number(
    emu: TelnyxEmulator, client: telnyx.Telnyx
) -> None:
    # Given three sends to two numbers
    for phone, code in [(PHONE, "1001"), (OTHER_PHONE, "2002"), (PHONE, "1003")]:
        client.verifications.trigger_sms(
            phone_number=phone, verify_profile_id=PROFILE_ID, custom_code=code
        )
    # When the outbox is read with and without a filter
    everything = outbox(emu)
    mine = outbox(emu, PHONE)
    # Then it is newest first, and the filter keeps only that number's messages
    assert [m["code"] for m in everything] == ["1003", "2002", "1001"]
    assert [m["code"] for m in mine] == ["1003", "1001"]
    assert set(mine[0]) >= {"phone_number", "code", "verification_id", "created_at", "text"}
    # And the Python handle reads the same data
    assert emu.messages(PHONE) == mine
    assert emu.latest_code(PHONE) == "1003"


def test_outbox_filter_accepts_an_unencoded_plus(
    emu: TelnyxEmulator, client: telnyx.Telnyx
) -> None:
    # Given a send to a number
    client.verifications.trigger_sms(phone_number=PHONE, verify_profile_id=PROFILE_ID)
    # When the outbox is queried with a literal "+" (as typed in curl or a browser)
    response = httpx.get(f"{emu.base_url}/_emulator/messages?phone_number={PHONE}")
    # Then the "+" is not read as a space
    assert [m["phone_number"] for m in response.json()["data"]] == [PHONE]


def test_outbox_filter_by_masked_hint_lists_only_the_numbers_it_matches(
    emu: TelnyxEmulator, client: telnyx.Telnyx
) -> None:
    # Given codes sent to three numbers, two of them with the same last four digits
    others = ["+14155559876", "+4915155550123"]
    for number in [PHONE, *others]:
        client.verifications.trigger_sms(phone_number=number, verify_profile_id=PROFILE_ID)
    # When the outbox is asked for the masked number a page knows (the API's phone_hint)
    by_hint = outbox(emu, phone_hint="+1******0123")
    # Then it lists that number's messages only
    assert [m["phone_number"] for m in by_hint] == [PHONE]
    # and a reset's hint (no country code) matches by its last digits
    assert {m["phone_number"] for m in outbox(emu, phone_hint="******0123")} == {
        PHONE,
        "+4915155550123",
    }
    # and a hint with no stars is the number itself
    assert [m["phone_number"] for m in outbox(emu, phone_hint=others[0])] == [others[0]]


# -- fault injection ---------------------------------------------------------------


def test_injected_503_raises_internal_server_error_once_and_sends_nothing(
    emu: TelnyxEmulator, client: telnyx.Telnyx
) -> None:
    # Given a one-shot 503 on sends
    emu.add_fault("send", status=503, count=1)
    # When the client triggers twice
    with pytest.raises(telnyx.InternalServerError) as caught:
        client.verifications.trigger_sms(phone_number=PHONE, verify_profile_id=PROFILE_ID)
    # Then the first fails with Telnyx's envelope and sends no SMS
    assert caught.value.status_code == 503
    assert error_of(caught.value)["code"] == "10007"
    assert outbox(emu) == []
    # And the second succeeds
    client.verifications.trigger_sms(phone_number=PHONE, verify_profile_id=PROFILE_ID)
    assert len(outbox(emu)) == 1


def test_faults_match_their_endpoint_and_run_out_after_count(
    emu: TelnyxEmulator, client: telnyx.Telnyx
) -> None:
    # Given a pending verification and a 429 armed for the next two verify calls
    verification = client.verifications.trigger_sms(
        phone_number=PHONE, verify_profile_id=PROFILE_ID
    ).data
    emu.add_fault("verify", status=429, count=2)
    # When a retrieve (other endpoint) and three verify calls are made
    assert client.verifications.retrieve(verification.id or "").data.status == "pending"
    for _ in range(2):
        with pytest.raises(telnyx.RateLimitError):
            client.verifications.actions.verify(verification.id or "", code=latest_code(emu))
    result = client.verifications.actions.verify(verification.id or "", code=latest_code(emu))
    # Then only the first two verify calls failed
    assert result.data.response_code == "accepted"
    assert emu.faults() == []


def test_delay_fault_slows_the_response_without_failing_it(
    emu: TelnyxEmulator, client: telnyx.Telnyx
) -> None:
    # Given a 400 ms delay on the next call of any kind
    emu.add_fault("any", delay_ms=400)
    # When the client triggers a verification
    started = time.monotonic()
    client.verifications.trigger_sms(phone_number=PHONE, verify_profile_id=PROFILE_ID)
    slow = time.monotonic() - started
    # Then it answered after the delay, successfully, and the delay is used up
    assert slow >= 0.4
    assert emu.faults() == []
    # and the next call is not delayed, only sent
    client.verifications.trigger_sms(phone_number=PHONE, verify_profile_id=PROFILE_ID)
    assert len(outbox(emu)) == 2


def test_delayed_call_does_not_hold_up_other_requests(
    emu: TelnyxEmulator, client: telnyx.Telnyx
) -> None:
    # Given a delay armed on retrieves only, longer than a loaded machine takes for a call
    verification = client.verifications.trigger_sms(
        phone_number=PHONE, verify_profile_id=PROFILE_ID
    ).data
    emu.add_fault("retrieve", delay_ms=5_000)
    with ThreadPoolExecutor(1) as pool:
        slow = pool.submit(client.verifications.retrieve, verification.id or "")
        deadline = time.monotonic() + SETTLE_SECS
        while emu.faults():  # until the retrieve has taken the fault: then it is stalled
            assert time.monotonic() < deadline
            time.sleep(0.01)
        # When another client sends while the retrieve is stalled
        client.verifications.trigger_sms(phone_number=OTHER_PHONE, verify_profile_id=PROFILE_ID)
        # Then the send was answered first: it was not queued behind it
        assert not slow.done()
        assert slow.result(timeout=SETTLE_SECS).data.status == "pending"


def test_fault_applied_after_the_action_fails_the_call_but_the_sms_goes_out(
    emu: TelnyxEmulator, client: telnyx.Telnyx
) -> None:
    # Given a 504 that hits after the send was made (a timeout the caller cannot see past)
    emu.add_fault("send", status=504, apply="after")
    # When the client triggers
    with pytest.raises(telnyx.InternalServerError):
        client.verifications.trigger_sms(phone_number=PHONE, verify_profile_id=PROFILE_ID)
    # Then the caller saw a failure, yet the SMS was delivered
    assert len(outbox(emu, PHONE)) == 1


def test_faults_over_http_can_be_listed_and_cleared(
    emu: TelnyxEmulator, client: telnyx.Telnyx
) -> None:
    # Given faults armed through the dev endpoint
    base = f"{emu.base_url}/_emulator/faults"
    assert httpx.post(base, json={"endpoint": "send", "status": 500, "count": 3}).status_code == 200
    assert httpx.post(base, json={"delivery": "failed", "count": 1}).status_code == 200
    listed = httpx.get(base).json()["data"]
    assert {
        "endpoint": "send",
        "status": 500,
        "count": 3,
        "delay_ms": 0,
        "apply": "before",
    } in listed
    assert {"delivery": "delivery_failed", "count": 1} in listed
    # When they are cleared
    assert httpx.delete(base).json() == {"data": []}
    # Then calls succeed again
    client.verifications.trigger_sms(phone_number=PHONE, verify_profile_id=PROFILE_ID)
    assert outbox(emu, PHONE)[0]["delivery_status"] == "delivered"


@pytest.mark.parametrize(
    "body",
    [
        {"endpoint": "nope", "status": 500},
        {"endpoint": "send"},
        {"status": 200},
        {"delivery": "lost"},
        {"status": 500, "count": 0},
        {"webhook": "x"},
    ],
)
def test_invalid_fault_requests_are_refused(emu: TelnyxEmulator, body: dict[str, Any]) -> None:
    # Given a fault description that makes no sense
    # When it is posted
    response = httpx.post(f"{emu.base_url}/_emulator/faults", json=body)
    # Then it is refused and nothing is armed
    assert response.status_code == 400
    assert "error" in response.json()
    assert emu.faults() == []


# -- concurrency -------------------------------------------------------------------


def test_twenty_parallel_triggers_all_succeed_with_distinct_ids(
    emu: TelnyxEmulator, client: telnyx.Telnyx
) -> None:
    # Given 20 clients sending at once
    phones = [f"+1415555{i:04d}" for i in range(20)]

    def send(phone: str) -> str:
        data = client.verifications.trigger_sms(phone_number=phone, verify_profile_id=PROFILE_ID)
        return data.data.id or ""

    # When they all trigger in parallel
    with ThreadPoolExecutor(20) as pool:
        ids = list(pool.map(send, phones))
    # Then every call succeeded with its own verification and SMS
    assert len(set(ids)) == 20
    messages = outbox(emu)
    assert len(messages) == 20
    assert {m["verification_id"] for m in messages} == set(ids)


# -- webhooks ----------------------------------------------------------------------


def test_webhooks_arrive_sent_then_delivered_signed_like_telnyx(
    make_emulator: Callable[..., TelnyxEmulator], receiver: WebhookReceiver
) -> None:
    # Given an emulator sending webhooks to a local receiver
    emulator = make_emulator(webhook_url=receiver.url)
    public_key = httpx.get(f"{emulator.base_url}/_emulator/public_key").json()["public_key"]
    assert public_key == emulator.public_key_b64
    assert len(base64.b64decode(public_key)) == 32
    # When a verification is triggered
    with sdk(emulator) as c:
        verification = c.verifications.trigger_sms(
            phone_number=PHONE, verify_profile_id=PROFILE_ID
        ).data
    first, second = receiver.wait_for(2)
    # Then verify.sent arrives before verify.delivered, in Telnyx's envelope
    assert [first.event["data"]["event_type"], second.event["data"]["event_type"]] == [
        "verify.sent",
        "verify.delivered",
    ]
    for hook, delivery_status in [(first, "sent"), (second, "delivered")]:
        data = hook.event["data"]
        assert data["record_type"] == "event"
        assert uuid.UUID(data["id"])
        assert EVENT_TIME.match(data["occurred_at"])
        assert hook.event["meta"] == {"attempt": 1, "delivered_to": receiver.url}
        payload = data["payload"]
        assert payload["id"] == verification.id
        assert payload["phone_number"] == PHONE
        assert payload["profile_id"] == PROFILE_ID
        assert payload["delivery_status"] == delivery_status
        assert payload["record_type"] == "verification"
        assert payload["type"] == "sms"
        assert payload["status"] == "pending"
        assert "code" not in payload
        # And each one verifies against the public key over "timestamp|raw body"
        assert hook.headers["content-type"] == "application/json"
        assert abs(int(hook.headers["telnyx-timestamp"]) - time.time()) < 30
        verify_signature(public_key, hook)
    assert first.event["data"]["id"] != second.event["data"]["id"]


def test_a_tampered_webhook_body_fails_signature_verification(
    make_emulator: Callable[..., TelnyxEmulator], receiver: WebhookReceiver
) -> None:
    # Given a genuine webhook from the emulator
    emulator = make_emulator(webhook_url=receiver.url)
    with sdk(emulator) as c:
        c.verifications.trigger_sms(phone_number=PHONE, verify_profile_id=PROFILE_ID)
    genuine = receiver.wait_for(1)[0]
    verify_signature(emulator.public_key_b64, genuine)
    # When its body, its timestamp or the key is changed
    tampered_body = ReceivedWebhook(
        genuine.headers, genuine.raw_body.replace(b"verify.sent", b"verify.delivered")
    )
    other_timestamp = ReceivedWebhook(
        genuine.headers | {"telnyx-timestamp": str(int(genuine.headers["telnyx-timestamp"]) + 1)},
        genuine.raw_body,
    )
    stranger = TelnyxEmulator(EmulatorConfig(port=0))
    # Then verification fails every time
    for forged, key in [
        (tampered_body, emulator.public_key_b64),
        (other_timestamp, emulator.public_key_b64),
        (genuine, stranger.public_key_b64),
    ]:
        with pytest.raises(InvalidSignature):
            verify_signature(key, forged)


def test_webhook_delivery_never_delays_the_api_response(
    make_emulator: Callable[..., TelnyxEmulator], receiver: WebhookReceiver
) -> None:
    # Given a webhook receiver that answers no delivery until the test lets it
    receiver.held = threading.Event()
    emulator = make_emulator(webhook_url=receiver.url)
    # When a verification is triggered
    with sdk(emulator) as c:
        c.verifications.trigger_sms(phone_number=PHONE, verify_profile_id=PROFILE_ID)
    # Then the API answered while its webhooks were still held up
    assert receiver.received == []
    # and once the receiver answers, they arrive
    receiver.held.set()
    assert len(receiver.wait_for(2)) == 2


@pytest.mark.parametrize(
    ("delivery", "events", "delivery_status"),
    [
        ("failed", ["verify.sent", "verify.failed"], "delivery_failed"),
        ("sending_failed", ["verify.failed"], "sending_failed"),
    ],
)
def test_injected_delivery_failure_yields_verify_failed(
    make_emulator: Callable[..., TelnyxEmulator],
    receiver: WebhookReceiver,
    delivery: str,
    events: list[str],
    delivery_status: str,
) -> None:
    # Given a delivery failure armed for the next send
    emulator = make_emulator(webhook_url=receiver.url)
    httpx.post(f"{emulator.base_url}/_emulator/faults", json={"delivery": delivery, "count": 1})
    # When a verification is triggered (the API call itself succeeds)
    with sdk(emulator) as c:
        c.verifications.trigger_sms(phone_number=PHONE, verify_profile_id=PROFILE_ID)
    received = receiver.wait_for(len(events))
    assert emulator.wait_for_webhooks(SETTLE_SECS)
    # Then the webhooks report the failure
    assert [r.event["data"]["event_type"] for r in receiver.received] == events
    assert received[-1].event["data"]["payload"]["delivery_status"] == delivery_status
    # And the phone never got the SMS: hidden from the outbox unless asked for
    assert outbox(emulator, PHONE) == []
    undelivered = outbox(emulator, PHONE, include_undelivered="true")
    assert [m["delivery_status"] for m in undelivered] == [delivery_status]


def test_failed_webhook_deliveries_are_retried_and_logged(
    make_emulator: Callable[..., TelnyxEmulator], receiver: WebhookReceiver
) -> None:
    # Given a receiver that answers 500 to the first attempt
    receiver.statuses = [500]
    emulator = make_emulator(webhook_url=receiver.url)
    # When a verification is triggered
    with sdk(emulator) as c:
        c.verifications.trigger_sms(phone_number=PHONE, verify_profile_id=PROFILE_ID)
    received = receiver.wait_for(3)
    assert emulator.wait_for_webhooks(SETTLE_SECS)
    # Then verify.sent is retried with the same event id and the next attempt number
    first, retry, delivered = (r.event for r in received)
    assert first["data"]["id"] == retry["data"]["id"]
    assert [first["meta"]["attempt"], retry["meta"]["attempt"]] == [1, 2]
    assert delivered["data"]["event_type"] == "verify.delivered"
    for hook in received:
        verify_signature(emulator.public_key_b64, hook)
    # And every attempt is in the webhook log
    log = httpx.get(f"{emulator.base_url}/_emulator/webhooks").json()["data"]
    assert [(e["event_type"], e["attempt"], e["status_code"]) for e in log] == [
        ("verify.sent", 1, 500),
        ("verify.sent", 2, 200),
        ("verify.delivered", 1, 200),
    ]
    assert all(e["url"] == receiver.url for e in log)


def test_unreachable_webhook_url_is_logged_as_an_error(
    make_emulator: Callable[..., TelnyxEmulator],
) -> None:
    # Given a webhook URL nothing listens on
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead_port = probe.getsockname()[1]
    emulator = make_emulator(
        webhook_url=f"http://127.0.0.1:{dead_port}/hook", webhook_max_attempts=2
    )
    # When a verification is triggered
    with sdk(emulator) as c:
        c.verifications.trigger_sms(phone_number=PHONE, verify_profile_id=PROFILE_ID)
    assert emulator.wait_for_webhooks(SETTLE_SECS)
    # Then every attempt is logged with the connection error and no status code
    log = emulator.webhook_log()
    assert len(log) == 4
    assert all(e["status_code"] is None and e["error"] and not e["delivered"] for e in log)


def sms_under_webhook_fault(
    make_emulator: Callable[..., TelnyxEmulator], receiver: WebhookReceiver, kind: str
) -> TelnyxEmulator:
    """An emulator whose webhooks go to `receiver` (one attempt each), a `kind` webhook fault
    armed, and one SMS verification triggered on it."""
    emulator = make_emulator(webhook_url=receiver.url, webhook_max_attempts=1)
    emulator.add_webhook_fault(kind)
    with sdk(emulator) as c:
        c.verifications.trigger_sms(phone_number=PHONE, verify_profile_id=PROFILE_ID)
    return emulator


@pytest.mark.parametrize("kind", ["bad_signature", "stale_timestamp"])
def test_webhook_faults_send_events_a_receiver_must_refuse(
    make_emulator: Callable[..., TelnyxEmulator], receiver: WebhookReceiver, kind: str
) -> None:
    # Given a webhook fault armed for the next send, when a verification is triggered
    emulator = sms_under_webhook_fault(make_emulator, receiver, kind)
    hooks = receiver.wait_for(2)
    # Then the events fail the signature check, or carry an hour-old timestamp
    for hook in hooks:
        if kind == "bad_signature":
            with pytest.raises(InvalidSignature):
                verify_signature(emulator.public_key_b64, hook)
        else:
            verify_signature(emulator.public_key_b64, hook)
            assert time.time() - int(hook.headers["telnyx-timestamp"]) > 300


def test_sign_webhook_helper_produces_verifiable_headers(emu: TelnyxEmulator) -> None:
    # Given a body a test wants to post as if from Telnyx
    body = b'{"data": {"event_type": "verify.delivered"}}'
    # When the emulator signs it
    headers = emu.sign_webhook(body, timestamp=1_700_000_000)
    # Then the headers verify over "timestamp|body"
    assert headers["telnyx-timestamp"] == "1700000000"
    verify_signature(emu.public_key_b64, ReceivedWebhook(headers, body))


# -- keys, reset, logs, CLI --------------------------------------------------------


def test_signing_key_file_is_created_once_and_reused(tmp_path: Path) -> None:
    # Given no key file yet
    key_file = tmp_path / "telnyx-signing-key"
    # When two emulators are configured with that path
    first = TelnyxEmulator(EmulatorConfig(port=0, signing_key_file=str(key_file)))
    second = TelnyxEmulator(EmulatorConfig(port=0, signing_key_file=str(key_file)))
    # Then the file holds a private 32-byte seed and both share one public key
    assert len(base64.b64decode(key_file.read_text().strip())) == 32
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert first.public_key_b64 == second.public_key_b64


def test_reset_forgets_verifications_outbox_faults_and_webhook_log(
    make_emulator: Callable[..., TelnyxEmulator], receiver: WebhookReceiver
) -> None:
    # Given an emulator with history, an armed fault and an advanced clock
    emulator = make_emulator(webhook_url=receiver.url)
    with sdk(emulator) as c:
        verification = c.verifications.trigger_sms(
            phone_number=PHONE, verify_profile_id=PROFILE_ID
        ).data
        receiver.wait_for(2)
        assert emulator.wait_for_webhooks(SETTLE_SECS)
        emulator.add_fault("send", status=500)
        emulator.advance_clock(1000)
        # When it is reset over HTTP
        assert httpx.post(f"{emulator.base_url}/_emulator/reset").status_code == 200
        # Then everything is gone
        assert outbox(emulator) == []
        assert emulator.webhook_log() == []
        assert emulator.faults() == []
        assert httpx.get(f"{emulator.base_url}/_emulator/clock").json()["offset_secs"] == 0
        with pytest.raises(telnyx.NotFoundError):
            c.verifications.retrieve(verification.id or "")
        c.verifications.trigger_sms(phone_number=PHONE, verify_profile_id=PROFILE_ID)


def test_access_log_masks_phone_numbers_and_never_shows_codes(
    emu: TelnyxEmulator, client: telnyx.Telnyx, caplog: pytest.LogCaptureFixture
) -> None:
    # Given request logging captured
    caplog.set_level(logging.INFO, logger="telnyx_emulator")
    # When a full send/verify cycle runs, including a read of the outbox
    client.verifications.trigger_sms(
        phone_number=PHONE, verify_profile_id=PROFILE_ID, custom_code="987654"
    )
    outbox(emu, PHONE)
    client.verifications.by_phone_number.actions.verify(
        PHONE, code="987654", verify_profile_id=PROFILE_ID
    )
    # Then the log has method, path and status, with numbers masked and no code
    text = caplog.text
    assert "POST /v2/verifications/sms 200" in text
    assert "POST /v2/verifications/by_phone_number/***0123/actions/verify 200" in text
    assert "987654" not in text
    assert "4155550123" not in text


def test_health_endpoint_and_unknown_dev_route(emu: TelnyxEmulator) -> None:
    # Given a running emulator
    # When its health and a non-existent dev route are requested
    health = httpx.get(f"{emu.base_url}/_emulator/health")
    missing = httpx.get(f"{emu.base_url}/_emulator/nothing")
    # Then health is ok and the unknown route is a 404
    assert health.json() == {"status": "ok"}
    assert missing.status_code == 404


def test_module_runs_from_the_command_line(tmp_path: Path) -> None:
    # Given a free port
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    key_file = tmp_path / "key"
    # When the emulator is started as `python -m devtools.telnyx_emulator`
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "devtools.telnyx_emulator",
            "--port",
            str(port),
            "--signing-key-file",
            str(key_file),
            "--code-length",
            "8",
        ],
        cwd=Path(__file__).resolve().parents[2],
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + SETTLE_SECS
        while True:
            try:
                if httpx.get(f"{base}/_emulator/health").status_code == 200:
                    break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        # Then it serves the API with the flags it was given
        with telnyx.Telnyx(api_key=API_KEY, base_url=f"{base}/v2", max_retries=0) as c:
            c.verifications.trigger_sms(phone_number=PHONE, verify_profile_id=PROFILE_ID)
        code = httpx.get(f"{base}/_emulator/messages").json()["data"][0]["code"]
        assert re.fullmatch(r"\d{8}", code)
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=SETTLE_SECS)
    # And it stops cleanly on SIGTERM, logging its public key but never the code
    assert process.returncode == 0
    assert "webhook public key" in stderr
    assert code not in stderr


# -- voice call and WhatsApp channels, through the SDK ----------------------------------


def trigger_by(client: telnyx.Telnyx, channel: str, **params: Any) -> Any:
    """The SDK's trigger for `channel`: trigger_call / trigger_whatsapp_verification."""
    if channel == "call":
        return client.verifications.trigger_call(**params)
    return client.verifications.trigger_whatsapp_verification(**params)


@pytest.mark.parametrize(
    ("channel", "path"), [("call", "trigger_call"), ("whatsapp", "trigger_whatsapp_verification")]
)
def test_call_and_whatsapp_triggers_answer_telnyx_verification_records(
    emu: TelnyxEmulator, client: telnyx.Telnyx, channel: str, path: str
) -> None:
    # When a client triggers a verification by call or WhatsApp through the SDK
    raw = getattr(client.verifications.with_raw_response, path)(
        phone_number=PHONE, verify_profile_id=PROFILE_ID, timeout_secs=120
    )
    # Then it gets Telnyx's Verification record, typed by its channel
    assert raw.status_code == 200
    data = raw.json()["data"]
    assert set(data) == VERIFICATION_FIELDS
    assert data["type"] == channel
    assert (data["status"], data["timeout_secs"], data["phone_number"]) == ("pending", 120, PHONE)
    # And the outbox records the message with its channel
    message = outbox(emu, PHONE)[0]
    assert message["channel"] == channel
    assert message["verification_id"] == data["id"]
    assert " ".join(message["code"]) in message["text"] or message["code"] in message["text"]


@pytest.mark.parametrize("channel", ["call", "whatsapp"])
def test_the_code_of_a_call_or_whatsapp_message_is_accepted_by_id(
    emu: TelnyxEmulator, client: telnyx.Telnyx, channel: str
) -> None:
    verification = trigger_by(
        client, channel, phone_number=PHONE, verify_profile_id=PROFILE_ID
    ).data
    assert verification.type == channel
    code = outbox(emu, PHONE, channel=channel)[0]["code"]
    result = client.verifications.actions.verify(verification.id or "", code=code)
    assert result.data.response_code == "accepted"
    assert client.verifications.retrieve(verification.id or "").data.type == channel


def test_a_call_reads_the_code_out_digit_by_digit(
    emu: TelnyxEmulator, client: telnyx.Telnyx
) -> None:
    client.verifications.trigger_call(
        phone_number=PHONE, verify_profile_id=PROFILE_ID, custom_code="123456"
    )
    assert outbox(emu, PHONE)[0]["text"] == (
        "Your verification code is 1 2 3 4 5 6. Again: 1 2 3 4 5 6."
    )


@pytest.mark.parametrize("channel", ["call", "whatsapp"])
def test_call_and_whatsapp_validate_like_sms(client: telnyx.Telnyx, channel: str) -> None:
    with pytest.raises(telnyx.UnprocessableEntityError) as refused:
        trigger_by(client, channel, phone_number="4155550123", verify_profile_id=PROFILE_ID)
    assert error_of(refused.value)["code"] == "10016"
    with pytest.raises(telnyx.NotFoundError):
        trigger_by(client, channel, phone_number=PHONE, verify_profile_id=str(uuid.uuid4()))


@pytest.mark.parametrize("channel", ["call", "whatsapp"])
def test_api_faults_on_send_cover_call_and_whatsapp(
    emu: TelnyxEmulator, client: telnyx.Telnyx, channel: str
) -> None:
    # Given a 503 armed for the next send
    emu.add_fault("send", status=503)
    # When a call or WhatsApp verification is triggered
    with pytest.raises(telnyx.InternalServerError):
        trigger_by(client, channel, phone_number=PHONE, verify_profile_id=PROFILE_ID)
    # Then nothing went out, and the next one goes
    assert outbox(emu, PHONE, include_undelivered="true") == []
    trigger_by(client, channel, phone_number=PHONE, verify_profile_id=PROFILE_ID)
    assert [m["channel"] for m in outbox(emu, PHONE)] == [channel]


def test_a_delivery_fault_for_sms_fails_the_sms_and_lets_the_call_through(
    make_emulator: Callable[..., TelnyxEmulator], receiver: WebhookReceiver
) -> None:
    # Given a delivery failure armed for the next SMS only
    emulator = make_emulator(webhook_url=receiver.url)
    armed = httpx.post(
        f"{emulator.base_url}/_emulator/faults",
        json={"delivery": "failed", "channel": "sms"},
    )
    assert armed.json()["data"] == [{"delivery": "delivery_failed", "count": 1, "channel": "sms"}]
    # When a call goes first, then an SMS
    with sdk(emulator) as c:
        call = c.verifications.trigger_call(phone_number=PHONE, verify_profile_id=PROFILE_ID)
        sms = c.verifications.trigger_sms(phone_number=PHONE, verify_profile_id=PROFILE_ID)
    receiver.wait_for(4)
    assert emulator.wait_for_webhooks()
    # Then the call was delivered and the SMS failed, each webhook naming its channel
    reports = [
        (
            r.event["data"]["payload"]["id"],
            r.event["data"]["payload"]["type"],
            r.event["data"]["event_type"],
        )
        for r in receiver.received
    ]
    # (each verification's reports in order; the two verifications' may interleave)
    assert [r for r in reports if r[0] == call.data.id] == [
        (call.data.id, "call", "verify.sent"),
        (call.data.id, "call", "verify.delivered"),
    ]
    assert [r for r in reports if r[0] == sms.data.id] == [
        (sms.data.id, "sms", "verify.sent"),
        (sms.data.id, "sms", "verify.failed"),
    ]
    assert [m["channel"] for m in outbox(emulator, PHONE)] == ["call"]
    assert [m["channel"] for m in outbox(emulator, PHONE, include_undelivered="true")] == [
        "sms",
        "call",
    ]


def test_a_delivery_fault_for_a_channel_that_is_not_one_is_refused(emu: TelnyxEmulator) -> None:
    answer = httpx.post(
        f"{emu.base_url}/_emulator/faults", json={"delivery": "failed", "channel": "pigeon"}
    )
    assert answer.status_code == 400
    assert emu.faults() == []


def test_a_duplicate_fault_sends_each_event_twice_with_one_event_id(
    make_emulator: Callable[..., TelnyxEmulator], receiver: WebhookReceiver
) -> None:
    sms_under_webhook_fault(make_emulator, receiver, "duplicate")
    hooks = receiver.wait_for(4)
    kinds = [h.event["data"]["event_type"] for h in hooks]
    ids = [h.event["data"]["id"] for h in hooks]
    assert kinds == ["verify.sent", "verify.sent", "verify.delivered", "verify.delivered"]
    assert ids[0] == ids[1] and ids[2] == ids[3] and ids[0] != ids[2]


def test_a_reorder_fault_sends_the_final_event_first(
    make_emulator: Callable[..., TelnyxEmulator], receiver: WebhookReceiver
) -> None:
    sms_under_webhook_fault(make_emulator, receiver, "reorder")
    kinds = [h.event["data"]["event_type"] for h in receiver.wait_for(2)]
    assert kinds == ["verify.delivered", "verify.sent"]


def test_a_drop_fault_sends_nothing_and_logs_the_events_as_dropped(
    make_emulator: Callable[..., TelnyxEmulator], receiver: WebhookReceiver
) -> None:
    emulator = sms_under_webhook_fault(make_emulator, receiver, "drop")
    assert emulator.wait_for_webhooks(timeout=5)
    log = emulator.webhook_log()
    assert [(e["attempt"], e["delivered"], e["error"]) for e in log] == [
        (0, False, "dropped (fault)")
    ] * 2
    assert receiver.received == []


def test_a_delay_fault_holds_the_events_back_and_is_listed_with_its_delay(
    make_emulator: Callable[..., TelnyxEmulator], receiver: WebhookReceiver
) -> None:
    emulator = make_emulator(webhook_url=receiver.url, webhook_max_attempts=1)
    emulator.add_webhook_fault("delay", delay_ms=60_000)
    assert emulator.faults() == [{"webhook": "delay", "count": 1, "delay_ms": 60_000}]
    with sdk(emulator) as c:
        c.verifications.trigger_sms(phone_number=PHONE, verify_profile_id=PROFILE_ID)
    assert not emulator.wait_for_webhooks(timeout=0.5)  # still held back
    assert receiver.received == []
