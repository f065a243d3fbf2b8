"""POST /logout and the authorizer as Lambda runs them (see function_stack): real handlers
with their template environment on moto, codes through the Telnyx emulator. API Gateway's
part (authorizer verdict -> 401) is played by hand; tests/security/test_logout.py goes
through the local gateway."""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import ModuleType
from typing import Any
from unittest import mock

import pytest
from botocore.exceptions import ClientError

from devtools.telnyx_emulator import TelnyxEmulator
from phoneverify.adapters.dynamo.audit import DynamoAuditTrail
from phoneverify.domain.errors import StorageUnavailable
from phoneverify.domain.models import User
from phoneverify.domain.passwords import PasswordHasher
from phoneverify.flows.sessions import FORGED_SUBJECT
from tests.support.function_stack import FunctionStack, function_stack
from tests.support.lambda_env import (
    ROOT,
    LambdaContext,
    invoke,
)
from tests.support.payments import bearer

PHONE = "+14155550123"
PASSWORD = "correct horse battery staple"


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch, emulator: TelnyxEmulator) -> Iterator[FunctionStack]:
    directories = ["login", "login_verify", "logout", "verify_cancel"]
    with function_stack(monkeypatch, emulator, directories, {"BCRYPT_COST": "10"}) as running:
        hasher = PasswordHasher(cost=4)
        running.users.put_user(
            User("u-demo", "demo@example.com", hasher.hash(PASSWORD), PHONE), phone_verified_at=0
        )
        running.users.put_user(User("u-plain", "plain@example.com", hasher.hash(PASSWORD)))
        yield running


def sign_in(stack: FunctionStack, email: str = "demo@example.com") -> str:
    return stack.sign_in(email, PASSWORD, PHONE)


def logout(
    stack: FunctionStack, token: str | None, body: object = None
) -> tuple[int, dict[str, Any]]:
    headers = bearer(token) if token else None
    status, answer, _ = stack.call("logout", {} if body is None else body, headers)
    return status, answer


def authorized(authorizer: ModuleType, token: str) -> bool:
    """The authorizer's verdict: True allowed, False its explicit Deny (API Gateway's 401)."""
    event = json.loads((ROOT / "events" / "authorizer.json").read_text())
    event["headers"]["Authorization"] = f"Bearer {token}"
    policy = authorizer.lambda_handler(event, LambdaContext(function_name="AuthorizerFunction"))
    (effect,) = {statement["Effect"] for statement in policy["policyDocument"]["Statement"]}
    return bool(effect == "Allow")


def test_after_logout_the_token_is_refused_everywhere_and_other_sessions_live_on(
    stack: FunctionStack, authorizer: ModuleType
) -> None:
    # Given two sessions of one account
    laptop, phone = sign_in(stack), sign_in(stack)
    assert authorized(authorizer, laptop)
    # When the laptop logs out
    assert logout(stack, laptop) == (200, {"logged_out": True})
    # Then its token opens nothing any more: not the payment routes, not /logout itself
    assert not authorized(authorizer, laptop)
    status, body = logout(stack, laptop)
    assert (status, body["code"]) == (401, "unauthorized")
    # and the other session goes on
    assert authorized(authorizer, phone)


def test_logout_everywhere_ends_every_session_of_the_account_only(
    stack: FunctionStack, authorizer: ModuleType
) -> None:
    # Given two sessions of one account and one of another
    laptop, phone = sign_in(stack), sign_in(stack)
    stranger = sign_in(stack, "plain@example.com")
    # When
    assert logout(stack, laptop, {"all": True}) == (200, {"logged_out": True})
    # Then
    assert not authorized(authorizer, laptop)
    assert not authorized(authorizer, phone)
    assert authorized(authorizer, stranger)
    # and a new sign-in works again
    assert authorized(authorizer, sign_in(stack))


def test_one_authorization_costs_exactly_one_dynamodb_call(
    stack: FunctionStack, authorizer: ModuleType
) -> None:
    # Given a valid token, and every call of the authorizer's DynamoDB client counted
    token = sign_in(stack)
    authorized(authorizer, token)  # cold start: secrets and clients
    calls: list[str] = []
    authorizer.runtime.dynamodb.meta.events.register(
        "before-call.dynamodb", lambda model, **_: calls.append(model.name)
    )
    # When it is authorized twice
    assert authorized(authorizer, token) and authorized(authorizer, token)
    # Then each took one read
    assert calls == ["BatchGetItem", "BatchGetItem"]


def test_a_forged_token_costs_no_read_only_its_audit_record(
    stack: FunctionStack, authorizer: ModuleType
) -> None:
    header, payload, _ = sign_in(stack).split(".")
    calls: list[str] = []
    authorizer.runtime.dynamodb.meta.events.register(
        "before-call.dynamodb", lambda model, **_: calls.append(model.name)
    )
    assert not authorized(authorizer, f"{header}.{payload}.AAAA")
    # No read is spent on it; its refusal is on record (under FORGED_SUBJECT, not the account
    # its claims name), written as the invocation ends
    assert calls == ["PutItem"]
    trail = DynamoAuditTrail(stack.dynamodb, stack.env["AUDIT_TABLE"], 86_400)
    (refused,) = trail.events_for(FORGED_SUBJECT)
    assert (refused["event"], refused["detail"]) == ("token_refused", {"reason": "malformed"})


