"""SES's bounces and complaints (flows/email_events.py, docs/email.md#bounces-and-complaints)
with fakes: a permanent bounce or a complaint suppresses each address it names, keyed under
the pepper, audited and counted once; so the next email to it is refused before it costs the
sender's reputation again. Anything else is ignored, a malformed record dropped, a storage
failure raised (SNS's delivery is retried)."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from phoneverify.domain.audit_events import VerificationEventType
from phoneverify.domain.email_events import MalformedEmailEvent, read_ses_event
from phoneverify.domain.email_limits import METRIC_EMAIL_SUPPRESSED, address_key, suppression_key
from phoneverify.domain.emails import unknown_subject
from phoneverify.domain.errors import EmailUndeliverable, StorageUnavailable
from phoneverify.domain.models import FlowKind, RequestOrigin
from phoneverify.domain.throttling import account_key
from phoneverify.flows.email_events import EmailEventOutcome, EmailEvents
from tests.support.emails import InMemoryEmailLimits
from tests.support.fakes import FakeClock, RecordingEvents
from tests.support.lambda_env import ROOT

PEPPER = b"unit-test-pepper-0123456789abcdef0123456789"
ORIGIN = RequestOrigin("203.0.113.7", "pytest")


def sample(name: str) -> dict[str, Any]:
    """The SES record inside events/<name>.json's SNS notification."""
    event = json.loads((ROOT / "events" / f"{name}.json").read_text())
    message: dict[str, Any] = json.loads(event["Records"][0]["Sns"]["Message"])
    return message


def bounce(*addresses: str, bounce_type: str = "Permanent") -> str:
    record = sample("ses_events")
    record["bounce"]["bounceType"] = bounce_type
    record["bounce"]["bouncedRecipients"] = [{"emailAddress": a} for a in addresses]
    return json.dumps(record)


def complaint(*addresses: str) -> str:
    record = sample("ses_events_complaint")
    record["complaint"]["complainedRecipients"] = [{"emailAddress": a} for a in addresses]
    return json.dumps(record)


class Setup:
    def __init__(self) -> None:
        self.clock = FakeClock()
        self.limits = InMemoryEmailLimits(self.clock)
        self.events = RecordingEvents()
        self.metrics: list[str] = []
        self.pepper_reads = 0
        self.flow = EmailEvents(
            limits=self.limits,
            events=self.events,
            clock=self.clock,
            pepper=self._pepper,
            metric=self.metrics.append,
        )

    def _pepper(self) -> bytes:
        self.pepper_reads += 1
        return PEPPER

    def suppressed(self, address: str) -> bool:
        return suppression_key(address_key(PEPPER, address)) in self.limits.suppressed


@pytest.fixture
def setup() -> Setup:
    return Setup()


def test_a_permanent_bounce_suppresses_the_address_and_the_next_email_is_refused(
    setup: Setup,
) -> None:
    # Given an address that SES reported as bouncing for good (events/ses_events.json)
    address = "bounce@simulator.amazonses.com"
    key = address_key(PEPPER, address)
    setup.limits.admit_email(key, ORIGIN)  # the email that bounced went out
    # When the event is received
    outcome = setup.flow.receive(json.dumps(sample("ses_events")))
    # Then the address's key is suppressed for good, with the reason
    assert outcome is EmailEventOutcome.SUPPRESSED
    assert setup.limits.suppressed[suppression_key(key)] == ("bounce", int(setup.clock.now()))
    # and the attack stops: the next email to it is refused before SES is asked
    with pytest.raises(EmailUndeliverable):
        setup.limits.admit_email(key, ORIGIN)


def test_a_suppression_is_audited_under_the_addresss_subject_and_counted(setup: Setup) -> None:
    setup.flow.receive(json.dumps(sample("ses_events")))
    [event] = setup.events.events
    assert event.type is VerificationEventType.EMAIL_SUPPRESSED
    assert event.kind is FlowKind.EMAIL_DELIVERY
    # the subject every event about an address without an account has (keyed by the sink)
    assert event.subject == unknown_subject(account_key("bounce@simulator.amazonses.com"))
    assert event.detail == {"reason": "bounce", "subtype": "General"}
    assert setup.metrics == [METRIC_EMAIL_SUPPRESSED]


def test_a_complaint_suppresses_the_address(setup: Setup) -> None:
    outcome = setup.flow.receive(json.dumps(sample("ses_events_complaint")))
    assert outcome is EmailEventOutcome.SUPPRESSED
    assert setup.suppressed("complaint@simulator.amazonses.com")
    assert setup.events.events[0].detail == {"reason": "complaint", "subtype": "abuse"}


