"""Field types shared by the HTTP models and the WebSocket handlers, in a module of their own so
that a WebSocket function loads pydantic alone for them, not every request model."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

FlowId = Annotated[
    str,
    Field(
        min_length=20,
        max_length=128,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="Opaque id of a pending verification, as returned when it was started.",
    ),
]
