"""Live status (docs/realtime.md): who may watch a flow over the WebSocket, and what each
watcher hears when a delivery report, a cancel or a flow's end as superseded comes in;
in-memory adapters."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from phoneverify.domain.audit_events import VerificationEventType
from phoneverify.domain.errors import (
    PhoneSuperseded,
    StorageUnavailable,
    TooManyWatchers,
    WatchRefused,
)
from phoneverify.domain.models import DeliveryStatus, FlowKind, FlowStatus
from phoneverify.flows.engine.any_flow import DeliveryUpdate, flow_key
from phoneverify.flows.engine.challenges import Challenges
from phoneverify.flows.live_status import CONNECT_GRACE_SECS, LiveStatus, WatchPolicy
from phoneverify.http.websocket import websocket_connect, websocket_disconnect
from tests.support.builders import (
    ORIGIN,
    PHONE,
    LoginWorld,
    login_world,
    policy,
    report_delivery,
)
from tests.support.fakes import (
    InMemoryWatcherRegistry,
    InMemoryWebhookEventLedger,
    RecordingStatusPush,
)

PAGE_ORIGIN = "https://app.example"


@dataclass
class World:
    base: LoginWorld = field(default_factory=login_world)
    registry: InMemoryWatcherRegistry = field(default_factory=InMemoryWatcherRegistry)
    push: RecordingStatusPush = field(default_factory=RecordingStatusPush)
    cap: int = 5

    def __post_init__(self) -> None:
        self.live = LiveStatus(
            store=self.base.store,
            registry=self.registry,
            push=self.push,
            clock=self.base.clock,
            policy=WatchPolicy(max_connections_per_flow=self.cap),
        )
        # The one AnyFlow of the world, with its observer: every Challenges built from now
        # on ends flows through it, as the runtime wires a function that pushes.
        self.flows = self.base.observe(self.live)

    def challenges(self, kind: FlowKind = FlowKind.LOGIN) -> Challenges:
        return self.base.challenges(policy(kind))

    def open_flow(self, kind: FlowKind = FlowKind.LOGIN) -> str:
        return self.challenges(kind).open("u-phone", PHONE, ORIGIN).flow_id

    def watch(self, flow_id: str, connection_id: str) -> None:
        self.live.connect(flow_id, connection_id)
        self.push.open.add(connection_id)

    def report(self, flow_id: str, delivery: DeliveryStatus) -> DeliveryUpdate:
        verification_id = self.base.store.items[flow_key(flow_id)].verification_id
        return report_delivery(
            self.flows, self.base.store, verification_id, delivery, self.registry
        )


@pytest.fixture
def world() -> World:
    return World()


def test_a_failed_sms_is_pushed_to_the_page_watching_its_flow(world: World) -> None:
    # Given a page watching its pending login
    flow_id = world.open_flow()
    world.watch(flow_id, "conn-a")
    # When Telnyx reports that the SMS could not be delivered
    assert world.report(flow_id, DeliveryStatus.DELIVERY_FAILED) is DeliveryUpdate.RECORDED
    # Then the page hears it, in the shape of GET /verify/status's body
    assert world.push.sent["conn-a"] == [
        {"status": "pending", "delivery_status": "delivery_failed", "expires_in": 300}
    ]


def test_an_unknown_flow_id_cannot_be_watched(world: World) -> None:
    with pytest.raises(WatchRefused):
        world.live.connect("x" * 43, "conn-a")
    assert world.registry.pointers == {}


@pytest.mark.parametrize("ending", ["verified", "cancelled", "locked"])
def test_an_ended_flow_cannot_be_watched(world: World, ending: str) -> None:
    # Given a flow that ended
    challenges = world.challenges()
    flow_id = world.open_flow()
    if ending == "verified":
        challenges.check(flow_id, world.base.sender.last_code(PHONE), ORIGIN)
    elif ending == "cancelled":
        challenges.cancel(flow_id, ORIGIN)
    else:
        world.base.store.lock(flow_key(flow_id), world.base.clock.now())
    # When a connection asks to watch it, then it is refused, and nothing is registered
    with pytest.raises(WatchRefused):
        world.live.connect(flow_id, "conn-a")
    assert world.registry.pointers == {}


def test_an_expired_flow_cannot_be_watched_even_before_ttl_deletes_it(world: World) -> None:
    flow_id = world.open_flow()
    world.base.clock.advance(300)  # the code's lifetime, to the second
    with pytest.raises(WatchRefused):
        world.live.connect(flow_id, "conn-a")


def test_a_connection_is_registered_no_longer_than_its_code_is_accepted(world: World) -> None:
    flow_id = world.open_flow()
    world.watch(flow_id, "conn-a")
    _, ttl = world.registry.flows[flow_key(flow_id)]
    assert ttl == world.base.store.items[flow_key(flow_id)].expires_at
    # And once the code expired, a report reaches no one (expiry checked on read)
    world.base.clock.advance(301)
    world.report(flow_id, DeliveryStatus.DELIVERED)
    assert "conn-a" not in world.push.sent


def test_one_connection_hears_only_the_flow_it_connected_with(world: World) -> None:
    # Given two people's pages, each watching its own flow
    mine, theirs = world.open_flow(), world.open_flow()
    world.watch(mine, "conn-mine")
    world.watch(theirs, "conn-theirs")
    # When their SMS fails
    world.report(theirs, DeliveryStatus.SENDING_FAILED)
    # Then only their page hears of it
    assert "conn-mine" not in world.push.sent
    assert world.push.sent["conn-theirs"][0]["delivery_status"] == "sending_failed"


def test_a_flow_has_at_most_its_cap_of_watchers() -> None:
    world = World(cap=2)
    flow_id = world.open_flow()
    world.watch(flow_id, "conn-1")
    world.watch(flow_id, "conn-2")
    with pytest.raises(TooManyWatchers) as refused:
        world.live.connect(flow_id, "conn-3")
    assert refused.value.retry_after == 300  # until the code expires at the latest
    assert "conn-3" not in world.registry.pointers


def test_at_the_cap_gone_connections_make_room() -> None:
    # Given a flow at its cap, one of whose connections dropped without a $disconnect
    world = World(cap=2)
    flow_id = world.open_flow()
    world.watch(flow_id, "conn-1")
    world.watch(flow_id, "conn-2")
    world.push.open.discard("conn-1")
    world.base.clock.advance(CONNECT_GRACE_SECS + 1)  # long past its $connect
    # When a reload connects again, then it is admitted in the place of the gone one
    world.watch(flow_id, "conn-3")
    assert world.registry.watchers(flow_key(flow_id), world.base.clock.now()) == [
        "conn-2",
        "conn-3",
    ]


def test_a_connection_still_in_its_connect_stays_counted_when_a_push_calls_it_gone() -> None:
    # Given a flow with four open sockets and a fifth registered by its $connect, whose
    # handshake API Gateway has not finished: a push to it is answered 410 as to a closed one
    # (issue 18: a delivery report pushed in that gap, on a loaded machine)
    world = World(cap=5)
    flow_id = world.open_flow()
    for i in range(4):
        world.watch(flow_id, f"conn-{i}")
    world.base.clock.advance(1)
    world.live.connect(flow_id, "conn-opening")  # registered; not in push.open yet
    # When the SMS's delivery report is pushed to the flow's watchers in that instant
    world.report(flow_id, DeliveryStatus.SENT)
    # Then the opening one is still counted, and a sixth socket is refused
    key = flow_key(flow_id)
    assert "conn-opening" in world.registry.watchers(key, world.base.clock.now())
    world.push.open.add("conn-opening")  # its handshake completes
    with pytest.raises(TooManyWatchers):
        world.live.connect(flow_id, "conn-sixth")
    # and a sixth that connects while a young one is "gone" is refused the same (the sweep)
    world.push.open.discard("conn-opening")
    with pytest.raises(TooManyWatchers):
        world.live.connect(flow_id, "conn-sixth")
    # but once past any $connect, a socket that is gone does make room
    world.base.clock.advance(CONNECT_GRACE_SECS + 1)
    world.watch(flow_id, "conn-sixth")
    assert "conn-opening" not in world.registry.watchers(key, world.base.clock.now())


def test_a_gone_connection_is_forgotten_when_a_push_finds_it_gone(world: World) -> None:
    flow_id = world.open_flow()
    world.watch(flow_id, "conn-a")
    world.push.open.discard("conn-a")  # the tab was closed; API Gateway answers 410
    world.base.clock.advance(CONNECT_GRACE_SECS + 1)
    world.report(flow_id, DeliveryStatus.SENT)
    assert world.registry.watchers(flow_key(flow_id), world.base.clock.now()) == []
    assert "conn-a" not in world.registry.pointers


def test_a_disconnected_page_hears_nothing_more(world: World) -> None:
    flow_id = world.open_flow()
    world.watch(flow_id, "conn-a")
    world.live.disconnect("conn-a")
    world.report(flow_id, DeliveryStatus.DELIVERED)
    assert world.push.sent == {}
    world.live.disconnect("conn-never-seen")  # no error


def test_a_push_that_fails_never_fails_the_delivery_report(world: World) -> None:
    # Given a watcher whose push fails, and one that works
    flow_id = world.open_flow()
    world.watch(flow_id, "conn-broken")
    world.watch(flow_id, "conn-ok")
    world.push.failing.add("conn-broken")
    # When a report comes in, it is recorded, and the other watcher still hears it
    assert world.report(flow_id, DeliveryStatus.DELIVERED) is DeliveryUpdate.RECORDED
    assert world.push.sent["conn-ok"][0]["delivery_status"] == "delivered"
    assert world.base.store.items[flow_key(flow_id)].delivery_status == DeliveryStatus.DELIVERED


def test_a_connections_table_outage_fails_the_report_whole_and_its_retry_is_pushed(
    world: World,
) -> None:
    # Given a watched flow, and the connections table failing: the watchers check is part of
    # the one write that claims the report and records it
    flow_id = world.open_flow()
    world.watch(flow_id, "conn-a")
    world.registry.fail = True
    ledger = InMemoryWebhookEventLedger(world.base.store, world.registry)
    vid = world.base.store.items[flow_key(flow_id)].verification_id
    # When the report comes in, it fails (503: Telnyx retries) with nothing written
    with pytest.raises(StorageUnavailable):
        world.flows.record_delivery(ledger, "e-1", vid, DeliveryStatus.DELIVERED)
    assert ledger.event_ids == set()
    assert world.base.store.items[flow_key(flow_id)].delivery_status == DeliveryStatus.UNKNOWN
    # Then Telnyx's retry, once the table answers, is recorded and pushed
    world.registry.fail = False
    retried = world.flows.record_delivery(ledger, "e-1", vid, DeliveryStatus.DELIVERED)
    assert retried is DeliveryUpdate.RECORDED
    assert world.push.sent["conn-a"][0]["delivery_status"] == "delivered"


def test_a_push_reads_no_watchers_and_a_cancel_reads_no_flow(world: World) -> None:
    # Given a watched flow whose reads are counted
    flow_id = world.open_flow()
    world.watch(flow_id, "conn-a")
    reads: list[str] = []
    registry_read, store_read = world.registry.watchers, world.base.store.get
    world.registry.watchers = lambda *a: reads.append("watchers") or registry_read(*a)  # type: ignore[method-assign]
    world.base.store.get = lambda *a: reads.append("flow") or store_read(*a)  # type: ignore[method-assign]
    # When a report is recorded: its write told the watchers; only the flow is read
    world.report(flow_id, DeliveryStatus.SENT)
    assert reads == ["watchers", "flow"]  # the fake ledger's watchers stand for the check
    # When it is cancelled: the cancel's write told the flow; only the watchers are read
    reads.clear()
    assert world.flows.cancel(flow_id, ORIGIN)
    assert reads == ["watchers"]
    assert [m["status"] for m in world.push.sent["conn-a"]] == ["pending", "cancelled"]


def test_a_cancel_is_pushed(world: World) -> None:
    flow_id = world.open_flow()
    world.watch(flow_id, "conn-a")
    assert world.flows.cancel(flow_id, ORIGIN)
    assert world.push.sent["conn-a"] == [
        {"status": "cancelled", "delivery_status": "unknown", "expires_in": 0}
    ]


# -- a flow superseded by a phone change (AnyFlow.end_superseded) -------------------------------
NEW_PHONE = "+14155550188"


def superseded_login(world: World) -> tuple[Challenges, str]:
    """A watched login whose code went to u-phone's PHONE, and then the account's phone
    changed: the flow was sent under a number the account has left."""
    challenges = world.challenges()
    user = world.base.users.get("u-phone")
    assert user is not None
    opened = challenges.open("u-phone", PHONE, ORIGIN, phone_generation=user.phone_generation)
    world.watch(opened.flow_id, "conn-a")
    now = world.base.clock.now()
    world.base.users.change_phone("u-phone", PHONE, NEW_PHONE, user.phone_generation, now)
    return challenges, opened.flow_id


@pytest.mark.parametrize("step", ["resend", "check"])
def test_a_flow_superseded_by_a_phone_change_tells_its_watchers(world: World, step: str) -> None:
    # Given a page watching a login whose account has moved to another phone since
    challenges, flow_id = superseded_login(world)
    code = world.base.sender.last_code(PHONE)
    world.base.clock.advance(31)  # past the resend cooldown
    # When the flow is resent or checked, it ends as superseded
    with pytest.raises(PhoneSuperseded):
        if step == "resend":
            challenges.resend(flow_id, ORIGIN)
        else:
            challenges.check(flow_id, code, ORIGIN)
    # Then the page hears that it ended, as it hears a cancel
    assert world.push.sent["conn-a"] == [
        {"status": "cancelled", "delivery_status": "unknown", "expires_in": 0}
    ]
    assert world.base.store.items[flow_key(flow_id)].status == FlowStatus.CANCELLED
    assert [e.type for e in world.base.events.events][-1] == VerificationEventType.PHONE_SUPERSEDED


def test_password_reset_delivery_reports_are_not_pushed(world: World) -> None:
    # A decoy reset (unknown email) gets no report: a push on a real one would tell them apart
    flow_id = world.open_flow(FlowKind.PASSWORD_RESET)
    world.watch(flow_id, "conn-a")
    world.report(flow_id, DeliveryStatus.DELIVERED)
    assert world.push.sent == {}


# -- the WebSocket edge (http/websocket.py) -----------------------------------------------------
def connect_event(connection_id: str, **query: str) -> dict[str, Any]:
    return {
        "headers": {"Origin": PAGE_ORIGIN},
        "queryStringParameters": query or None,
        "requestContext": {"routeKey": "$connect", "connectionId": connection_id},
    }


def test_connect_answers_200_for_a_pending_flow(world: World) -> None:
    flow_id = world.open_flow()
    answer = websocket_connect(connect_event("c1", flow_id=flow_id), world.live, PAGE_ORIGIN)
    assert answer == {"statusCode": 200}
    assert world.registry.pointers == {"c1": flow_key(flow_id)}


@pytest.mark.parametrize(
    ("query", "message"),
    [({}, "flow_id is required"), ({"flow_id": "short"}, "flow_id is not a valid flow id")],
)
def test_connect_without_a_valid_flow_id_is_a_400_naming_it(
    world: World, query: dict[str, str], message: str
) -> None:
    answer = websocket_connect(connect_event("c1", **query), world.live, PAGE_ORIGIN)
    assert answer["statusCode"] == 400
    assert '"field": "flow_id"' in answer["body"] and message in answer["body"]


def test_connect_for_an_unknown_flow_is_refused_403(world: World) -> None:
    answer = websocket_connect(connect_event("c1", flow_id="y" * 43), world.live, PAGE_ORIGIN)
    assert answer["statusCode"] == 403
    assert '"code": "watch_refused"' in answer["body"]


def test_connect_from_a_page_on_another_origin_is_refused(world: World) -> None:
    flow_id = world.open_flow()
    event = connect_event("c1", flow_id=flow_id)
    event["headers"] = {"origin": "https://evil.example"}
    assert websocket_connect(event, world.live, PAGE_ORIGIN)["statusCode"] == 403
    assert world.registry.pointers == {}


def test_connect_at_the_cap_is_a_429_with_retry_after() -> None:
    world = World(cap=1)
    flow_id = world.open_flow()
    world.watch(flow_id, "c1")
    answer = websocket_connect(connect_event("c2", flow_id=flow_id), world.live, PAGE_ORIGIN)
    assert answer["statusCode"] == 429
    assert answer["headers"]["Retry-After"] == "300"


def test_disconnect_answers_200_even_when_storage_fails(world: World) -> None:
    world.registry.fail = True
    event = {"requestContext": {"routeKey": "$disconnect", "connectionId": "c1"}}
    assert websocket_disconnect(event, world.live) == {"statusCode": 200}


def test_an_unexpected_failure_of_the_push_never_fails_the_delivery_report(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    flow_id = world.open_flow()
    world.watch(flow_id, "conn-a")

    def broken(flow_key: str) -> None:
        raise RuntimeError("AccessDeniedException")

    # The push's read of the flow fails after the report was recorded
    monkeypatch.setattr(world.base.store, "get", broken)
    assert world.report(flow_id, DeliveryStatus.DELIVERED) is DeliveryUpdate.RECORDED
    assert world.base.store.items[flow_key(flow_id)].delivery_status == DeliveryStatus.DELIVERED
