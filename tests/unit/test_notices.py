"""Notices (docs/notices.md) against a scripted Telnyx: kept in the outbox by the request
(OutboxAccountNotices), delivered by the outbox's consumer (NoticeDelivery) through Telnyx
Messaging (TelnyxNoticeSender): the request Telnyx gets, the bounded tries, a failure that
waits for the next delivery, the country policy and the budget, and exactly one message per
notice however often it is delivered."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import pytest

from phoneverify.adapters.dynamo.notices_outbox import OutboxAccountNotices
from phoneverify.adapters.telnyx.messaging import TelnyxMessagingClient
from phoneverify.adapters.telnyx.notices import (
    NOTICE_TEXTS,
    TelnyxNoticeSender,
    notice_subject,
    notice_text,
)
from phoneverify.domain.errors import SendBudgetExhausted, StorageUnavailable
from phoneverify.domain.models import FlowKind, NoticeEvent, RequestOrigin, SendPermit
from phoneverify.domain.notices import DeliveryOutcome, OutboxNotice
from phoneverify.domain.phones import PhonePolicy
from phoneverify.domain.send_limits import SendCaps
from phoneverify.flows.notice_delivery import NoticeDelivery
from phoneverify.ports.messaging import NoticeBudget
from tests.support.fakes import (
    FakeClock,
    InMemoryNoticesOutbox,
    InMemorySendLimits,
    RecordingEvents,
)

PHONE = "+14155550123"
UK_PHONE = "+447911123456"
SENDER = "+15550100001"
PROFILE = "40000000-0000-4000-8000-000000000002"
ORIGIN = RequestOrigin("203.0.113.9", "pytest")


def accepted(request: httpx.Request) -> httpx.Response:
    body = json.loads(request.content)
    return httpx.Response(
        200,
        json={
            "data": {
                "id": "msg-1",
                "record_type": "message",
                "to": [{"phone_number": body["to"], "status": "queued"}],
            }
        },
    )


def failing(status: int) -> Callable[[httpx.Request], httpx.Response]:
    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, json={"errors": [{"code": "x", "title": "t"}]})

    return answer


@dataclass
class World:
    script: list[Callable[[httpx.Request], httpx.Response]]
    clock: FakeClock = field(default_factory=FakeClock)
    events: RecordingEvents = field(default_factory=RecordingEvents)
    requests: list[httpx.Request] = field(default_factory=list)
    pauses: list[float] = field(default_factory=list)
    sender: str = SENDER
    sender_source: Callable[[], str] | None = None  # instead of `sender`: e.g. SSM failing
    budget: NoticeBudget | None = None  # instead of the in-memory send limits
    caps: SendCaps = field(default_factory=lambda: SendCaps(notices_per_phone=5, budget=100))
    limits: InMemorySendLimits = field(init=False)
    outbox: InMemoryNoticesOutbox = field(default_factory=InMemoryNoticesOutbox)
    notices: OutboxAccountNotices = field(init=False)
    delivery: NoticeDelivery = field(init=False)
    requests_made: int = 0  # each notify is its own request (its own occasion)

    def __post_init__(self) -> None:
        self.limits = InMemorySendLimits(self.clock, self.caps)

        def handler(request: httpx.Request) -> httpx.Response:
            self.requests.append(request)
            step = self.script.pop(0) if len(self.script) > 1 else self.script[0]
            return step(request)

        def client() -> TelnyxMessagingClient:
            return TelnyxMessagingClient(
                "https://api.example.test",
                lambda: "KEY_TEST",
                transport=httpx.MockTransport(handler),
            )

        sender = TelnyxNoticeSender(
            client,
            sender=self.sender_source or (lambda: self.sender),
            max_attempts=3,
            pause=self.pauses.append,
        )
        self.notices = OutboxAccountNotices(
            self.outbox,
            events=self.events,
            clock=self.clock,
            occasion=lambda: f"request-{self.requests_made}",
        )
        self.delivery = NoticeDelivery(
            outbox=self.outbox,
            budget=self.budget or self.limits,
            sender=sender,
            phone_policy=PhonePolicy(frozenset({"US"})),
            events=self.events,
            clock=self.clock,
            service_name="Phone Verify",
        )

    def notify(self, phone: str, event: NoticeEvent) -> None:
        """One request that tells the owner, then the outbox's consumer at work."""
        self.requests_made += 1
        self.notices.notify(phone, event)
        self.delivery.sweep()

    @property
    def counted(self) -> int:
        """Notices counted in the SMS budget this window."""
        return sum(n for key, n in self.limits.counts.items() if key.startswith("global#"))

    @property
    def pending(self) -> int:
        return len(self.outbox.undelivered(100))


