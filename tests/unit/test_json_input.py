"""The one JSON parser of client bodies (domain/json_input.py): a number too long or nesting too
deep is an InvalidRequest that names it, never a ValueError the handlers would make a 500."""

from __future__ import annotations

import pytest

from phoneverify.adapters.telnyx.webhooks import TelnyxEvent
from phoneverify.domain import json_input
from phoneverify.domain.errors import InvalidRequest


@pytest.mark.parametrize(
    "literal", ["9" * 4301, "-" + "9" * 4301, "1" * 65, "0." + "1" * 63, "1e" + "9" * 63]
)
def test_a_number_literal_past_the_cap_is_refused_naming_it(literal: str) -> None:
    with pytest.raises(InvalidRequest, match="more than 64 digits"):
        json_input.loads('{"x": ' + literal + "}")


def test_numbers_the_contract_uses_parse_as_json_loads_does() -> None:
    assert json_input.loads(b'{"amount": 250, "f": 0.1, "n": -3, "big": ' + b"9" * 64 + b"}") == {
        "amount": 250,
        "f": 0.1,
        "n": -3,
        "big": int("9" * 64),
    }


def test_text_that_is_not_json_stays_a_value_error() -> None:
    with pytest.raises(ValueError):
        json_input.loads("{")
    with pytest.raises(ValueError):
        json_input.loads(b"\xff")


def test_a_recursion_error_is_an_invalid_request() -> None:
    depth = 200_000  # past any C stack guard of the scanner
    with pytest.raises(InvalidRequest, match="nested too deeply"):
        json_input.loads("[" * depth + "]" * depth)


def test_a_signed_webhook_with_a_number_too_long_is_a_400_too() -> None:
    body = b'{"data": {"id": "e1", "event_type": "verify.sent", "n": ' + b"9" * 4301 + b"}}"
    with pytest.raises(InvalidRequest, match="more than 64 digits"):
        TelnyxEvent.parse(body)
