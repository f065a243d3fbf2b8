"""Notices by SMS (TelnyxAccountNotices) against a scripted Telnyx: the request Telnyx gets,
the bounded retry, the failure audited and never raised, the country policy and the budget."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import pytest

from phoneverify.adapters.telnyx.messaging import TelnyxMessagingClient
from phoneverify.adapters.telnyx.notices import (
    NOTICE_TEXTS,
    TelnyxAccountNotices,
    notice_subject,
    notice_text,
)
from phoneverify.domain.errors import SendBudgetExhausted, StorageUnavailable
from phoneverify.domain.models import FlowKind, NoticeEvent, RequestOrigin, SendPermit
from phoneverify.domain.phones import PhonePolicy
from phoneverify.domain.send_limits import SendCaps
from phoneverify.ports.messaging import NoticeBudget
from tests.support.fakes import FakeClock, InMemorySendLimits, RecordingEvents

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
    notices: TelnyxAccountNotices = field(init=False)

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

        self.notices = TelnyxAccountNotices(
            client,
            sender=self.sender_source or (lambda: self.sender),
            budget=self.budget or self.limits,
            phone_policy=PhonePolicy(frozenset({"US"})),
            events=self.events,
            clock=self.clock,
            service_name="Phone Verify",
            max_attempts=3,
            pause=self.pauses.append,
        )

    @property
    def counted(self) -> int:
        """Notices counted in the SMS budget this window."""
        return sum(n for key, n in self.limits.counts.items() if key.startswith("global#"))


def test_a_notice_is_one_plain_sms_from_our_number_and_is_audited() -> None:
    world = World([accepted])
    world.notices.notify(PHONE, NoticeEvent.PASSWORD_RESET)
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
    assert event.detail == {"notice": "password_reset", "attempts": 1, "message_id": "msg-1"}


def test_a_messaging_profile_is_sent_as_messaging_profile_id() -> None:
    world = World([accepted], sender=PROFILE)
    world.notices.notify(PHONE, NoticeEvent.LOGGED_OUT_EVERYWHERE)
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
    world.notices.notify(PHONE, NoticeEvent.ACCOUNT_LOCKED)
    assert len(world.requests) == 3
    assert len({r.headers["Idempotency-Key"] for r in world.requests}) == 1
    assert world.pauses == [0.25, 0.5]
    assert world.events.types == ["notice_sent"]
    assert world.events.events[0].detail["attempts"] == 3
    assert world.counted == 1


def test_a_notice_telnyx_never_takes_is_audited_given_back_and_never_raised() -> None:
    world = World([failing(500)])
    world.notices.notify(PHONE, NoticeEvent.PASSWORD_RESET)  # does not raise
    assert len(world.requests) == 3  # bounded
    [event] = world.events.events
    assert event.type.value == "notice_failed"
    assert event.detail == {"notice": "password_reset", "reason": "telnyx_500", "attempts": 3}
    assert world.counted == 0  # nothing went out: the budget gets it back


def test_a_refusal_is_not_retried() -> None:
    world = World([failing(422)])
    world.notices.notify(PHONE, NoticeEvent.PASSWORD_RESET)
    assert len(world.requests) == 1
    assert world.events.events[0].detail["reason"] == "telnyx_422"


def test_a_timeout_is_retried_and_audited_as_telnyx_unavailable() -> None:
    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=request)

    world = World([timeout])
    world.notices.notify(PHONE, NoticeEvent.LOGGED_OUT_EVERYWHERE)
    assert len(world.requests) == 3
    assert world.events.events[0].detail["reason"] == "telnyx_unavailable"


def test_a_country_the_policy_refuses_gets_no_notice() -> None:
    world = World([accepted])
    world.notices.notify(UK_PHONE, NoticeEvent.PASSWORD_RESET)  # the policy allows US only
    assert world.requests == []
    assert world.counted == 0
    [event] = world.events.events
    assert (event.type.value, event.detail["reason"]) == ("notice_failed", "phone_not_allowed")


def test_notices_stop_at_the_per_number_cap_without_touching_the_code_limits() -> None:
    world = World([accepted], caps=SendCaps(notices_per_phone=2, per_phone=1, budget=100))
    for _ in range(3):
        world.notices.notify(PHONE, NoticeEvent.LOGGED_OUT_EVERYWHERE)
    assert len(world.requests) == 2
    assert world.events.types == ["notice_sent", "notice_sent", "notice_failed"]
    assert world.events.events[-1].detail["reason"] == "notice_limit_reached"
    # The owner can still get a code: notices counted nothing in the per-phone code limit
    world.limits.admit(PHONE, "u-1", ORIGIN)


def test_an_exhausted_sms_budget_sends_no_notice() -> None:
    world = World([accepted], caps=SendCaps(budget=1))
    world.limits.admit("+12025550143", "u-2", ORIGIN)  # a code spent the whole budget
    world.notices.notify(PHONE, NoticeEvent.ACCOUNT_LOCKED)
    assert world.requests == []
    assert world.events.events[0].detail["reason"] == "sms_budget_exhausted"


def test_notices_and_codes_share_the_sms_budget() -> None:
    world = World([accepted], caps=SendCaps(budget=1))
    world.notices.notify(PHONE, NoticeEvent.ACCOUNT_LOCKED)
    with pytest.raises(SendBudgetExhausted):
        world.limits.admit("+12025550143", "u-2", ORIGIN)


def test_storage_or_sender_failures_never_raise() -> None:
    class BrokenBudget:
        def admit_notice(self, phone_number: str) -> SendPermit:
            raise StorageUnavailable()

        def release(self, permit: SendPermit) -> None:
            raise AssertionError("nothing to give back")

    world = World([accepted], budget=BrokenBudget())
    world.notices.notify(PHONE, NoticeEvent.PASSWORD_RESET)
    assert world.events.events[-1].detail["reason"] == "storage_unavailable"

    def no_sender() -> str:
        raise RuntimeError("SSM down")

    other = World([accepted], sender_source=no_sender)
    other.notices.notify(PHONE, NoticeEvent.PASSWORD_RESET)
    assert other.events.events[-1].detail["reason"] == "unexpected_error"
    assert other.counted == 0 and other.requests == []
