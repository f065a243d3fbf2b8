"""pytest plugin: one AWS DynamoDB Local server for the whole test session.

Register it from the root conftest with ``pytest_plugins = ["tests.plugins.dynamodb_local"]``
and request the ``dynamodb_local_endpoint`` fixture. The server starts lazily (only if some
selected test uses the fixture) and is installed on first use (see devtools/dynamodb_local/).
If it cannot be installed or started, every test using the fixture ERRORs with the reason;
nothing is skipped. Tests that use the fixture get the ``dynamodb_local`` marker, so
``-m "not dynamodb_local"`` deselects them.

The server is in-memory and shared by all tests: create uniquely named tables per test.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devtools.dynamodb_local.server import DynamoDBLocal

MARKER = "dynamodb_local"
FIXTURE = "dynamodb_local_endpoint"


def pytest_configure(config: pytest.Config) -> None:
    registered = {line.split(":", 1)[0].strip() for line in config.getini("markers")}
    if MARKER not in registered:
        config.addinivalue_line(
            "markers", f"{MARKER}: needs AWS DynamoDB Local (started by the test session)"
        )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if FIXTURE in getattr(item, "fixturenames", ()) and item.get_closest_marker(MARKER) is None:
            item.add_marker(MARKER)


@pytest.fixture(scope="session")
def dynamodb_local_endpoint() -> Iterator[str]:
    """Endpoint URL (``http://127.0.0.1:<port>``) of the session's DynamoDB Local."""
    with DynamoDBLocal() as server:
        yield server.endpoint_url
