"""The attack suite runs against the whole local stack: HTTP through the local gateway into
the real handlers, AWS's DynamoDB Local as the engine, codes from the Telnyx emulator."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import boto3
import httpx
import pytest

from devtools.local_stack import DEMO_PASSWORD, LocalStack
from tests.support.stacks import running_stack

DEMO_EMAIL = "demo@example.com"
DEMO_PHONE = "+14155550123"


@dataclass
class Target:
    stack: LocalStack
    api: httpx.Client

    @property
    def emulator(self):  # type: ignore[no-untyped-def]
        assert self.stack.emulator is not None
        return self.stack.emulator

    def code_for(self, phone: str = DEMO_PHONE) -> str:
        code = self.emulator.latest_code(phone)
        assert code is not None, f"no code was sent to {phone}"
        return str(code)

    def login(self, email: str = DEMO_EMAIL, password: str = DEMO_PASSWORD) -> str:
        response = self.api.post("/login", json={"email": email, "password": password})
        assert response.status_code == 200, response.text
        flow_id: str = response.json()["flow_id"]
        return flow_id

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.stack.api_url, timeout=60)

    def ssm_value(self, name: str) -> str:
        """A parameter as the functions read it (the stack's SSM): what an attacker who stole
        it would have."""
        ssm = boto3.client("ssm", endpoint_url=self.stack.aws_env["AWS_ENDPOINT_URL"])
        value: str = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
        return value

    def signing_secret(self) -> str:
        return self.ssm_value("/phone-verify/dev/jwt-signing-secret")


@pytest.fixture(scope="session")
def security_stack(dynamodb_local_endpoint: str) -> Iterator[LocalStack]:
    with running_stack(dynamodb_local_endpoint) as stack:
        yield stack


@pytest.fixture
def target(security_stack: LocalStack) -> Iterator[Target]:
    with httpx.Client(base_url=security_stack.api_url, timeout=60) as api:
        yield Target(security_stack, api)


def wrong_code(code: str) -> str:
    return str((int(code) + 1) % 10 ** len(code)).zfill(len(code))
