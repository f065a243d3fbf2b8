"""The emulator's Messaging API (`POST /v2/messages`), driven through the official `telnyx` SDK:
if the SDK parses the answers and raises its own errors for the emulator's, the wire format is
the one it expects from api.telnyx.com. Notices share the outbox with codes, as
`"kind": "notice"` without a `code`."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import telnyx

from devtools.telnyx_emulator import EmulatorConfig, TelnyxEmulator
from devtools.telnyx_emulator.config import DEFAULT_MESSAGING_FROM, DEFAULT_MESSAGING_PROFILE_ID

API_KEY = "KEY_LOCAL"
PROFILE_ID = "49000000-0000-4000-8000-000000000001"
PHONE = "+14155550123"
TEXT = "Phone Verify: your password was reset. If this wasn't you, contact support."


@pytest.fixture
def emu() -> Iterator[TelnyxEmulator]:
    emulator = TelnyxEmulator(EmulatorConfig(port=0, log_requests=False)).start()
    yield emulator
    emulator.stop()


@pytest.fixture
def client(emu: TelnyxEmulator) -> Iterator[telnyx.Telnyx]:
    with telnyx.Telnyx(api_key=API_KEY, base_url=emu.base_url + "/v2", max_retries=0) as c:
        yield c


def outbox(emu: TelnyxEmulator, **params: str) -> list[dict[str, Any]]:
    response = httpx.get(f"{emu.base_url}/_emulator/messages", params=params)
    assert response.status_code == 200
    data: list[dict[str, Any]] = response.json()["data"]
    return data


def error_of(exc: telnyx.APIStatusError) -> dict[str, Any]:
    assert isinstance(exc.body, dict)
    first: dict[str, Any] = exc.body["errors"][0]
    return first


def test_send_answers_telnyx_outbound_message_and_the_outbox_shows_a_notice(
    emu: TelnyxEmulator, client: telnyx.Telnyx
) -> None:
    # When a client sends an SMS from our number with the SDK's messages.send
    sent = client.messages.send(to=PHONE, from_=DEFAULT_MESSAGING_FROM, text=TEXT)
    # Then the SDK reads Telnyx's queued outbound message
    data = sent.data
    assert data is not None
    assert data.record_type == "message" and data.direction == "outbound"
    assert data.type == "SMS" and data.text == TEXT
    assert uuid.UUID(data.id or "")
    assert data.from_ is not None and data.from_.phone_number == DEFAULT_MESSAGING_FROM
    assert data.to is not None and [(t.phone_number, t.status) for t in data.to] == [
        (PHONE, "queued")
    ]
    # And the outbox holds it as a notice, without a code field
    [notice] = outbox(emu, phone_number=PHONE)
    assert notice["kind"] == "notice" and "code" not in notice
    assert (notice["text"], notice["message_id"]) == (TEXT, data.id)


def test_a_messaging_profile_may_send_instead_of_a_number(
    emu: TelnyxEmulator, client: telnyx.Telnyx
) -> None:
    sent = client.messages.send(
        to=PHONE, messaging_profile_id=DEFAULT_MESSAGING_PROFILE_ID, text=TEXT
    )
    assert sent.data is not None and sent.data.messaging_profile_id == DEFAULT_MESSAGING_PROFILE_ID
    assert [m["from"] for m in emu.notices(PHONE)] == [DEFAULT_MESSAGING_PROFILE_ID]


def test_codes_and_notices_share_the_outbox_told_apart_by_kind(
    emu: TelnyxEmulator, client: telnyx.Telnyx
) -> None:
    # Given a code, then a notice, to one number
    client.verifications.trigger_sms(phone_number=PHONE, verify_profile_id=PROFILE_ID)
    client.messages.send(to=PHONE, from_=DEFAULT_MESSAGING_FROM, text=TEXT)
    # Then the outbox lists both, newest first, and each kind alone on request
    assert [m["kind"] for m in outbox(emu, phone_number=PHONE)] == ["notice", "code"]
    assert [m["kind"] for m in outbox(emu, kind="code")] == ["code"]
    assert [m["kind"] for m in outbox(emu, kind="notice")] == ["notice"]
    # And the newest code is still the code, whatever came after it
    code = outbox(emu, kind="code")[0]["code"]
    assert emu.latest_code(PHONE) == code


def test_one_idempotency_key_sends_one_message(emu: TelnyxEmulator, client: telnyx.Telnyx) -> None:
    # When a client retries a send with the same Idempotency-Key
    first = client.messages.send(
        to=PHONE, from_=DEFAULT_MESSAGING_FROM, text=TEXT, idempotency_key="k-1"
    )
    again = client.messages.send(
        to=PHONE, from_=DEFAULT_MESSAGING_FROM, text=TEXT, idempotency_key="k-1"
    )
    # Then it gets the first message back and the phone got one SMS
    assert first.data is not None and again.data is not None
    assert again.data.id == first.data.id
    assert len(emu.notices(PHONE)) == 1


def test_wrong_key_is_refused_with_the_sdks_authentication_error(emu: TelnyxEmulator) -> None:
    with (
        telnyx.Telnyx(api_key="wrong", base_url=emu.base_url + "/v2", max_retries=0) as c,
        pytest.raises(telnyx.AuthenticationError),
    ):
        c.messages.send(to=PHONE, from_=DEFAULT_MESSAGING_FROM, text=TEXT)
    assert emu.notices() == []


@pytest.mark.parametrize(
    ("fields", "status", "code", "pointer"),
    [
        ({"to": "4155550123"}, 400, "40310", "/to"),
        ({"from_": "+15550109999"}, 400, "40305", "/from"),
        ({"from_": None, "messaging_profile_id": str(uuid.uuid4())}, 404, "10005", None),
        ({"text": ""}, 422, "10004", "/text"),
        ({"from_": None}, 422, "10004", "/from"),
    ],
)
def test_bad_sends_answer_telnyx_errors_and_send_nothing(
    emu: TelnyxEmulator,
    client: telnyx.Telnyx,
    fields: dict[str, Any],
    status: int,
    code: str,
    pointer: str | None,
) -> None:
    values: dict[str, Any] = {"to": PHONE, "from_": DEFAULT_MESSAGING_FROM, "text": TEXT}
    values.update(fields)
    kwargs = {name: value for name, value in values.items() if value is not None}
    with pytest.raises(telnyx.APIStatusError) as caught:
        client.messages.send(**kwargs)
    assert caught.value.status_code == status
    error = error_of(caught.value)
    assert error["code"] == code
    if pointer is not None:
        assert error["source"]["pointer"] == pointer
    assert emu.notices() == []


def test_message_faults_are_injected_like_the_verify_endpoints(
    emu: TelnyxEmulator, client: telnyx.Telnyx
) -> None:
    # Given a 503 armed on the message endpoint only
    emu.add_fault("message", status=503)
    # When a code and then a notice are sent
    client.verifications.trigger_sms(phone_number=PHONE, verify_profile_id=PROFILE_ID)
    with pytest.raises(telnyx.InternalServerError):
        client.messages.send(to=PHONE, from_=DEFAULT_MESSAGING_FROM, text=TEXT)
    # Then the code went out, the notice did not; the next notice does
    assert [m["kind"] for m in emu.messages(PHONE)] == ["code"]
    client.messages.send(to=PHONE, from_=DEFAULT_MESSAGING_FROM, text=TEXT)
    assert len(emu.notices(PHONE)) == 1


def test_a_delivery_fault_keeps_the_notice_out_of_the_delivered_outbox(
    emu: TelnyxEmulator, client: telnyx.Telnyx
) -> None:
    emu.add_delivery_fault("failed")
    client.messages.send(to=PHONE, from_=DEFAULT_MESSAGING_FROM, text=TEXT)
    assert emu.notices(PHONE) == []
    [undelivered] = emu.messages(PHONE, include_undelivered=True)
    assert (undelivered["kind"], undelivered["delivery_status"]) == ("notice", "delivery_failed")
