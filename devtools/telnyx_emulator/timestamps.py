"""Timestamps as Telnyx writes them: in records (created_at/updated_at) and in webhooks."""

from __future__ import annotations

from datetime import UTC, datetime


def record_time(ts: float) -> str:
    """Timestamp as Telnyx writes created_at/updated_at: naive UTC, microseconds."""
    return datetime.fromtimestamp(ts, UTC).replace(tzinfo=None).isoformat(timespec="microseconds")


def event_time(ts: float) -> str:
    """Timestamp as Telnyx writes a webhook's occurred_at: milliseconds with offset."""
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds")
