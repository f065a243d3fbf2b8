"""What goes wrong with DynamoDB Local, and how its logs are quoted in the messages."""

from __future__ import annotations

LOG_TAIL_LINES = 40


class DynamoDBLocalError(RuntimeError):
    """DynamoDB Local could not be installed, started or stopped."""


class PortInUseError(DynamoDBLocalError):
    """The JVM could not bind its port (someone took it between our probe and its start)."""


def tail(text: str, lines: int = LOG_TAIL_LINES) -> str:
    """The last ``lines`` of ``text``, indented for an error message."""
    kept = text.rstrip().splitlines()[-lines:]
    return "\n".join(f"    {line}" for line in kept) if kept else "    <empty>"
