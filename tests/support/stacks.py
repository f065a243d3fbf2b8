"""The whole local stack for end-to-end and attack tests, on free ports and quiet."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from devtools.local_stack import LocalStack, StackConfig, free_port


@contextmanager
def running_stack(dynamodb_endpoint: str | None, **overrides: Any) -> Iterator[LocalStack]:
    """A LocalStack against `dynamodb_endpoint` (None: moto's DynamoDB); `overrides` go to
    StackConfig (e.g. `static_dir`, or `gateway_env` to give every function other settings)."""
    settings: dict[str, Any] = {
        "api_port": free_port(),
        "emulator_port": free_port(),
        "aws_port": free_port(),
        "dynamodb_endpoint": dynamodb_endpoint,
        "static_dir": None,
        "quiet": True,
        "serve_openapi": False,  # tests/devtools/test_openapi.py covers it
        **overrides,
    }
    with LocalStack(StackConfig(**settings)) as stack:
        yield stack
