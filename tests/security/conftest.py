"""The attack suite runs against the whole local stack: HTTP through the local gateway into
the real handlers, AWS's DynamoDB Local as the engine, codes from the Telnyx emulator."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import boto3
import httpx
import pytest

from devtools.local_stack import DEMO_PASSWORD, LocalStack
from phoneverify.adapters.dynamodb import DynamoUserRepository
from phoneverify.models import User
from phoneverify.passwords import PasswordHasher
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


PASSWORD = "a passphrase only the attacker and the owner know"
_phones = itertools.count(100)  # +1 312 555 0100 and up: no other test uses them


@dataclass
class Account:
    user_id: str
    email: str
    phone: str  # "" for an account without a phone


def seed_account(stack: LocalStack, *, with_phone: bool = True) -> Account:
    """An account of its own for one attack test (so the demo accounts are never locked or
    throttled for the others), written straight into the stack's UsersTable."""
    client = boto3.client(
        "dynamodb",
        endpoint_url=stack.aws_env["AWS_ENDPOINT_URL_DYNAMODB"],
        region_name="us-east-1",
    )
    suffix = uuid.uuid4().hex[:10]
    phone = f"+1312555{next(_phones):04d}" if with_phone else ""
    account = Account(f"attacked-{suffix}", f"attacked-{suffix}@example.com", phone)
    user = User(
        account.user_id,
        account.email,
        PasswordHasher(cost=4).hash(PASSWORD),  # the stored hash names its cost
        phone or None,
        "Attacked Person",
    )
    DynamoUserRepository(client, "UsersTable").put_user(user, phone_verified_at=0)
    return account
