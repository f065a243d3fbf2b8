"""The login functions with /verify/cancel, /verify/status and the Telnyx webhook function URL,
as Lambda runs them (see function_stack), plus Telnyx-signed webhook deliveries built with the
emulator's key, which is the key the webhook function reads from (moto's) SSM."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from types import ModuleType
from typing import Any

import boto3
import pytest

from devtools.telnyx_emulator import TelnyxEmulator
from phoneverify.domain.models import User
from phoneverify.domain.passwords import PasswordHasher
from phoneverify.flows.engine.any_flow import flow_key
from tests.support.accounts import fresh_phone
from tests.support.function_stack import FunctionStack, function_stack
from tests.support.lambda_env import (
    api_event,
    invoke,
    load_function,
    template_environment,
    url_event,
)

PHONE = "+14155550123"
PASSWORD = "correct horse battery staple"
FUNCTIONS = ["login", "login_verify", "login_resend", "verify_cancel", "verify_status"]
# Resends at once, and a short second look for reports about codes no flow holds any more.
STACK_ENV = {"RESEND_COOLDOWN_SECS": "0"}
LOOKUP_RETRY_DELAYS = (0.01, 0.02)


def telnyx_event(
    event_type: str,
    verification_id: str,
    *,
    event_id: str | None = None,
    delivery_status: str | None = None,
) -> bytes:
    """A Telnyx Verify webhook body, shaped as the emulator (and Telnyx) sends it."""
    default_status = {"verify.sent": "sent", "verify.delivered": "delivered"}.get(event_type)
    envelope = {
        "data": {
            "event_type": event_type,
            "id": event_id or str(uuid.uuid4()),
            "occurred_at": "2026-11-26T16:14:55.615+00:00",
            "payload": {
                "delivery_status": delivery_status or default_status or "delivery_failed",
                "id": verification_id,
                "phone_number": PHONE,
                "record_type": "verification",
                "status": "pending",
                "type": "sms",
            },
            "record_type": "event",
        },
        "meta": {"attempt": 1, "delivered_to": "https://example.lambda-url.on.aws/"},
    }
    return json.dumps(envelope).encode()


@dataclass
class VerifyStack:
    functions: FunctionStack
    webhook: ModuleType
    emulator: TelnyxEmulator
    # The account `login` signs in to: the demo account, unless `with_new_account`.
    user_id: str = "u-demo"
    email: str = "demo@example.com"
    phone: str = PHONE

    def with_new_account(self) -> VerifyStack:
        """This stack, signing in to an account of its own (a fresh id, email and phone), so
        tests sharing one stack never see each other's flows, codes or send counts."""
        suffix = uuid.uuid4().hex[:10]
        account = replace(
            self, user_id=f"u-{suffix}", email=f"u-{suffix}@example.com", phone=fresh_phone()
        )
        self.functions.users.put_user(
            User(
                account.user_id,
                account.email,
                PasswordHasher(cost=4).hash(PASSWORD),
                account.phone,
            ),
            phone_verified_at=0,
        )
        return account

    def call(self, name: str, body: object) -> tuple[int, dict[str, Any], dict[str, str]]:
        return self.functions.call(name, body)

    def login(self) -> str:
        status, body, _ = self.call("login", {"email": self.email, "password": PASSWORD})
        assert status == 200, body
        flow_id: str = body["flow_id"]
        return flow_id

    def code(self) -> str:
        return self.functions.code_for(self.phone)

    def verification_id(self) -> str:
        """Telnyx's id of the newest code sent to the account's phone."""
        verification_id: str = self.emulator.messages(self.phone)[0]["verification_id"]
        return verification_id

    def status(self, query: dict[str, str] | None) -> tuple[int, dict[str, Any]]:
        status, body, _ = invoke(
            self.functions.functions["verify_status"],
            api_event("/verify/status", None, method="GET", query=query),
        )
        return status, body

    def status_of(self, flow_id: str) -> dict[str, Any]:
        status, body = self.status({"flow_id": flow_id})
        assert status == 200, body
        return body

    def cancel(self, flow_id: str) -> tuple[int, dict[str, Any]]:
        status, body, _ = self.call("verify_cancel", {"flow_id": flow_id})
        return status, body

    def deliver(
        self,
        body: bytes,
        headers: dict[str, str] | None = None,
        *,
        base64_body: bool = False,
    ) -> tuple[int, dict[str, Any]]:
        """POST `body` to the webhook function, signed by the emulator unless `headers`."""
        signed = self.emulator.sign_webhook(body) if headers is None else headers
        event = url_event(
            body, {"Content-Type": "application/json", **signed}, base64_body=base64_body
        )
        status, answer, _ = invoke(self.webhook, event)
        return status, answer

    def item(self, flow_id: str) -> dict[str, Any]:
        item: dict[str, Any] = self.functions.dynamodb.get_item(
            TableName=self.functions.env["VERIFICATIONS_TABLE"],
            Key={"pk": {"S": flow_key(flow_id)}},
            ConsistentRead=True,
        )["Item"]
        return item

    def ledger_entries(self, event_id: str) -> list[dict[str, Any]]:
        """What the webhook ledger holds for the provider event `event_id`."""
        items: list[dict[str, Any]] = self.functions.dynamodb.scan(TableName="WebhookEventsTable")[
            "Items"
        ]
        return [item for item in items if item["pk"]["S"] == f"telnyx#{event_id}"]


@contextmanager
def verify_stack(
    monkeypatch: pytest.MonkeyPatch, emulator: TelnyxEmulator
) -> Iterator[VerifyStack]:
    """The demo account (with PHONE) on fresh moto tables, and every function above loaded."""
    with function_stack(monkeypatch, emulator, FUNCTIONS, STACK_ENV) as functions:
        functions.users.put_user(
            User("u-demo", "demo@example.com", PasswordHasher(cost=4).hash(PASSWORD), PHONE),
            phone_verified_at=0,
        )
        yield VerifyStack(functions, webhook_function(monkeypatch, emulator), emulator)


def webhook_function(monkeypatch: pytest.MonkeyPatch, emulator: TelnyxEmulator) -> ModuleType:
    """The Telnyx webhook function, over the tables and parameters of the function stack
    open now, reading the emulator's public key from (moto's) SSM."""
    env = template_environment("TelnyxWebhookFunction", {"TelnyxApiBaseUrl": emulator.base_url})
    boto3.client("ssm", region_name="us-east-1").put_parameter(
        Name=env["TELNYX_PUBLIC_KEY_PARAM"], Type="String", Value=emulator.public_key_b64
    )
    webhook = load_function("webhook_telnyx", monkeypatch, env)
    webhook.runtime.telnyx_webhooks.lookup_retry_delays = LOOKUP_RETRY_DELAYS
    return webhook
