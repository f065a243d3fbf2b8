"""DynamoDB tables as template.yaml declares them, for local stacks and tests.

Tables are created from the template itself, so tests and infrastructure cannot drift apart.
Locally each table is named by its logical id (e.g. "UsersTable"), optionally prefixed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from devtools.local_gateway.template import load_template as _load_template

TEMPLATE = Path(__file__).resolve().parent.parent / "template.yaml"


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    """template.yaml as plain data; short-form tags become their long form (`{"Ref": ...}`)."""
    return _load_template(path)


# template.yaml's AllowedOrigin has no default (every deploy names its frontend, never "*").
# Local tools that read the template pass the local stack's own origin, where the web page is
# served; LocalStack passes its actual http://<host>:<api port>.
LOCAL_ORIGIN = "http://127.0.0.1:3000"
LOCAL_PARAMETERS = {"AllowedOrigin": LOCAL_ORIGIN}


def table_definitions(path: Path = TEMPLATE) -> dict[str, dict[str, Any]]:
    """Logical id -> properties of every AWS::DynamoDB::Table in the template."""
    resources = load_template(path).get("Resources", {})
    return {
        logical_id: dict(resource.get("Properties", {}))
        for logical_id, resource in resources.items()
        if resource.get("Type") == "AWS::DynamoDB::Table"
    }


def create_table(client: Any, name: str, props: dict[str, Any]) -> None:
    """Create table `name` with the template properties `props` (keys, indexes, TTL)."""
    request: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if props.get("GlobalSecondaryIndexes"):
        request["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    client.create_table(**request)
    client.get_waiter("table_exists").wait(TableName=name)
    ttl = props.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        client.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
        )


def create_tables(client: Any, *, prefix: str = "", path: Path = TEMPLATE) -> dict[str, str]:
    """Create the template's tables that do not exist yet (key schema, indexes, TTL).

    Returns logical id -> table name for every table of the template. A table that exists
    already is left as it is (an index added to the template since is not added to it).
    """
    existing = set(client.list_tables()["TableNames"])
    names: dict[str, str] = {}
    for logical_id, props in table_definitions(path).items():
        name = prefix + logical_id
        names[logical_id] = name
        if name in existing:
            continue
        create_table(client, name, props)
    return names
