"""SES's reports in the round-trip table (tests/support/round_trips.py): functions/ses_events
fed a permanent bounce and a complaint, as SNS hands them over (events/ses_events*.json). It has
no route, so it is loaded here, beside the stack's functions, over the same moto tables."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest

from tests.support.lambda_env import ROOT, LambdaContext, load_function, template_environment

if TYPE_CHECKING:
    from tests.support.round_trips import _Measured

NAME = "ses_events"


def measure_ses_events(run: _Measured, monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.support.round_trips import watch

    function = load_function(NAME, monkeypatch, template_environment("SesEventsFunction"))
    watch(function, NAME)

    def deliver(sample: str) -> tuple[int, dict[str, Any], dict[str, str]]:
        event = json.loads((ROOT / "events" / f"{sample}.json").read_text())
        answer = function.lambda_handler(event, LambdaContext(function_name="SesEventsFunction"))
        assert answer["outcomes"] == {"suppressed": 1}, answer
        return 200, answer, {}

    run.measure("SES event (permanent bounce)", lambda: deliver("ses_events"))
    run.measure("SES event (complaint)", lambda: deliver("ses_events_complaint"))