def test_a_notice_is_one_plain_sms_from_our_number_and_is_audited() -> None:
    world = World([accepted])
    world.notify(PHONE, NoticeEvent.PASSWORD_RESET)
    # Telnyx got POST /v2/messages with our number and the plain text
    [request] = world.requests
    assert (request.method, request.url.path) == ("POST", "/v2/messages")
    assert request.headers["Authorization"] == "Bearer KEY_TEST"
    assert request.headers["Idempotency-Key"]
    body = json.loads(request.content)
    assert body == {
        "to": PHONE,
        "from": SENDER,
        "type": "SMS",
        "text": notice_text(NoticeEvent.PASSWORD_RESET, "Phone Verify"),
    }
    # It counts in the SMS budget, and the audit says it was sent (no number in clear)
    assert world.counted == 1
    [event] = world.events.events
    assert (event.type.value, event.kind) == ("notice_sent", FlowKind.NOTICE)
    assert event.subject == notice_subject(PHONE) and PHONE not in event.subject
    assert event.masked_phone == "+1******0123"
    assert event.detail == {
        "notice": "password_reset",
        "notice_id": next(iter(world.outbox.items)),
        "attempt": 1,
        "telnyx_attempts": 1,
        "message_id": "msg-1",
    }
    # and once delivered, the outbox forgets the number
    [item] = world.outbox.items.values()
    assert item["status"] == "delivered" and "phone" not in item


def test_a_messaging_profile_is_sent_as_messaging_profile_id() -> None:
    world = World([accepted], sender=PROFILE)
    world.notify(PHONE, NoticeEvent.LOGGED_OUT_EVERYWHERE)
    body = json.loads(world.requests[0].content)
    assert body["messaging_profile_id"] == PROFILE and "from" not in body


@pytest.mark.parametrize("event", list(NoticeEvent))
def test_no_notice_holds_a_code_or_a_link(event: NoticeEvent) -> None:
    text = notice_text(event, "Phone Verify")
    assert not re.search(r"\d", text), text  # no code, no number to call back
    assert not re.search(r"https?:|www\.|\.[a-z]{2,}/|[a-z0-9-]+\.(com|net|io)\b", text), text
    assert "If this wasn't you, contact support." in text
    assert set(NOTICE_TEXTS) == set(NoticeEvent)


def test_telnyx_unavailable_is_retried_with_one_idempotency_key_then_sent() -> None:
    world = World([failing(503), failing(429), accepted])
    world.notify(PHONE, NoticeEvent.ACCOUNT_LOCKED)
    assert len(world.requests) == 3
    assert len({r.headers["Idempotency-Key"] for r in world.requests}) == 1
    assert world.pauses == [0.25, 0.5]
    assert world.events.types == ["notice_sent"]
    assert world.events.events[0].detail["telnyx_attempts"] == 3
    assert world.counted == 1


def test_a_notice_telnyx_does_not_take_waits_and_is_delivered_when_telnyx_is_back() -> None:
    # Given Telnyx down for every try of a first delivery
    world = World([failing(500), failing(500), failing(500), accepted])
    world.notify(PHONE, NoticeEvent.PASSWORD_RESET)  # does not raise
    # Then the tries are bounded, nothing counts in the budget, and the notice waits
    assert len(world.requests) == 3
    [event] = world.events.events
    assert event.type.value == "notice_retried"
    assert (event.detail["reason"], event.detail["telnyx_attempts"]) == ("telnyx_500", 3)
    assert world.counted == 0 and world.pending == 1
    # When the next delivery comes (the stream's retry, the sweep), Telnyx is back
    world.clock.advance(300)
    world.delivery.sweep()
    # Then it goes, once, under the same idempotency key as every try before
    assert world.events.types == ["notice_retried", "notice_sent"]
    assert len({r.headers["Idempotency-Key"] for r in world.requests}) == 1
    assert world.counted == 1 and world.pending == 0


