"""The lost phone's functions as Lambda runs them (docs/phone-lifecycle.md#a-lost-phone), on
moto (DynamoDB, SSM and SES v2), with the new number's codes through the Telnyx emulator. The
authorizer's part is done by hand, as for the account phone functions; the wait is passed by
giving the completing function a clock that far ahead."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from moto.core import DEFAULT_ACCOUNT_ID
from moto.ses.models import ses_backends

from devtools.telnyx_emulator import TelnyxEmulator
from phoneverify.domain.models import User
from phoneverify.domain.passwords import PasswordHasher
from tests.support.function_stack import FunctionStack, function_stack, sent_email_code
from tests.support.lambda_env import api_event, invoke

PHONE = "+14155550123"
NEW_PHONE = "+14155550177"
PASSWORD = "correct horse battery staple"
NEW_PASSWORD = "a brand new passphrase for demo"
OWNER = "demo-user"
EMAIL = "demo@example.com"
WAIT = 259_200
FUNCTIONS = [
    "lost_phone_start",
    "lost_phone_verify",
    "lost_phone_confirm_phone",
    "lost_phone_complete",
    "account_phone_pending",
    "account_phone_pending_cancel",
]


class Later:
    """A clock `offset` seconds ahead of the wall clock."""

    def __init__(self, offset: float) -> None:
        self.offset = offset

    def now(self) -> float:
        return time.time() + self.offset


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch, emulator: TelnyxEmulator) -> Iterator[FunctionStack]:
    with function_stack(monkeypatch, emulator, FUNCTIONS, {"BCRYPT_COST": "10"}) as running:
        hasher = PasswordHasher(cost=4)
        running.users.put_user(
            User(OWNER, EMAIL, hasher.hash(PASSWORD), PHONE), phone_verified_at=0
        )
        running.users.put_user(
            User("plain", "unproven@example.com", hasher.hash(PASSWORD), "+14155550111")
        )
        running.dynamodb.update_item(
            TableName=running.env["USERS_TABLE"],
            Key={"pk": {"S": f"USER#{OWNER}"}},
            UpdateExpression="SET email_proven_at = :t",
            ExpressionAttributeValues={":t": {"N": "1"}},
        )
        yield running


def call(
    stack: FunctionStack, name: str, body: object, user: str | None = None, method: str = "POST"
) -> tuple[int, dict[str, Any], dict[str, str]]:
    event = api_event(stack.paths[name], body, method=method)
    if user is not None:
        event["requestContext"]["authorizer"] = {"principalId": user, "user_id": user}
    return invoke(stack.functions[name], event)


def waiting_swap(stack: FunctionStack) -> str:
    status, started, _ = call(stack, "lost_phone_start", {"email": EMAIL, "new_phone": NEW_PHONE})
    assert status == 200, started
    assert set(started) == {"flow_id", "email_hint", "timeout_secs", "code_length"}
    body = {"flow_id": started["flow_id"], "code": sent_email_code(EMAIL)}
    status, phone_step, _ = call(stack, "lost_phone_verify", body)
    assert status == 200, phone_step
    body = {"flow_id": phone_step["flow_id"], "code": stack.code_for(NEW_PHONE)}
    status, swap, _ = call(stack, "lost_phone_confirm_phone", body)
    assert (status, swap["status"]) == (200, "pending"), swap
    assert WAIT - 5 <= swap["retry_after"] <= WAIT + 1
    return str(phone_step["flow_id"])


def test_the_swap_binds_after_the_wait_through_the_functions(stack: FunctionStack) -> None:
    later = Later(0)
    stack.functions["lost_phone_complete"].runtime.clock = later
    flow_id = waiting_swap(stack)
    body = {"flow_id": flow_id, "new_password": NEW_PASSWORD}
    # Before the wait: 409 lost_phone_waiting with Retry-After
    status, answer, headers = call(stack, "lost_phone_complete", body)
    assert (status, answer["code"]) == (409, "lost_phone_waiting"), answer
    assert int(headers["Retry-After"]) > WAIT - 10
    status, pending, _ = call(stack, "account_phone_pending", None, OWNER, method="GET")
    assert (status, pending["status"], pending["new_phone_hint"]) == (
        200,
        "pending",
        "+1******0177",
    )
    # After it: bound
    later.offset = WAIT + 1
    status, done, _ = call(stack, "lost_phone_complete", body)
    assert status == 200 and done["status"] == "completed", done
    user = stack.users.get(OWNER)
    assert user is not None and user.phone_number == NEW_PHONE and user.token_generation == 1
    assert stack.users.find_by_phone(PHONE) is None


def test_the_owner_cancels_from_a_session(stack: FunctionStack) -> None:
    flow_id = waiting_swap(stack)
    status, cancelled, _ = call(stack, "account_phone_pending_cancel", {}, OWNER)
    assert (status, cancelled["status"]) == (200, "cancelled"), cancelled
    stack.functions["lost_phone_complete"].runtime.clock = Later(WAIT + 1)
    body = {"flow_id": flow_id, "new_password": NEW_PASSWORD}
    status, answer, _ = call(stack, "lost_phone_complete", body)
    assert (status, answer["code"]) == (400, "no_pending_phone_swap"), answer
    assert stack.users.get(OWNER).phone_number == PHONE  # type: ignore[union-attr]
    status, again, _ = call(stack, "account_phone_pending_cancel", {}, OWNER)
    assert (status, again["code"]) == (400, "no_pending_phone_swap"), again


def test_an_unproven_email_gets_the_decoy_and_no_email(stack: FunctionStack) -> None:
    status, real, _ = call(stack, "lost_phone_start", {"email": EMAIL, "new_phone": NEW_PHONE})
    sent = len(ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages)
    status2, decoy, _ = call(
        stack, "lost_phone_start", {"email": "unproven@example.com", "new_phone": NEW_PHONE}
    )
    assert (status, status2) == (200, 200)
    assert decoy.keys() == real.keys()
    assert len(ses_backends[DEFAULT_ACCOUNT_ID]["us-east-1"].sent_messages) == sent
    body = {"flow_id": decoy["flow_id"], "code": "123456"}
    status, answer, _ = call(stack, "lost_phone_verify", body)
    assert (status, answer["code"]) == (401, "invalid_code"), answer


def test_pending_and_cancel_need_a_session(stack: FunctionStack) -> None:
    status, answer, _ = call(stack, "account_phone_pending", None, method="GET")
    assert (status, answer["code"]) == (401, "unauthorized")
    status, answer, _ = call(stack, "account_phone_pending_cancel", {})
    assert (status, answer["code"]) == (401, "unauthorized")
