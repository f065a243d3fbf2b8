"""Fresh tables as template.yaml declares them, for tests that need a store of their own."""

from __future__ import annotations

import uuid
from typing import Any

from devtools.aws_resources import table_definitions


def rate_limits_table(client: Any, prefix: str = "t") -> str:
    """A fresh RateLimitsTable (a lower-case name: tables are listed in name order, and the
    local stacks look for theirs among the first), with its TTL."""
    props = table_definitions()["RateLimitsTable"]
    name = f"{prefix}-{uuid.uuid4().hex[:8]}-ratelimits"
    client.create_table(
        TableName=name,
        AttributeDefinitions=props["AttributeDefinitions"],
        KeySchema=props["KeySchema"],
        BillingMode=props["BillingMode"],
    )
    client.get_waiter("table_exists").wait(TableName=name)
    client.update_time_to_live(
        TableName=name, TimeToLiveSpecification={"AttributeName": "ttl", "Enabled": True}
    )
    return name
