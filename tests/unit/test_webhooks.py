"""Telnyx webhooks: the signature check as an attacker would probe it, and events taken in
once, with in-memory adapters."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from devtools.telnyx_emulator import EmulatorConfig, TelnyxEmulator
from phoneverify.adapters.telnyx.webhooks import SignatureVerifier, WebhookKeyUnusable
from phoneverify.domain.errors import InvalidRequest, InvalidWebhookSignature, StorageUnavailable
from phoneverify.domain.models import DeliveryStatus, FlowStatus
from phoneverify.flows.delivery_reports import WebhookOutcome, WebhookReceiver
from phoneverify.flows.engine.any_flow import AnyFlow
from phoneverify.flows.engine.audit import FlowAudit
from phoneverify.flows.engine.challenges import Challenges
from phoneverify.http.errors import error_body, status_of
from tests.support.builders import ORIGIN, PHONE, policy
from tests.support.fakes import (
    FakeClock,
    FakeCodeSender,
    InMemoryVerificationStore,
    InMemoryWebhookEventLedger,
    RecordingEvents,
)


class TelnyxKey:
    """Signs the way Telnyx does: Ed25519 over `{timestamp}|{raw body}`."""

    def __init__(self) -> None:
        self._key = Ed25519PrivateKey.generate()
        raw = self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        self.public_b64 = base64.b64encode(raw).decode()

    def headers(self, body: bytes, timestamp: int) -> dict[str, str]:
        signature = self._key.sign(str(timestamp).encode() + b"|" + body)
        return {
            "telnyx-signature-ed25519": base64.b64encode(signature).decode(),
            "telnyx-timestamp": str(timestamp),
        }


def event_body(
    event_type: str = "verify.delivered",
    verification_id: str = "v-1",
    event_id: str = "e-1",
    **payload: Any,
) -> bytes:
    envelope = {
        "data": {
            "event_type": event_type,
            "id": event_id,
            "occurred_at": "2027-01-15T08:00:00.000+00:00",
            "payload": {"id": verification_id, "phone_number": PHONE, **payload},
            "record_type": "event",
        },
        "meta": {"attempt": 1, "delivered_to": "https://example.com/webhooks/telnyx"},
    }
    return json.dumps(envelope).encode()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def telnyx() -> TelnyxKey:
    return TelnyxKey()


@pytest.fixture
def verifier(telnyx: TelnyxKey, clock: FakeClock) -> SignatureVerifier:
    return SignatureVerifier(lambda: telnyx.public_b64, clock)


def now(clock: FakeClock) -> int:
    return int(clock.now())


# -- the signature -----------------------------------------------------------------------------
def test_a_body_signed_by_telnyx_is_accepted(
    verifier: SignatureVerifier, telnyx: TelnyxKey, clock: FakeClock
) -> None:
    body = event_body()
    verifier.verify(body, telnyx.headers(body, now(clock)))


def test_header_names_are_case_insensitive(
    verifier: SignatureVerifier, telnyx: TelnyxKey, clock: FakeClock
) -> None:
    body = event_body()
    headers = {name.title(): value for name, value in telnyx.headers(body, now(clock)).items()}
    verifier.verify(body, headers)


def test_a_signature_from_the_emulator_verifies(clock: FakeClock) -> None:
    # Given the emulator's key (what `make run` puts into SSM)
    emulator = TelnyxEmulator(EmulatorConfig(port=0, signing_key_seed=bytes(range(32))))
    checker = SignatureVerifier(lambda: emulator.public_key_b64, clock)
    body = event_body()
    # When / Then
    checker.verify(body, emulator.sign_webhook(body, timestamp=now(clock)))


def test_a_tampered_body_is_refused(
    verifier: SignatureVerifier, telnyx: TelnyxKey, clock: FakeClock
) -> None:
    headers = telnyx.headers(event_body(event_type="verify.failed"), now(clock))
    with pytest.raises(InvalidWebhookSignature) as refused:
        verifier.verify(event_body(event_type="verify.delivered"), headers)
    assert status_of(refused.value) == 401
    assert error_body(refused.value) == {"error": "Invalid signature", "code": "invalid_signature"}


def test_a_body_signed_with_another_key_is_refused(
    verifier: SignatureVerifier, clock: FakeClock
) -> None:
    body = event_body()
    with pytest.raises(InvalidWebhookSignature):
        verifier.verify(body, TelnyxKey().headers(body, now(clock)))


def test_the_timestamp_is_part_of_what_is_signed(
    verifier: SignatureVerifier, telnyx: TelnyxKey, clock: FakeClock
) -> None:
    body = event_body()
    headers = telnyx.headers(body, now(clock) - 10)
    headers["telnyx-timestamp"] = str(now(clock))
    with pytest.raises(InvalidWebhookSignature):
        verifier.verify(body, headers)


@pytest.mark.parametrize("missing", ["telnyx-signature-ed25519", "telnyx-timestamp"])
def test_a_missing_header_is_refused(
    verifier: SignatureVerifier, telnyx: TelnyxKey, clock: FakeClock, missing: str
) -> None:
    body = event_body()
    headers = telnyx.headers(body, now(clock))
    del headers[missing]
    with pytest.raises(InvalidWebhookSignature):
        verifier.verify(body, headers)


@pytest.mark.parametrize(
    ("skew", "accepted"), [(-301, False), (-300, True), (300, True), (301, False)]
)
def test_timestamps_more_than_300_seconds_away_are_refused(
    verifier: SignatureVerifier, telnyx: TelnyxKey, clock: FakeClock, skew: int, accepted: bool
) -> None:
    # Given a correctly signed body whose timestamp is `skew` seconds from our clock
    body = event_body()
    headers = telnyx.headers(body, now(clock) + skew)
    # When / Then: a replay of an old delivery, or one from the future, is refused
    if accepted:
        verifier.verify(body, headers)
    else:
        with pytest.raises(InvalidWebhookSignature):
            verifier.verify(body, headers)


@pytest.mark.parametrize(
    "signature",
    ["", "not base64!!", "%%%%", "AAAA", base64.b64encode(b"x" * 63).decode(), "\u00e9" * 88],
    ids=["empty", "garbage", "symbols", "short", "63-bytes", "non-ascii"],
)
def test_garbage_signatures_are_refused_not_crashed_on(
    verifier: SignatureVerifier, clock: FakeClock, signature: str
) -> None:
    headers = {"telnyx-signature-ed25519": signature, "telnyx-timestamp": str(now(clock))}
    with pytest.raises(InvalidWebhookSignature):
        verifier.verify(event_body(), headers)


@pytest.mark.parametrize("timestamp", ["", "soon", "-1", "+1800000000", "1.8e9", "\uff11" * 10])
def test_garbage_timestamps_are_refused(
    verifier: SignatureVerifier, telnyx: TelnyxKey, clock: FakeClock, timestamp: str
) -> None:
    body = event_body()
    headers = telnyx.headers(body, now(clock))
    headers["telnyx-timestamp"] = timestamp
    with pytest.raises(InvalidWebhookSignature):
        verifier.verify(body, headers)


@pytest.mark.parametrize("configured", ["not-configured", base64.b64encode(b"short").decode()])
def test_an_unusable_configured_key_is_our_error_not_the_senders(
    clock: FakeClock, telnyx: TelnyxKey, configured: str
) -> None:
    body = event_body()
    with pytest.raises(WebhookKeyUnusable):
        SignatureVerifier(lambda: configured, clock).verify(body, telnyx.headers(body, now(clock)))


# -- taking events in --------------------------------------------------------------------------
class World:
    def __init__(self, clock: FakeClock, telnyx: TelnyxKey) -> None:
        self.clock = clock
        self.telnyx = telnyx
        self.store = InMemoryVerificationStore()
        self.ledger = InMemoryWebhookEventLedger(self.store)
        self.sender = FakeCodeSender()
        self.pauses: list[float] = []
        self.events = RecordingEvents()
        self.audit = FlowAudit(events=self.events, clock=clock)
        self.flows = AnyFlow(store=self.store, audit=self.audit, clock=clock)
        self.challenges = Challenges(
            policy(),
            store=self.store,
            sender=self.sender,
            flows=self.flows,
            audit=self.audit,
            clock=clock,
        )
        self.receiver = WebhookReceiver(
            verifier=SignatureVerifier(lambda: telnyx.public_b64, clock),
            ledger=self.ledger,
            flows=self.flows,
            audit=self.audit,
            clock=clock,
            sleep=self.pauses.append,
        )

    def deliver(self, body: bytes) -> WebhookOutcome:
        headers = self.telnyx.headers(body, int(self.clock.now()))
        return self.receiver.receive(body, headers, ORIGIN)

    def open_flow(self) -> str:
        flow_id = self.challenges.open("u-1", PHONE, ORIGIN).flow_id
        return flow_id

    def delivery_status(self, flow_id: str) -> DeliveryStatus:
        return self.flows.status(flow_id).delivery_status


@pytest.fixture
def world(clock: FakeClock, telnyx: TelnyxKey) -> World:
    return World(clock, telnyx)


def test_a_delivery_report_reaches_the_flow_once(world: World) -> None:
    # Given a flow whose SMS went out as verification v-1
    flow_id = world.open_flow()
    body = event_body("verify.delivered", "v-1", event_id="e-delivered")
    # When Telnyx delivers the event twice
    first, again = world.deliver(body), world.deliver(body)
    # Then the second delivery is recognised and changes nothing
    assert (first, again) == (WebhookOutcome.RECORDED, WebhookOutcome.DUPLICATE)
    assert world.delivery_status(flow_id) == DeliveryStatus.DELIVERED


@pytest.mark.parametrize(
    ("event_type", "reported", "expected"),
    [
        ("verify.sent", "sent", DeliveryStatus.SENT),
        ("verify.delivered", "delivered", DeliveryStatus.DELIVERED),
        ("verify.failed", "delivery_failed", DeliveryStatus.DELIVERY_FAILED),
        ("verify.failed", "sending_failed", DeliveryStatus.SENDING_FAILED),
        ("verify.failed", "delivery_unconfirmed", DeliveryStatus.DELIVERY_UNCONFIRMED),
        ("verify.failed", None, DeliveryStatus.DELIVERY_FAILED),
        ("verify.failed", "something new", DeliveryStatus.DELIVERY_FAILED),
    ],
)
def test_telnyx_events_map_to_the_contracts_delivery_statuses(
    world: World, event_type: str, reported: str | None, expected: DeliveryStatus
) -> None:
    flow_id = world.open_flow()
    world.deliver(event_body(event_type, "v-1", delivery_status=reported))
    assert world.delivery_status(flow_id) == expected


def test_unknown_event_types_are_accepted_and_ignored(world: World) -> None:
    flow_id = world.open_flow()
    outcome = world.deliver(event_body("verify.something_new", "v-1"))
    assert outcome == WebhookOutcome.IGNORED
    assert world.delivery_status(flow_id) == DeliveryStatus.UNKNOWN
    assert world.ledger.event_ids == set()


@pytest.mark.parametrize(
    "body",
    [b"{not json", b"\xff\xfe\x00", b"[]", b'{"data": {}}', b'{"data": {"id": 5}}', b"[" * 5000],
    ids=["broken", "not-utf8", "array", "no-id", "id-not-a-string", "deeply-nested"],
)
def test_a_signed_body_that_is_not_an_event_is_a_400(world: World, body: bytes) -> None:
    with pytest.raises(InvalidRequest) as refused:
        world.deliver(body)
    assert status_of(refused.value) == 400


def test_a_report_for_a_flow_not_yet_written_is_looked_up_again(world: World) -> None:
    # Given a report that arrives before its flow is stored (the send returns before the
    # write, and the index may lag): the flow appears during the second pause
    opened: list[str] = []

    def pause(secs: float) -> None:
        world.pauses.append(secs)
        if len(world.pauses) == 2:
            opened.append(world.open_flow())

    world.receiver = WebhookReceiver(
        verifier=SignatureVerifier(lambda: world.telnyx.public_b64, world.clock),
        ledger=world.ledger,
        flows=world.flows,
        audit=world.audit,
        clock=world.clock,
        sleep=pause,
    )
    # When
    outcome = world.deliver(event_body("verify.delivered", "v-1"))
    # Then it is applied once the flow is there
    assert outcome == WebhookOutcome.RECORDED
    assert world.delivery_status(opened[0]) == DeliveryStatus.DELIVERED


def test_a_report_for_no_known_flow_is_let_go_after_a_bounded_wait(world: World) -> None:
    outcome = world.deliver(event_body("verify.delivered", "v-nobody"))
    assert outcome == WebhookOutcome.UNKNOWN_VERIFICATION
    assert sum(world.pauses) <= 1.0


def test_when_storage_fails_nothing_is_claimed_and_the_retry_is_processed(world: World) -> None:
    # Given a flow, and storage that fails the write applying the report
    flow_id = world.open_flow()
    world.ledger.fail_next = 1
    body = event_body("verify.delivered", "v-1", event_id="e-flaky")
    # When the first delivery fails (503: Telnyx retries)
    with pytest.raises(StorageUnavailable) as failed:
        world.deliver(body)
    assert status_of(failed.value) == 503
    # Then neither the claim nor the report was written
    assert world.ledger.event_ids == set()
    assert world.delivery_status(flow_id) == DeliveryStatus.UNKNOWN
    # And the retry is not mistaken for a duplicate
    assert world.deliver(body) == WebhookOutcome.RECORDED
    assert world.delivery_status(flow_id) == DeliveryStatus.DELIVERED
    assert world.ledger.event_ids == {"e-flaky"}


@pytest.mark.parametrize(
    ("first", "late"),
    [
        ("verify.delivered", "verify.sent"),
        ("verify.failed", "verify.delivered"),
        ("verify.sent", "verify.sent"),
    ],
    ids=["sent-after-delivered", "delivered-after-failed", "sent-twice-new-ids"],
)
def test_an_out_of_order_report_is_claimed_and_changes_nothing(
    world: World, first: str, late: str
) -> None:
    # Given a flow whose status moved on
    flow_id = world.open_flow()
    world.deliver(event_body(first, "v-1", event_id="e-first"))
    status = world.delivery_status(flow_id)
    # When a report that is no step forward arrives, then is redelivered
    late_body = event_body(late, "v-1", event_id="e-late")
    outcomes = world.deliver(late_body), world.deliver(late_body)
    # Then it changes nothing, and its redelivery is answered as a duplicate
    assert outcomes == (WebhookOutcome.UNCHANGED, WebhookOutcome.DUPLICATE)
    assert world.delivery_status(flow_id) == status
    assert world.ledger.event_ids == {"e-first", "e-late"}


def test_a_report_no_flow_ever_takes_is_claimed_once_let_go(world: World) -> None:
    body = event_body("verify.delivered", "v-nobody", event_id="e-nobody")
    assert world.deliver(body) == WebhookOutcome.UNKNOWN_VERIFICATION
    assert world.ledger.event_ids == {"e-nobody"}
    assert world.deliver(body) == WebhookOutcome.DUPLICATE


def test_a_bad_signature_changes_nothing_and_claims_nothing(world: World) -> None:
    flow_id = world.open_flow()
    body = event_body("verify.delivered", "v-1")
    with pytest.raises(InvalidWebhookSignature):
        world.receiver.receive(body, TelnyxKey().headers(body, int(world.clock.now())), ORIGIN)
    assert world.ledger.event_ids == set()
    assert world.delivery_status(flow_id) == DeliveryStatus.UNKNOWN
    assert world.store.get(next(iter(world.store.items))).status == FlowStatus.PENDING  # type: ignore[union-attr]


def test_a_refused_signature_is_an_audited_event_with_its_reason(world: World) -> None:
    # When a forged and a stale delivery arrive
    body = event_body("verify.delivered", "v-1")
    forged = TelnyxKey().headers(body, int(world.clock.now()))
    stale = world.telnyx.headers(body, int(world.clock.now()) - 3_600)
    for headers in (forged, stale):
        with pytest.raises(InvalidWebhookSignature) as refused:
            world.receiver.receive(body, headers, ORIGIN)
        assert error_body(refused.value) == {
            "error": "Invalid signature",
            "code": "invalid_signature",
        }
    # Then each is recorded, with where it came from and why, and no signature
    events = world.events.events[-2:]
    assert [e.type.value for e in events] == ["webhook_signature_rejected"] * 2
    assert [e.detail["reason"] for e in events] == [
        "signature does not match",
        "timestamp outside the tolerance",
    ]
    assert all(e.origin == ORIGIN and e.kind.value == "session" for e in events)
    assert forged["telnyx-signature-ed25519"] not in repr(events)
