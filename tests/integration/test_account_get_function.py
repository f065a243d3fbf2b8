"""GET /account as Lambda runs it, on moto: what the contract promises ("Common": `user_id`,
`name`, `email`, `phone_hint` or null, `factors`, `created_at`), the phone masked, and an
account deleted since its token was issued is no one's (401)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devtools.telnyx_emulator import TelnyxEmulator
from phoneverify.domain.models import User
from tests.support.function_stack import FunctionStack, function_stack

PHONE = "+14155550123"
CREATED = 1_790_000_000.5


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch, emulator: TelnyxEmulator) -> Iterator[FunctionStack]:
    with function_stack(monkeypatch, emulator, ["account_get"]) as running:
        running.users.put_user(
            User("ada", "ada@example.com", "hash", PHONE, "Ada Lovelace", created_at=CREATED),
            phone_verified_at=0,
        )
        running.users.put_user(User("old", "old@example.com", "hash"))
        yield running


def test_it_answers_the_contracts_fields_with_the_phone_masked(stack: FunctionStack) -> None:
    status, body, _ = stack.call_as("ada", "account_get", None, method="GET")
    assert status == 200, body
    assert body == {
        "user_id": "ada",
        "name": "Ada Lovelace",
        "email": "ada@example.com",
        "email_proven": False,
        "phone_hint": "+1******0123",
        "factors": ["sms"],
        "created_at": int(CREATED),
    }
    assert PHONE not in str(body)


def test_an_account_without_a_phone_or_a_name_answers_nulls(stack: FunctionStack) -> None:
    status, body, _ = stack.call_as("old", "account_get", None, method="GET")
    assert status == 200, body
    assert (body["name"], body["phone_hint"], body["factors"], body["created_at"]) == (
        None,
        None,
        [],
        None,
    )


def test_an_account_gone_since_the_token_is_unauthorized(stack: FunctionStack) -> None:
    status, body, _ = stack.call_as("gone", "account_get", None, method="GET")
    assert (status, body["code"]) == (401, "unauthorized"), body
