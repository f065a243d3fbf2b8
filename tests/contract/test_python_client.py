"""A Python client generated from the document (openapi-python-client, pinned in the dev
group, as docs/api.md's recipe runs it) types what the API promises: `verifyStatus` and
`verifyCancel` take a plain client (the token is optional there), and an error's `code` is the
ErrorCode enum or, for a code added later, a plain string. mypy --strict checks a small
script against the generated package; no stack is needed, the document is built offline."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from devtools.openapi import build_openapi

GENERATOR = [sys.executable, "-m", "openapi_python_client"]
SCRIPT = """
from phone_verify_client import AuthenticatedClient, Client
from phone_verify_client.api.verifications import verify_cancel, verify_status
from phone_verify_client.models import CancelRequest, ErrorCode, ErrorResponse


def status_of_a_flow(flow_id: str) -> object:
    anyone = Client(base_url="http://127.0.0.1:3000")
    return verify_status.sync(client=anyone, flow_id=flow_id)


def cancel_a_flow(flow_id: str) -> object:
    anyone = Client(base_url="http://127.0.0.1:3000")
    return verify_cancel.sync(client=anyone, body=CancelRequest(flow_id=flow_id))


def status_of_a_payment(payment_id: str, token: str) -> object:
    payer = AuthenticatedClient(base_url="http://127.0.0.1:3000", token=token)
    return verify_status.sync(client=payer, payment_id=payment_id)


def what_to_do(error: ErrorResponse) -> str:
    if error.code == ErrorCode.UNAUTHORIZED:
        return "sign in again"
    if isinstance(error.code, ErrorCode):
        return error.code.value
    return "a newer code: " + error.code
"""


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("python-client")
    (where / "openapi.json").write_text(json.dumps(build_openapi()))
    subprocess.run(
        [*GENERATOR, "generate", "--path", "openapi.json", "--output-path", "client"],
        cwd=where,
        check=True,
        capture_output=True,
        text=True,
    )
    return where / "client"


def test_the_optional_bearer_routes_take_a_plain_client_and_codes_stay_open(
    generated: Path,
) -> None:
    # Given the generated package and a script that calls the optional-auth routes with a
    # plain Client and branches on an error's code
    (generated / "check_client.py").write_text(SCRIPT)
    # When mypy checks it (the package is typed: py.typed)
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", "check_client.py"],
        cwd=generated,
        capture_output=True,
        text=True,
    )
    # Then it type-checks
    assert result.returncode == 0, result.stdout + result.stderr


def test_a_code_the_client_does_not_know_is_read_as_a_string(generated: Path) -> None:
    # When the generated model reads a known code and one added after it was generated
    probe = (
        "from phone_verify_client.models import ErrorCode, ErrorResponse\n"
        "known = ErrorResponse.from_dict({'error': 'x', 'code': 'rate_limited'}).code\n"
        "new = ErrorResponse.from_dict({'error': 'x', 'code': 'a_code_added_later'}).code\n"
        "print(known is ErrorCode.RATE_LIMITED, type(new).__name__, new)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=generated, capture_output=True, text=True, check=True
    )
    # Then the known one is the enum's member and the new one a plain string, no exception
    assert result.stdout.split() == ["True", "str", "a_code_added_later"]