def test_logout_and_the_refusal_that_follows_land_in_the_audit_trail(
    stack: FunctionStack, authorizer: ModuleType
) -> None:
    token = sign_in(stack)
    logout(stack, token, {"all": False})
    authorized(authorizer, token)
    trail = DynamoAuditTrail(stack.dynamodb, stack.env["AUDIT_TABLE"], 86_400)
    refused, logged_out = trail.events_for("u-demo")[:2]
    assert (logged_out["event"], logged_out["flow"]) == ("logged_out", "session")
    assert logged_out["detail"] == {"all": "False"} and logged_out["masked_phone"] == ""
    assert refused["event"] == "token_refused"
    assert refused["detail"] == {"reason": "token_ended"}
    assert token not in json.dumps(trail.events_for("u-demo"))


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"all": "true"}, "all"),
        ({"all": 1}, "all"),
        ({"all": None}, "all"),
        ({"all": True, "user_id": "u-plain"}, "user_id"),
    ],
)
def test_bad_bodies_are_a_400_naming_the_field_and_end_nothing(
    stack: FunctionStack, authorizer: ModuleType, body: dict[str, Any], field: str
) -> None:
    token = sign_in(stack)
    status, answer = logout(stack, token, body)
    assert (status, answer["code"], answer.get("field")) == (400, "invalid_request", field)
    assert field in answer["error"]
    assert authorized(authorizer, token)


@pytest.mark.parametrize("header", [None, "Basic ZGVtbzpkZW1v", "Bearer ", "Bearer not.a.token"])
def test_without_a_valid_bearer_logout_is_401(stack: FunctionStack, header: str | None) -> None:
    headers = None if header is None else {"Authorization": header}
    status, answer, _ = stack.call("logout", {}, headers)
    assert (status, answer) == (401, {"error": "Unauthorized", "code": "unauthorized"})


def test_a_throttled_check_is_a_clean_503_and_ends_nothing(
    stack: FunctionStack, authorizer: ModuleType
) -> None:
    token = sign_in(stack)
    client = stack.functions["logout"].runtime.dynamodb
    throttled = ClientError(
        {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow"}},
        "BatchGetItem",
    )
    with mock.patch.object(client, "batch_get_item", side_effect=throttled):
        status, body = logout(stack, token)
    assert (status, body["code"]) == (503, "service_unavailable")
    assert authorized(authorizer, token)


def test_the_authorizer_fails_never_allows_when_the_check_cannot_be_made(
    stack: FunctionStack, authorizer: ModuleType
) -> None:
    token = sign_in(stack)
    authorized(authorizer, token)
    throttled = ClientError({"Error": {"Code": "ThrottlingException", "Message": "slow"}}, "X")
    # its own fault: raised (API Gateway's AUTHORIZER_FAILURE, 503 to retry), no policy
    dynamodb = authorizer.runtime.dynamodb
    with (
        mock.patch.object(dynamodb, "batch_get_item", side_effect=throttled),
        pytest.raises(StorageUnavailable),
    ):
        authorized(authorizer, token)
    assert authorized(authorizer, token)  # and the token is still good once it can be checked


def test_a_payment_cancel_with_an_ended_token_is_401(stack: FunctionStack) -> None:
    token = sign_in(stack)
    logout(stack, token)
    status, body, _ = stack.call("verify_cancel", {"payment_id": "pay_" + "0" * 32}, bearer(token))
    assert (status, body["code"]) == (401, "unauthorized")


def test_the_sample_event_is_understood_by_the_handler(stack: FunctionStack) -> None:
    # Its token is a placeholder: `sam local invoke` shows the refusal path.
    event = json.loads((ROOT / "events" / "logout.json").read_text())
    status, body, _ = invoke(stack.functions["logout"], event)
    assert (status, body["code"]) == (401, "unauthorized")


@pytest.mark.parametrize("route", ["logout", "verify_cancel"])
def test_a_forged_token_at_a_route_that_checks_it_itself_is_logged_as_the_authorizer_logs(
    stack: FunctionStack, route: str, caplog: pytest.LogCaptureFixture
) -> None:
    header, payload, _ = sign_in(stack).split(".")
    forged = f"{header}.{payload}.AAAA"
    body = {} if route == "logout" else {"payment_id": "pay_12345678"}
    status, _, _ = stack.call(route, body, bearer(forged))
    assert status == 401
    refusal = next(r for r in caplog.records if r.getMessage() == "request refused")
    assert refusal.reason == "malformed"  # type: ignore[attr-defined]
    assert refusal.subject is None  # type: ignore[attr-defined]
    assert refusal.source_ip  # type: ignore[attr-defined]
    assert "AAAA" not in " ".join(str(vars(record)) for record in caplog.records)