def test_a_refusal_is_not_retried() -> None:
    world = World([failing(422)])
    world.notify(PHONE, NoticeEvent.PASSWORD_RESET)
    assert len(world.requests) == 1
    assert world.events.events[0].detail["reason"] == "telnyx_422"


def test_a_timeout_is_retried_and_audited_as_telnyx_unavailable() -> None:
    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    world = World([timeout])
    world.notify(PHONE, NoticeEvent.LOGGED_OUT_EVERYWHERE)
    assert len(world.requests) == 3
    assert world.events.events[0].detail["reason"] == "telnyx_unavailable"


def test_a_country_the_policy_refuses_gets_no_notice() -> None:
    world = World([accepted])
    world.notify(UK_PHONE, NoticeEvent.PASSWORD_RESET)  # the policy allows US only
    assert world.requests == []
    assert world.counted == 0
    [event] = world.events.events
    assert (event.type.value, event.detail["reason"]) == ("notice_failed", "phone_not_allowed")


def test_notices_stop_at_the_per_number_cap_without_touching_the_code_limits() -> None:
    world = World([accepted], caps=SendCaps(notices_per_phone=2, per_phone=1, budget=100))
    for _ in range(3):
        world.notify(PHONE, NoticeEvent.LOGGED_OUT_EVERYWHERE)
    assert len(world.requests) == 2
    assert world.events.types == ["notice_sent", "notice_sent", "notice_failed"]
    assert world.events.events[-1].detail["reason"] == "notice_limit_reached"
    # The owner can still get a code: notices counted nothing in the per-phone code limit
    world.limits.admit(PHONE, "u-1", ORIGIN)


def test_an_exhausted_sms_budget_sends_no_notice() -> None:
    world = World([accepted], caps=SendCaps(budget=1))
    world.limits.admit("+12025550143", "u-2", ORIGIN)  # a code spent the whole budget
    world.notify(PHONE, NoticeEvent.ACCOUNT_LOCKED)
    assert world.requests == []
    assert world.events.events[0].detail["reason"] == "sms_budget_exhausted"


def test_notices_and_codes_share_the_sms_budget() -> None:
    world = World([accepted], caps=SendCaps(budget=1))
    world.notify(PHONE, NoticeEvent.ACCOUNT_LOCKED)
    with pytest.raises(SendBudgetExhausted):
        world.limits.admit("+12025550143", "u-2", ORIGIN)


def test_storage_or_sender_failures_never_raise_and_the_notice_waits() -> None:
    class BrokenBudget:
        def admit_notice(self, phone_number: str) -> SendPermit:
            raise StorageUnavailable()

        def release(self, permit: SendPermit) -> None:
            raise AssertionError("nothing to give back")

    world = World([accepted], budget=BrokenBudget())
    world.notify(PHONE, NoticeEvent.PASSWORD_RESET)
    assert world.events.events[-1].detail["reason"] == "storage_unavailable"
    assert world.pending == 1

    def no_sender() -> str:
        raise RuntimeError("SSM down")

    other = World([accepted], sender_source=no_sender)
    other.notify(PHONE, NoticeEvent.PASSWORD_RESET)
    assert other.events.events[-1].detail["reason"] == "unexpected_error"
    assert other.counted == 0 and other.requests == [] and other.pending == 1


def test_an_outbox_that_cannot_take_the_notice_never_fails_the_change() -> None:
    class DownOutbox(InMemoryNoticesOutbox):
        def put(self, notice: OutboxNotice) -> None:
            raise StorageUnavailable()

    world = World([accepted], outbox=DownOutbox())
    world.notify(PHONE, NoticeEvent.PHONE_CHANGED)  # does not raise
    [event] = world.events.events
    assert (event.type.value, event.detail["reason"]) == ("notice_failed", "storage_unavailable")
    assert PHONE not in str(event.detail)


