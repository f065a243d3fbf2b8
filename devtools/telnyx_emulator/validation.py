"""Request bodies checked the way the Telnyx API checks them, with its error answers."""

from __future__ import annotations

import re
from typing import Any

from devtools.telnyx_emulator import errors

E164 = re.compile(r"^\+[1-9][0-9]{1,14}$")


def require_object(body: Any) -> dict[str, Any]:
    """A request body must be a JSON object."""
    if not isinstance(body, dict):
        raise errors.malformed_body("The request body must be a JSON object.")
    return body


def require_string(body: dict[str, Any], name: str) -> str:
    """A required, non-empty string parameter of a request body."""
    value = body.get(name)
    if value is None or value == "":
        raise errors.missing_parameter(name)
    if not isinstance(value, str):
        raise errors.invalid_parameter(name, f"The '{name}' parameter must be a string.")
    return value
