"""Each end-to-end module gets its own local stack against the session's DynamoDB Local."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from devtools.local_stack.stack import LocalStack
from tests.support.stacks import running_stack


@pytest.fixture(scope="module")
def stack(dynamodb_local_endpoint: str) -> Iterator[LocalStack]:
    with running_stack(dynamodb_local_endpoint) as running:
        yield running


@pytest.fixture
def api(stack: LocalStack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.api_url, timeout=30) as client:
        yield client