# -- the outbox: retried later, never dropped, delivered exactly once -----------------------
def test_a_refused_budget_is_retried_later_and_the_notice_delivered_once() -> None:
    # Given the SMS budget spent by codes
    world = World([accepted], caps=SendCaps(budget=1))
    world.limits.admit("+12025550143", "u-2", ORIGIN)
    # When the phone changes: the notice is kept, and its first delivery is refused
    world.notify(PHONE, NoticeEvent.PHONE_CHANGED)
    assert world.requests == [] and world.pending == 1
    assert world.events.types == ["notice_retried"]
    # and sweeps in the same window find the budget still spent
    world.clock.advance(300)
    world.delivery.sweep()
    assert world.requests == [] and world.events.types == ["notice_retried"] * 2
    # Then the next window's budget delivers it, once; later sweeps send nothing more
    world.clock.advance(3_600)
    world.delivery.sweep()
    world.delivery.sweep()
    assert len(world.requests) == 1
    assert world.events.types == ["notice_retried", "notice_retried", "notice_sent"]
    assert [e.detail["attempt"] for e in world.events.events] == [1, 2, 3]


def test_a_duplicate_stream_record_delivers_once() -> None:
    # Given one notice in the outbox
    world = World([accepted])
    world.requests_made += 1
    world.notices.notify(PHONE, NoticeEvent.PASSWORD_RESET)
    [notice_id] = world.outbox.items
    # When the stream hands its record over twice, and the sweep runs too
    outcomes = [world.delivery.deliver(notice_id) for _ in range(2)]
    world.delivery.sweep()
    # Then one message went out
    assert outcomes == [DeliveryOutcome.DELIVERED, DeliveryOutcome.SETTLED]
    assert len(world.requests) == 1 and world.events.types == ["notice_sent"]


def test_a_delivery_in_flight_is_not_sent_again_by_another_until_its_lease_ends() -> None:
    world = World([accepted])
    world.requests_made += 1
    world.notices.notify(PHONE, NoticeEvent.PASSWORD_RESET)
    [notice_id] = world.outbox.items
    assert world.outbox.claim(notice_id, world.clock.now()) is not None  # a crashed delivery
    assert world.delivery.deliver(notice_id) is DeliveryOutcome.SETTLED  # the stream's retry waits
    world.clock.advance(world.outbox.policy.lease_secs)
    assert world.delivery.deliver(notice_id) is DeliveryOutcome.DELIVERED
    assert len(world.requests) == 1


def test_a_retried_request_writes_one_notice() -> None:
    world = World([accepted])
    world.requests_made += 1
    world.notices.notify(PHONE, NoticeEvent.PASSWORD_RESET)
    world.notices.notify(PHONE, NoticeEvent.PASSWORD_RESET)  # the same request again
    world.delivery.sweep()
    assert world.outbox.puts == 2 and len(world.outbox.items) == 1
    assert len(world.requests) == 1


def test_a_notice_that_waited_too_long_is_given_up_and_its_number_forgotten() -> None:
    world = World([failing(503)])
    world.notify(PHONE, NoticeEvent.ACCOUNT_LOCKED)
    world.clock.advance(world.outbox.policy.give_up_after_secs + 1)
    report = world.delivery.sweep()
    assert world.events.types == ["notice_retried", "notice_failed"]
    assert world.events.events[-1].detail["reason"] == "waited_too_long"
    [item] = world.outbox.items.values()
    assert item["status"] == "given_up" and "phone" not in item
    assert report.oldest_pending_secs == 0


def test_the_sweep_reports_the_oldest_pending_notices_age() -> None:
    world = World([failing(503)])
    world.notify(PHONE, NoticeEvent.ACCOUNT_LOCKED)
    world.clock.advance(600)
    world.notify("+14155550124", NoticeEvent.ACCOUNT_LOCKED)
    world.clock.advance(300)
    report = world.delivery.sweep()
    assert report.outcomes == {"retry": 2}
    assert report.oldest_pending_secs == 900
