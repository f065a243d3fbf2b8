"""The TypeScript client's example (clients/typescript/example.mts), generated, compiled and run
with Node against the local stack: it logs in with the code from the SMS, pays 250.00 USD with
a code, and the payment is read back as completed. openapi-typescript and tsc come from the
repository's package.json (`npm ci`): missing, the test fails rather than skips."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import httpx
import pytest

from devtools.local_stack.stack import LocalStack
from devtools.openapi import build_openapi
from tests.support.payments import bearer, demo_token, ledger_entries
from tests.support.stacks import dynamodb_of

ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "clients" / "typescript"
BIN = ROOT / "node_modules" / ".bin"


def run(*command: str | Path, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [str(part) for part in command],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, f"{command[0]} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


@pytest.fixture(scope="module")
def example() -> Path:
    """What `make client-ts` checks, then emitted: the document from the code, its types,
    and the client and example compiled to clients/typescript/dist (build output)."""
    for tool in ("openapi-typescript", "tsc"):
        if not (BIN / tool).exists():
            pytest.fail(f"No {tool} in {BIN}: run `npm ci` at the repository root")
    node = shutil.which("node")
    if node is None:
        pytest.fail("No node on PATH: the TypeScript client's example runs under Node 20")
    document = CLIENT / "openapi.json"
    document.write_text(json.dumps(build_openapi(), indent=2))
    run(BIN / "openapi-typescript", document, "--output", CLIENT / "schema.d.ts")
    shutil.rmtree(CLIENT / "dist", ignore_errors=True)
    run(BIN / "tsc", "--project", CLIENT)
    return CLIENT / "dist" / "example.mjs"


def test_the_example_logs_in_and_pays_with_a_code_through_the_typed_client(
    stack: LocalStack, api: httpx.Client, example: Path
) -> None:
    # Given the local stack, and its emulator to read the codes from
    assert stack.emulator is not None
    env = {**os.environ, "API_URL": stack.api_url, "EMULATOR_URL": stack.emulator.base_url}

    # When the compiled example runs under Node
    output = run("node", example, env=env)

    # Then it says it logged in and paid with a code, without printing a code or the token
    lines = output.strip().splitlines()
    assert lines[0] == "login: a 6-digit code was sent to +1******0123", output
    assert lines[1] == "payment: a code is needed (amount), sent to +1******0123", output
    assert lines[2] == "payment: completed, 250.00 USD", output
    paid: dict[str, Any] = json.loads(lines[-1])
    assert paid["status"] == "completed" and paid["verification"] == "verified"
    # and the API says the same of that payment to its payer
    token = demo_token(stack)
    status = api.get(
        "/verify/status", params={"payment_id": paid["payment_id"]}, headers=bearer(token)
    )
    assert status.status_code == 200, status.text
    assert status.json()["status"] == "verified"
    [entry] = ledger_entries(dynamodb_of(stack.aws_env), paid["payment_id"])
    assert entry["transaction_id"]["S"] == paid["transaction_id"]
    sent = {message["code"] for message in stack.emulator.messages(kind="code")}
    assert not any(code in output for code in sent) and token not in output
    assert "eyJ" not in output  # no JWT of any kind
