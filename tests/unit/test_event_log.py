"""The log line of every verification and authentication event: who, from where, never a
secret."""

from __future__ import annotations

import hashlib
import io
import json
import logging

import pytest
from aws_lambda_powertools import Logger

from phoneverify.adapters import event_log
from phoneverify.adapters.event_log import KeyedSubjects, LoggedVerificationEvents
from phoneverify.domain.audit_events import VerificationEvent, VerificationEventType
from phoneverify.domain.keyed import keyed_digest
from phoneverify.domain.models import FlowKind, RequestOrigin
from phoneverify.flows.sessions import FORGED_SUBJECT


def test_an_authentication_decision_is_one_structured_line(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given a logger writing to a buffer
    buffer = io.StringIO()
    logger = Logger(service="event-log-test", logger_handler=logging.StreamHandler(buffer))
    monkeypatch.setattr(event_log, "logger", logger)
    # When a wrong password is recorded
    LoggedVerificationEvents().record(
        VerificationEvent(
            type=VerificationEventType.PASSWORD_REJECTED,
            kind=FlowKind.LOGIN,
            subject="u-123",
            masked_phone="",
            at=1_800_000_000.0,
            origin=RequestOrigin("198.51.100.7", "credential-stuffer/1.0"),
            detail={"failures": 3, "next_wait_secs": 0},
        )
    )
    # Then the line names the decision, the subject, the address and the user agent
    line = json.loads(buffer.getvalue())
    assert line["message"] == "verification event"
    assert line["event_type"] == "password_rejected"
    assert line["subject"] == "u-123"
    assert line["source_ip"] == "198.51.100.7"
    assert line["user_agent"] == "credential-stuffer/1.0"
    assert line["failures"] == 3


# -- keyed subjects (issue 18: audit keys were plain sha256 digests of emails and numbers) ---
PEPPER = b"pepper-0123456789abcdef0123456789abcdef"


class Sink:
    def __init__(self) -> None:
        self.events: list[VerificationEvent] = []

    def record(self, event: VerificationEvent) -> None:
        self.events.append(event)


def event(subject: str, kind: FlowKind = FlowKind.LOGIN, **changes: object) -> VerificationEvent:
    fields: dict[str, object] = {
        "type": VerificationEventType.PASSWORD_REJECTED,
        "kind": kind,
        "subject": subject,
        "masked_phone": "",
        "at": 1_800_000_000.0,
        "origin": RequestOrigin("198.51.100.7", "ua"),
        **changes,
    }
    return VerificationEvent(**fields)  # type: ignore[arg-type]


def keyed_sink() -> tuple[Sink, list[int], KeyedSubjects]:
    sink, reads = Sink(), []

    def pepper() -> bytes:
        reads.append(1)
        return PEPPER

    return sink, reads, KeyedSubjects(sink, pepper)


def test_a_subject_naming_a_person_by_a_digest_reaches_every_sink_keyed() -> None:
    sink, _, keyed = keyed_sink()
    plain = hashlib.sha256(b"email:nobody@example.com").hexdigest()
    keyed.record(event(f"email#{plain}"))
    keyed.record(event("phone#" + hashlib.sha256(b"+14155550123").hexdigest(), FlowKind.NOTICE))
    email, phone = (e.subject for e in sink.events)
    assert email == f"email#{keyed_digest(PEPPER, plain)}"
    assert phone.startswith("phone#") and len(phone) == len("phone#") + 64
    assert plain not in email  # a dictionary of hashed addresses finds nothing without it


def test_account_and_service_subjects_pass_unchanged() -> None:
    sink, _, keyed = keyed_sink()
    for subject in ("u-123", "webhook#telnyx", FORGED_SUBJECT, "operator"):
        keyed.record(event(subject, FlowKind.SESSION, type=VerificationEventType.LOGGED_OUT))
    assert [e.subject for e in sink.events] == [
        "u-123",
        "webhook#telnyx",
        FORGED_SUBJECT,
        "operator",
    ]


def test_the_pepper_is_read_for_a_password_decision_on_an_account_as_on_an_unknown_email() -> None:
    # The same calls whichever subject the decision has (no SSM read unknown emails alone make)
    _, reads, keyed = keyed_sink()
    keyed.record(event("u-123"))
    keyed.record(event("email#" + "0" * 64))
    keyed.record(event("u-123", FlowKind.PASSWORD_RESET, type=VerificationEventType.SENT))
    assert len(reads) == 3
    # and never for a request that has no such event
    _, reads, keyed = keyed_sink()
    keyed.record(event("u-123", FlowKind.PAYMENT, type=VerificationEventType.SENT))
    assert reads == []


# -- codes by flow and channel (issue 23: the dashboard's codes sent and verified) ---------
class RecordedMetrics:
    def __init__(self) -> None:
        self.names: list[str] = []

    def add_metric(self, name: str, unit: object, value: float) -> None:
        self.names.append(name)


def code_event(
    event_type: VerificationEventType, kind: FlowKind, masked: str, **detail: object
) -> VerificationEvent:
    return VerificationEvent(
        type=event_type,
        kind=kind,
        subject="u-123",
        masked_phone=masked,
        at=1_800_000_000.0,
        origin=RequestOrigin("198.51.100.7", "test/1.0"),
        detail=dict(detail),
    )


def test_a_code_sent_counts_under_its_flow_and_its_channel() -> None:
    metrics = RecordedMetrics()
    sink = LoggedVerificationEvents(metrics)  # type: ignore[arg-type]
    sink.record(
        code_event(VerificationEventType.SENT, FlowKind.LOGIN, "+1******0123", channel="sms")
    )
    sink.record(
        code_event(VerificationEventType.RESENT, FlowKind.PAYMENT, "+1******0123", channel="call")
    )
    sink.record(
        code_event(VerificationEventType.ACCEPTED, FlowKind.LOGIN, "+1******0123", channel="sms")
    )
    assert metrics.names == [
        "Verification_sent",
        "CodesSent_flow_login",
        "CodesSent_channel_sms",
        "Verification_resent",
        "CodesSent_flow_payment",
        "CodesSent_channel_call",
        "Verification_accepted",
        "CodesVerified_flow_login",
        "CodesVerified_channel_sms",
    ]


def test_a_code_to_an_address_is_the_email_channel_and_other_events_add_no_code_counter() -> None:
    metrics = RecordedMetrics()
    sink = LoggedVerificationEvents(metrics)  # type: ignore[arg-type]
    sink.record(
        code_event(
            VerificationEventType.SENT, FlowKind.LOST_PHONE_EMAIL, "a***@***.com", channel="sms"
        )
    )
    sink.record(code_event(VerificationEventType.REJECTED, FlowKind.LOGIN, "+1******0123"))
    assert metrics.names == [
        "Verification_sent",
        "CodesSent_flow_lost_phone_email",
        "CodesSent_channel_email",
        "Verification_rejected",
    ]
