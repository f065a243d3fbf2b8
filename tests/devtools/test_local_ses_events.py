"""The local stack's SES mailbox simulator (devtools/local_stack/ses_events.py): which
addresses it answers for, and that the SNS event it hands SesEventsFunction is the one SES
publishes, naming the email's recipient and message."""

from __future__ import annotations

import json
from typing import Any

import pytest

from devtools.local_stack.ses_events import FUNCTION, SesEventRelay, simulated, sns_event
from phoneverify.domain.email_events import read_ses_event

EMAIL = {"id": "m-1", "from": "no-reply@example.com", "subject": "s", "text": "t"}


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("bounce@simulator.amazonses.com", "bounce"),
        ("Complaint+label-7@Simulator.AmazonSES.com", "complaint"),
        ("success@simulator.amazonses.com", None),
        ("bounce@example.com", None),
        ("bounce", None),
    ],
)
def test_only_the_simulators_bounce_and_complaint_addresses_cause_an_event(
    address: str, kind: str | None
) -> None:
    assert simulated(address) == kind


@pytest.mark.parametrize("kind", ["bounce", "complaint"])
def test_the_event_is_what_ses_publishes_for_that_email(kind: str) -> None:
    to = f"{kind}+x@simulator.amazonses.com"
    event = sns_event(kind, {**EMAIL, "to": to})
    report = read_ses_event(event["Records"][0]["Sns"]["Message"])
    assert report.reason == kind and report.addresses == (to,)
    assert json.loads(event["Records"][0]["Sns"]["Message"])["mail"]["messageId"] == "m-1"


def test_the_relay_invokes_the_function_once_per_simulated_email() -> None:
    invoked: list[tuple[str, dict[str, Any]]] = []
    relay = SesEventRelay(lambda name, event: invoked.append((name, event)) or {"ok": 1}).start()
    try:
        relay({**EMAIL, "to": "ada@example.com"})
        relay({**EMAIL, "to": "bounce@simulator.amazonses.com"})
        relay.join()
    finally:
        relay.stop()
    assert [name for name, _ in invoked] == [FUNCTION]
    assert relay.outcomes == [{"ok": 1}]
