"""pydantic's complaints about input, told in plain words: the field, and what it must be
("flow_id must be at least 20 characters", not "String should have at least 20 characters").
The request models (http/requests.py) and the Telnyx event model share it."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Any

# Unicode categories no free text may hold: controls (NUL, newlines, escapes), format
# characters (bidi overrides, zero-width joiners) and the line and paragraph separators.
CONTROL_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})


def has_control_characters(value: str) -> bool:
    """True when `value` holds a character of CONTROL_CATEGORIES."""
    return any(unicodedata.category(char) in CONTROL_CATEGORIES for char in value)


# The error types our models raise themselves (PydanticCustomError): their message is already
# ours, in words, and is told as is after the field's name.
CUSTOM_ERROR_TYPES = frozenset({"amount_type", "control_characters"})

# A form's required field missing, null or blank (the sign-up form, docs/contract.md): one
# sentence for every such field, naming the first in the form's order. Its error type's
# message is told as is, the field named beside it.
ALL_FIELDS_REQUIRED = "All fields required"
ALL_FIELDS_REQUIRED_TYPE = "all_fields_required"


def _field_of(error: Mapping[str, Any]) -> str:
    loc = [str(part) for part in error.get("loc", ()) if part not in ("body", "query", "header")]
    return ".".join(loc)


# What a `pattern` of the request models asks for, in words (http/requests.py).
PATTERN_WORDS = {
    "^[0-9]+$": "only the digits 0-9",
    "^[A-Za-z0-9_-]+$": "only letters, digits, '-' and '_'",
}

# pydantic's error type -> what the field must be; {name} are the error's `ctx` values.
_MUST_BE = {
    "string_type": "must be a string",
    "bool_type": "must be true or false",
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "float_type": "must be a number",
    "dict_type": "must be a JSON object",
    "too_long": "must have at most {max_length} items",
    "string_too_long": "must be at most {max_length} characters",
    "literal_error": "must be one of {expected}",
    "enum": "must be one of {expected}",
}


def describe_validation_error(error: Mapping[str, Any]) -> tuple[str, str | None]:
    """pydantic's first complaint as a sentence a person can act on, naming the field and what
    it must be ("flow_id must be at least 20 characters"), and the field it names."""
    kind = str(error.get("type", ""))
    ctx: dict[str, Any] = dict(error.get("ctx") or {})
    field = _field_of(error)
    if kind == ALL_FIELDS_REQUIRED_TYPE:
        return ALL_FIELDS_REQUIRED, field or None
    if kind == "json_invalid":
        return "Request body is not valid JSON", None
    if not field:
        if kind == "missing":
            return "Request body is required", None
        return "Request body must be a JSON object", None
    if kind == "missing":
        return f"{field} is required", field
    if kind == "extra_forbidden":
        return f"{field} is not an allowed field", field
    if kind == "string_too_short":
        minimum = int(ctx.get("min_length", 1))
        if minimum <= 1:
            return f"{field} must not be empty", field
        return f"{field} must be at least {minimum} characters", field
    if kind == "string_pattern_mismatch":
        pattern = str(ctx.get("pattern", ""))
        words = PATTERN_WORDS.get(pattern, f"characters matching {pattern}")
        return f"{field} must contain {words}", field
    if kind in _MUST_BE:
        return f"{field} {_MUST_BE[kind].format(**ctx)}", field
    if isinstance(error.get("msg"), str) and kind in CUSTOM_ERROR_TYPES:
        return f"{field} {error['msg']}", field  # our own wording (http/requests.py)
    return f"{field} is not valid", field