def test_every_recipient_is_suppressed_under_its_normalised_address(setup: Setup) -> None:
    # SES may report several recipients, in any case, with a display name
    message = bounce("  Ada@Example.COM ", "Grace Hopper <grace@example.org>")
    assert setup.flow.receive(message) is EmailEventOutcome.SUPPRESSED
    assert setup.suppressed("ada@example.com") and setup.suppressed("grace@example.org")
    assert len(setup.events.events) == 2
    assert setup.metrics == [METRIC_EMAIL_SUPPRESSED] * 2


def test_an_address_reported_again_is_not_audited_or_counted_twice(setup: Setup) -> None:
    # SNS delivers at least once; SES may report a bounce and then a complaint
    setup.flow.receive(bounce("ada@example.com"))
    assert setup.flow.receive(complaint("ada@example.com")) is (
        EmailEventOutcome.ALREADY_SUPPRESSED
    )
    assert len(setup.events.events) == 1 and setup.metrics == [METRIC_EMAIL_SUPPRESSED]
    assert setup.limits.suppressed[suppression_key(address_key(PEPPER, "ada@example.com"))][0] == (
        "bounce"
    )


@pytest.mark.parametrize("bounce_type", ["Transient", "Undetermined"])
def test_a_bounce_that_is_not_permanent_suppresses_nothing(setup: Setup, bounce_type: str) -> None:
    # A full mailbox, a server that asks to come back later: the address may work tomorrow
    outcome = setup.flow.receive(bounce("ada@example.com", bounce_type=bounce_type))
    assert outcome is EmailEventOutcome.IGNORED
    assert setup.limits.suppressed == {} and setup.events.events == []
    assert setup.pepper_reads == 0


@pytest.mark.parametrize("event_type", ["Delivery", "Send", "DeliveryDelay", "Open"])
def test_other_event_types_are_ignored(setup: Setup, event_type: str) -> None:
    record = {"eventType": event_type, "mail": sample("ses_events")["mail"]}
    assert setup.flow.receive(json.dumps(record)) is EmailEventOutcome.IGNORED
    assert setup.limits.suppressed == {}


def test_an_identity_notification_is_read_as_an_event(setup: Setup) -> None:
    # Feedback notifications set on the identity name the type notificationType
    record = sample("ses_events_complaint")
    record["notificationType"] = record.pop("eventType")
    assert setup.flow.receive(json.dumps(record)) is EmailEventOutcome.SUPPRESSED


MALFORMED = {
    "not JSON": "{not json",
    "empty": "",
    "a list": "[]",
    "no type": json.dumps({"mail": {}}),
    "bounce without its object": json.dumps({"eventType": "Bounce"}),
    "bounce without a type": json.dumps({"eventType": "Bounce", "bounce": {}}),
    "no recipients": json.dumps(
        {"eventType": "Bounce", "bounce": {"bounceType": "Permanent", "bouncedRecipients": []}}
    ),
    "recipient without an address": json.dumps(
        {"eventType": "Complaint", "complaint": {"complainedRecipients": [{"x": 1}]}}
    ),
    "address without a domain": complaint("ada"),
    "number too long": '{"eventType": "Bounce", "n": ' + "9" * 5000 + "}",
    "nested too deep": "[" * 100_000 + "]" * 100_000,
}


@pytest.mark.parametrize("message", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_record_is_dropped_never_retried(setup: Setup, message: str) -> None:
    # It would fail the same way at every retry: it is logged and dropped, not raised
    assert setup.flow.receive(message) is EmailEventOutcome.MALFORMED
    assert setup.limits.suppressed == {} and setup.events.events == []


def test_a_storage_failure_raises_so_the_event_is_delivered_again(setup: Setup) -> None:
    setup.limits.failure = StorageUnavailable()
    with pytest.raises(StorageUnavailable):
        setup.flow.receive(json.dumps(sample("ses_events")))
    assert setup.events.events == [] and setup.metrics == []
    # and the retry, once the table answers, suppresses it
    setup.limits.failure = None
    assert setup.flow.receive(json.dumps(sample("ses_events"))) is EmailEventOutcome.SUPPRESSED


def test_logs_never_hold_the_address(setup: Setup, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    setup.flow.receive(bounce("ada.lovelace@example.com"))
    setup.flow.receive(bounce("ada.lovelace@example.com"))
    setup.flow.receive(bounce("ada.lovelace@example.com", bounce_type="Transient"))
    setup.flow.receive(complaint("ada.lovelace@example.com")[:-5])
    logged = " ".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "a***@***.com" in logged
    assert "lovelace" not in logged and "example.com" not in logged


def test_the_sample_events_are_what_ses_publishes() -> None:
    assert read_ses_event(json.dumps(sample("ses_events"))).addresses == (
        "bounce@simulator.amazonses.com",
    )
    assert read_ses_event(json.dumps(sample("ses_events_complaint"))).reason == "complaint"
    with pytest.raises(MalformedEmailEvent):
        read_ses_event("null")
