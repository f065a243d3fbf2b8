"""The whole local stack for end-to-end and attack tests, on free ports and quiet."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import boto3
import httpx

from devtools.local_stack.config import StackConfig
from devtools.local_stack.ports import free_port
from devtools.local_stack.stack import LocalStack


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
        # A first delivery cold-starts the webhook function: on a loaded machine that can take
        # longer than Telnyx's wait, and a retried delivery is not what these tests look at.
        "webhook_timeout_secs": 60.0,
        # Notices are delivered when a test sweeps the outbox (LocalStack.deliver_notices),
        # never by a poller racing the test.
        "notice_poll_secs": 0.0,
        # Payments are reconciled when a test asks (LocalStack.reconcile_payments).
        "payment_reconcile_secs": 0.0,
        **overrides,
    }
    with LocalStack(StackConfig(**settings)) as stack:
        yield stack


def post_at_once(base_url: str, path: str, bodies: list[dict[str, Any]]) -> list[httpx.Response]:
    """POST each body to `path`, each from its own client, all released together."""
    barrier = threading.Barrier(len(bodies))

    def post(body: dict[str, Any]) -> httpx.Response:
        with httpx.Client(base_url=base_url, timeout=60) as client:
            barrier.wait()
            return client.post(path, json=body)

    with ThreadPoolExecutor(max_workers=len(bodies)) as pool:
        return list(pool.map(post, bodies))


def dynamodb_of(aws_env: Mapping[str, str]) -> Any:
    """A DynamoDB client of a local stack's (or gateway's) AWS environment."""
    return boto3.client(
        "dynamodb",
        endpoint_url=aws_env["AWS_ENDPOINT_URL_DYNAMODB"],
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",  # moto and DynamoDB Local accept any
    )


def table_items(stack: LocalStack, table: str) -> list[dict[str, Any]]:
    """Every item of one of the stack's tables (e.g. "UsersTable"), scanned page by page."""
    dynamodb = dynamodb_of(stack.aws_env)
    items: list[dict[str, Any]] = []
    for page in dynamodb.get_paginator("scan").paginate(TableName=table):
        items.extend(page["Items"])
    return items
