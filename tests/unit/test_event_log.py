"""The log line of every verification and authentication event: who, from where, never a
secret."""

from __future__ import annotations

import io
import json
import logging

import pytest
from aws_lambda_powertools import Logger

from phoneverify.adapters import event_log
from phoneverify.adapters.event_log import LoggedVerificationEvents
from phoneverify.domain.models import (
    FlowKind,
    RequestOrigin,
    VerificationEvent,
    VerificationEventType,
)


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
