"""The attack suite runs against the whole local stack: HTTP through the local gateway into
the real handlers, AWS's DynamoDB Local as the engine, codes from the Telnyx emulator."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import boto3
import httpx
import pytest

from devtools.aws_resources import LOCAL_PARAMETERS, TEMPLATE
from devtools.local_gateway import LocalGateway
from devtools.local_stack.notices import sweep
from devtools.local_stack.seeding import DEMO_PASSWORD
from devtools.local_stack.stack import LocalStack
from tests.support import accounts
from tests.support.accounts import Account
from tests.support.stacks import dynamodb_of, running_stack
from tests.support.tables import fresh_table, rate_limits_table

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

    def email_code_for(self, address: str) -> str:
        code = self.emulator.latest_email_code(address)
        assert code is not None, f"no email code was sent to {address}"
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


PASSWORD = "a passphrase only the attacker and the owner know"


def seed_account(
    stack: LocalStack,
    *,
    with_phone: bool = True,
    bcrypt_cost: int = 4,
    email_proven: bool = True,
) -> Account:
    """An account of its own for one attack test, so the demo accounts are never locked or
    throttled for the others (tests/support/accounts.py), with PASSWORD as its password."""
    return accounts.seed_account(
        stack,
        "attacked",
        PASSWORD,
        with_phone=with_phone,
        bcrypt_cost=bcrypt_cost,
        email_proven=email_proven,
    )


# -- small caps: the template's functions behind a gateway of their own ----------------------
_addresses = itertools.count(10)  # 127.0.0.10, .11, ...: one source per call of new_source()


def new_source() -> str:
    return f"127.0.0.{next(_addresses)}"


@dataclass
class LimitedTarget:
    gateway: LocalGateway
    emulator: Any  # the session stack's TelnyxEmulator
    rate_limits_table: str
    notices_outbox_table: str

    def deliver_notices(self) -> dict[str, Any]:
        """Sweep this gateway's notices outbox now (devtools/local_stack/notices.py)."""
        return sweep(self.gateway)

    def client(self, source: str) -> httpx.Client:
        """A client whose requests come from `source` (a loopback address): API Gateway's
        source IP is the connection's, as the local gateway's is."""
        transport = httpx.HTTPTransport(local_address=source)
        return httpx.Client(base_url=self.gateway.base_url, timeout=60, transport=transport)

    def sent_to(self, phone: str) -> int:
        """SMS the emulator sent to `phone`, delivered or not."""
        return len(self.emulator.messages(phone, include_undelivered=True))


@contextmanager
def limited(stack: LocalStack, caps: dict[str, str]) -> Iterator[LimitedTarget]:
    """The template's functions with `caps` and a RateLimitsTable of their own (the session's
    other tests count nothing in it), beside the session stack and sharing its services. (Not
    a second LocalStack: moto's backends are per process, so it would put new secrets in SSM
    under the session stack's functions.)"""
    assert stack.emulator is not None
    client = dynamodb_of(stack.aws_env)
    table = rate_limits_table(client, "limited")
    # An outbox of its own too: the session stack's sweeps (under its own budget) never
    # deliver these gateways' notices; the test sweeps it (LimitedTarget.deliver_notices).
    outbox = fresh_table(client, "NoticesOutboxTable", "limited")
    env = {
        **stack.aws_env,
        "RATE_LIMITS_TABLE": table,
        "NOTICES_OUTBOX_TABLE": outbox,
        **caps,
    }
    gateway = LocalGateway(
        TEMPLATE,
        port=0,
        parameter_overrides={**LOCAL_PARAMETERS, "TelnyxApiBaseUrl": stack.emulator.base_url},
        extra_env=env,
        quiet=True,
    )
    with gateway:
        yield LimitedTarget(gateway, stack.emulator, table, outbox)
