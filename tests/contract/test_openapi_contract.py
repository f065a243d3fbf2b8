"""The published document and the API agree: schemathesis generates requests from
/openapi.json for every operation (at least 100 examples each, positive and negative, then
stateful sequences along the document's links) against the local stack on DynamoDB Local, with
a real bearer token, and runs every check. Any failure fails the test with schemathesis's
report, which names the operation and how to reproduce the request."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devtools.local_stack.stack import LocalStack
from tests.support.accounts import Account, seed_account
from tests.support.stacks import running_stack

HERE = Path(__file__).parent
PASSWORD = "contract test password 1"
# A hang guard only: schemathesis itself took 150 s on this 2-core machine shared with other
# test runs (about 2,100 requests, 4 workers) and 370 s at a load average of 23 (docs/api.md),
# but no test here races the wall clock.
HANG_GUARD_SECS = 1200


@pytest.fixture(scope="module")
def stack(dynamodb_local_endpoint: str) -> Iterator[LocalStack]:
    # Cheap password hashes for the fuzzed /login: the checks are about shapes, not bcrypt.
    with running_stack(
        dynamodb_local_endpoint, serve_openapi=True, gateway_env={"BCRYPT_COST": "10"}
    ) as running:
        yield running


@pytest.fixture(scope="module")
def account(stack: LocalStack) -> Account:
    return seed_account(stack, "contract", PASSWORD)


def warm_up(stack: LocalStack) -> None:
    """Start every function once (a method its path does not answer: a cheap 405), so that no
    generated request waits for a cold start."""
    document = httpx.get(f"{stack.api_url}/openapi.json", timeout=60).json()
    with httpx.Client(base_url=stack.api_url, timeout=120) as client:
        for path in document["paths"]:
            assert client.request("PATCH", path).status_code in (401, 405), path


def test_the_api_does_what_its_openapi_document_says(stack: LocalStack, account: Account) -> None:
    assert stack.emulator is not None
    env = {
        **os.environ,
        "SCHEMATHESIS_HOOKS": "tests.contract.hooks",
        "PYTHONPATH": os.pathsep.join(
            [str(HERE.parents[1]), str(HERE.parents[1] / "layers/common")]
        ),
        "CONTRACT_API_URL": stack.api_url,
        "CONTRACT_OUTBOX_URL": f"{stack.emulator.base_url}/_emulator/messages",
        "CONTRACT_EMAIL": account.email,
        "CONTRACT_PASSWORD": PASSWORD,
        "CONTRACT_PHONE": account.phone,
    }
    warm_up(stack)
    started = time.monotonic()
    run = subprocess.run(
        [
            str(Path(sys.executable).with_name("schemathesis")),
            "--no-color",
            "--config-file",
            str(HERE / "schemathesis.toml"),
            "run",
            f"{stack.api_url}/openapi.json",
            "--checks",
            "all",
            # API Gateway ends an integration at 29 s: a slower answer cannot happen there, and
            # a loaded machine must not fail the run on time alone.
            "--max-response-time",
            "30",
            "--seed",
            "9",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=HANG_GUARD_SECS,
        check=False,
    )
    elapsed = time.monotonic() - started
    report = run.stdout[-20_000:] + run.stderr[-5_000:]
    assert run.returncode == 0, report
    print(f"schemathesis: {elapsed:.0f} s")
