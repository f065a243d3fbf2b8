"""Fresh tables as template.yaml declares them, for tests that need a store of their own."""

from __future__ import annotations

import uuid
from typing import Any

from devtools.aws_resources import create_table, table_definitions


def fresh_table(client: Any, logical_id: str, prefix: str = "t") -> str:
    """A new table with the keys, indexes and TTL of the template's `logical_id`, under a
    fresh lower-case name (tables are listed in name order, and the local stacks look for
    theirs among the first)."""
    suffix = logical_id.removesuffix("Table").lower()
    name = f"{prefix}-{uuid.uuid4().hex[:8]}-{suffix}"
    create_table(client, name, table_definitions()[logical_id])
    return name


def rate_limits_table(client: Any, prefix: str = "t") -> str:
    return fresh_table(client, "RateLimitsTable", prefix)
