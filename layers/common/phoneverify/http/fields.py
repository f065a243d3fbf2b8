"""The id types every request names, each defined once: in a body, in a query string and in a
WebSocket $connect alike. A module of their own, so that a WebSocket function loads pydantic
alone for them, not every request model."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

# Opaque ids as the API hands them out: URL-safe base64 characters.
ID_PATTERN = r"^[A-Za-z0-9_-]+$"

FlowId = Annotated[
    str,
    Field(
        min_length=20,
        max_length=128,
        pattern=ID_PATTERN,
        description="Opaque id of a pending verification, as returned when it was started.",
    ),
]

PaymentId = Annotated[
    str,
    Field(
        min_length=8,
        max_length=64,
        pattern=ID_PATTERN,
        description="The payment id returned by /payments/initiate.",
    ),
]


def default_in_words(schema: dict[str, Any]) -> None:
    """`json_schema_extra` of an optional request field: the document states its default in
    the description, not as `default`, since openapi-typescript types a property that has a
    default as required, so every TypeScript client would have to send it."""
    schema.pop("default", None)
