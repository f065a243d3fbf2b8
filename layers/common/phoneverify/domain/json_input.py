"""JSON from a client, parsed so that no body can make the parser fail with anything but a 400:
a number literal longer than any field of the contract needs (Python refuses to convert an
integer of more than 4,300 digits with a ValueError, and converting one of fewer costs time
quadratic in its length) and nesting deeper than the parser's recursion limit are refused
with an InvalidRequest that names the problem (docs/abuse-controls.md "Oversized numbers")."""

from __future__ import annotations

import json
from typing import Any

from phoneverify.domain.errors import InvalidRequest

# No number of the contract comes near: amounts are refused past 12 integer digits and 32
# characters (domain/money.py), and every other field is a string or a boolean.
MAX_NUMBER_DIGITS = 64


class NumberTooLong(InvalidRequest):
    message = f"Request body has a number of more than {MAX_NUMBER_DIGITS} digits"


def _bounded(convert: type[int] | type[float]) -> Any:
    def parse(literal: str) -> int | float:
        if len(literal) > MAX_NUMBER_DIGITS:
            raise NumberTooLong(
                f"Request body has a number of more than {MAX_NUMBER_DIGITS} digits: "
                f"numbers must have at most {MAX_NUMBER_DIGITS} digits"
            )
        return convert(literal)

    return parse


_DECODER = json.JSONDecoder(parse_int=_bounded(int), parse_float=_bounded(float))


def loads(text: str | bytes) -> Any:
    """The JSON document in `text`; InvalidRequest (400) for a number too long or nesting too
    deep, json.JSONDecodeError (a ValueError) for text that is not JSON, as json.loads."""
    if isinstance(text, bytes):
        text = text.decode("utf-8")  # UnicodeDecodeError: a ValueError, as json.loads
    try:
        return _DECODER.decode(text)
    except RecursionError:
        raise InvalidRequest("Request body is nested too deeply") from None
