"""Functions as Lambda runs them, for integration tests: real handlers loaded with their template
environment, tables built from template.yaml on moto, secrets in (moto's) SSM, and codes sent
through the Telnyx emulator over loopback. Each function's path comes from its template event."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import boto3
import jwt
import pytest
from moto import mock_aws
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from devtools.aws_resources import create_tables, load_template
from devtools.local_stack.seeding import local_fx_rates
from devtools.telnyx_emulator import TelnyxEmulator
from phoneverify.adapters.dynamo.users import DynamoUserRepository
from tests.support.lambda_env import (
    LambdaContext,
    api_event,
    invoke,
    load_function,
    template_environment,
)

SIGNING_SECRET = "integration-signing-secret-0123456789abcdefgh"
ALTCHA_HMAC_KEY = "integration-altcha-hmac-key-0123456789abcdefgh"
# template.yaml's FxRatesParameterName default, as the payments' function environment names it.
FX_RATES_PARAM = str(load_template()["Parameters"]["FxRatesParameterName"]["Default"])
HASH_PEPPER = "integration-hash-pepper-0123456789abcdefghijklmn"
SESSION = "0123456789abcdef0123456789abcdef"  # the jti call_as's caller signed in with


def template_functions() -> dict[str, tuple[str, str]]:
    """functions/<directory> -> (logical id, API path), as template.yaml declares them."""
    found: dict[str, tuple[str, str]] = {}
    for logical_id, resource in load_template()["Resources"].items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        props = resource["Properties"]
        directory = str(props["CodeUri"]).strip("/").split("/")[-1]
        paths = [
            event["Properties"]["Path"]
            for event in props.get("Events", {}).values()
            if event.get("Type") == "Api"
        ]
        if paths:
            found[directory] = (logical_id, paths[0])
    return found


@dataclass
class FunctionStack:
    functions: dict[str, ModuleType]
    paths: dict[str, str]
    emulator: TelnyxEmulator
    dynamodb: Any
    env: dict[str, str]
    deliverer: ModuleType  # functions/notices_deliver (docs/notices.md)

    def deliver_notices(self) -> dict[str, Any]:
        """The notices outbox's sweep, as the schedule runs it."""
        answer: dict[str, Any] = self.deliverer.lambda_handler(
            {"source": "aws.scheduler", "detail-type": "Scheduled Event", "detail": {}},
            LambdaContext(function_name="NoticesDeliverFunction"),
        )
        return answer

    def deliver_records(self, notice_ids: list[str]) -> dict[str, Any]:
        """A batch of the outbox's stream (KEYS_ONLY inserts), as Lambda hands it over."""
        records = [
            {
                "eventName": "INSERT",
                "dynamodb": {"Keys": {"pk": {"S": notice_id}}, "SequenceNumber": str(i)},
            }
            for i, notice_id in enumerate(notice_ids, start=1)
        ]
        answer: dict[str, Any] = self.deliverer.lambda_handler(
            {"Records": records}, LambdaContext(function_name="NoticesDeliverFunction")
        )
        return answer

    def call(
        self, name: str, body: object, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        return invoke(self.functions[name], api_event(self.paths[name], body, headers=headers))

    def call_as(
        self,
        user: str,
        name: str,
        body: object,
        headers: dict[str, str] | None = None,
        session: str = SESSION,
        method: str = "POST",
        path: str | None = None,
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        """Call `name` as API Gateway does after the authorizer allowed `user`, whose access
        token's jti is `session` (`path`: another route the function serves)."""
        event = api_event(path or self.paths[name], body, headers=headers, method=method)
        event["requestContext"]["authorizer"] = {
            "principalId": user,
            "user_id": user,
            "jti": session,
            "integrationLatency": 5,
        }
        return invoke(self.functions[name], event)

    def code_for(self, phone_number: str) -> str:
        code = self.emulator.latest_code(phone_number)
        assert code is not None, f"no code was sent to {phone_number}"
        return code

    @staticmethod
    def email_code_for(to: str) -> str:
        return sent_email_code(to)

    def sign_in(self, email: str, password: str, phone: str) -> str:
        """The account's token, through `login` (and `login_verify` with the code sent to
        `phone` when the account has one)."""
        status, body, _ = self.call("login", {"email": email, "password": password})
        assert status == 200, body
        if "token" not in body:
            status, body, _ = self.call(
                "login_verify", {"flow_id": body["flow_id"], "code": self.code_for(phone)}
            )
            assert status == 200, body
        token: str = body["token"]
        return token

    def decode(self, token: str) -> dict[str, Any]:
        claims: dict[str, Any] = jwt.decode(
            token,
            SIGNING_SECRET,
            algorithms=["HS256"],
            audience=self.env["JWT_AUDIENCE"],
            issuer=self.env["JWT_ISSUER"],
        )
        return claims

    @property
    def users(self) -> DynamoUserRepository:
        return DynamoUserRepository(self.dynamodb, self.env["USERS_TABLE"])

    def scan(self, env_name: str) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = self.dynamodb.scan(TableName=self.env[env_name])["Items"]
        return items


@contextmanager
def function_stack(
    monkeypatch: pytest.MonkeyPatch,
    emulator: TelnyxEmulator,
    directories: list[str],
    extra_env: dict[str, str] | None = None,
) -> Iterator[FunctionStack]:
    """Load the functions in `directories` against fresh moto tables and parameters;
    `extra_env` adds tunables (e.g. BCRYPT_COST at its floor, 10) to every function's
    environment."""
    declared = template_functions()
    emulator.reset()
    with mock_aws():
        dynamodb = boto3.client("dynamodb", region_name="us-east-1")
        create_tables(dynamodb)
        overrides = {"TelnyxApiBaseUrl": emulator.base_url}
        env = template_environment(declared[directories[0]][0], overrides)
        ssm = boto3.client("ssm", region_name="us-east-1")
        for name, kind, value in [
            (env["TELNYX_API_KEY_PARAM"], "SecureString", emulator.config.api_key),
            (env["TELNYX_VERIFY_PROFILE_ID_PARAM"], "String", emulator.config.profile_id),
            (env["TELNYX_MESSAGING_SENDER_PARAM"], "String", emulator.config.messaging_from),
            (env["JWT_SIGNING_SECRET_PARAM"], "SecureString", SIGNING_SECRET),
            (env["ALTCHA_HMAC_KEY_PARAM"], "SecureString", ALTCHA_HMAC_KEY),
            # The exchange rates (only POST /payments/initiate names them), as `make run` has.
            (FX_RATES_PARAM, "String", local_fx_rates(time.time())),
            (env["HASH_PEPPER_PARAM"], "SecureString", HASH_PEPPER),
        ]:
            ssm.put_parameter(Name=name, Type=kind, Value=value)
        # The authenticator apps' key (template.yaml FactorSecretsKey), in moto's KMS.
        kms = boto3.client("kms", region_name="us-east-1")
        factor_key = {"FACTOR_KEY_ID": kms.create_key()["KeyMetadata"]["Arn"]}
        functions = {
            directory: load_function(
                directory,
                monkeypatch,
                {
                    **template_environment(declared[directory][0], overrides),
                    **factor_key,
                    **(extra_env or {}),
                },
            )
            for directory in directories
        }
        paths = {directory: declared[directory][1] for directory in directories}
        deliverer = load_function(
            "notices_deliver",
            monkeypatch,
            {**template_environment("NoticesDeliverFunction", overrides), **(extra_env or {})},
        )
        # moto's SES sends only from a verified identity, as SES does.
        sender = env.get("EMAIL_SENDER_ADDRESS") or "no-reply@example.com"
        boto3.client("sesv2", region_name="us-east-1").create_email_identity(
            EmailIdentity=sender.partition("@")[2]
        )
        boto3.client("ses", region_name="us-east-1").verify_email_identity(EmailAddress=sender)
        yield FunctionStack(functions, paths, emulator, dynamodb, env, deliverer)


def sent_email_code(to: str) -> str:
    """The code of the last email moto's SES sent to `to`."""
    sent = ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages
    bodies = [str(m.body) for m in sent if to in m.destinations.get("ToAddresses", [])]
    assert bodies, f"no email was sent to {to}"
    found = re.search(r"code is (\d+)", bodies[-1])
    assert found is not None, f"no code in the last email to {to}"
    return found.group(1)
