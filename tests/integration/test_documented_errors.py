"""Each route's `documented(...)` error list against what its handler answers.

Every answer `invoke` (tests/support/lambda_env.py) takes from a handler, in this module and in
every other that calls the functions, is checked against the function's own OpenAPI operation:
its status, and for an error its `code` under that status. So every scenario of the
integration suite (wrong codes, expiries, races, Telnyx down, DynamoDB throttled, ...) checks
that the hand-written lists are complete.

This module adds the sweep no scenario makes: every API route, through its handler, with every
malformed request and with each fault the stack can inject into every DynamoDB call (throttled,
or failing as nobody foresaw) and into Telnyx. It then checks the other direction for the
errors every route documents (http/operations.py `EVERY_ROUTE`): each is really answered.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from unittest import mock

import pytest
from botocore.exceptions import ClientError

from devtools.telnyx_emulator import TelnyxEmulator
from phoneverify.domain.models import User
from phoneverify.domain.passwords import PasswordHasher
from phoneverify.http.operations import EVERY_ROUTE
from tests.support.function_stack import FunctionStack, function_stack, template_functions
from tests.support.lambda_env import api_event, invoke, offline_aws_environment

PASSWORD = "correct horse battery staple"
FLOW_ID = "A" * 43
PAYMENT_ID = "pay_0123456789"
PHONE = "+14155550123"
USER = "u-documented"

# Every API function, with a request of the right shape (a GET's query string instead), and
# whether it is called behind the authorizer (as API Gateway calls it once a token passed) or
# with the account's bearer token in the request (the routes that check it themselves).
ROUTES: dict[str, tuple[dict[str, Any] | None, dict[str, str] | None, str]] = {
    "login": ({"email": "doc@example.com", "password": PASSWORD}, None, ""),
    "login_verify": ({"flow_id": FLOW_ID, "code": "123456"}, None, ""),
    "login_resend": ({"flow_id": FLOW_ID}, None, ""),
    "register_start": (
        {
            "name": "Ada Lovelace",
            "email": "ada@example.com",
            "phone_number": "+14155550187",
            "password": "analytical engine 1843",
        },
        None,
        "",
    ),
    "register_verify": ({"flow_id": FLOW_ID, "code": "123456", "email_code": "654321"}, None, ""),
    "register_resend": ({"flow_id": FLOW_ID}, None, ""),
    "password_reset_start": ({"email": "doc@example.com"}, None, ""),
    "password_reset_verify": (
        {"flow_id": FLOW_ID, "code": "123456", "new_password": "a new long passphrase 77"},
        None,
        "",
    ),
    "password_reset_resend": ({"flow_id": FLOW_ID}, None, ""),
    "account_phone_start": ({"phone_number": "+14155550188", "password": PASSWORD}, None, "as"),
    "account_phone_verify": ({"flow_id": FLOW_ID, "code": "123456"}, None, "as"),
    "account_phone_resend": ({"flow_id": FLOW_ID}, None, "as"),
    "lost_phone_start": ({"email": "doc@example.com", "new_phone": "+14155550189"}, None, ""),
    "lost_phone_verify": ({"flow_id": FLOW_ID, "code": "123456"}, None, ""),
    "lost_phone_confirm_phone": ({"flow_id": FLOW_ID, "code": "123456"}, None, ""),
    "lost_phone_complete": (
        {"flow_id": FLOW_ID, "new_password": "a new long passphrase 77"},
        None,
        "",
    ),
    "account_phone_pending": (None, {}, "as"),
    "account_phone_pending_cancel": ({}, None, "as"),
    "account_reauth_start": ({"password": PASSWORD}, None, "as"),
    "account_get": (None, {}, "as"),
    "account_email_start": ({"email": "doc-new@example.com"}, None, "as"),
    "account_email_verify": ({"flow_id": FLOW_ID, "code": "123456"}, None, "as"),
    "account_reauth_verify": ({"flow_id": FLOW_ID, "code": "123456"}, None, "as"),
    "account_reauth_resend": ({"flow_id": FLOW_ID}, None, "as"),
    "account_totp_start": ({}, None, "as"),
    "account_totp_verify": ({"flow_id": FLOW_ID, "code": "123456"}, None, "as"),
    "account_totp_remove": ({}, None, "as"),
    "account_export": (None, {}, "as"),
    "account_delete": ({}, None, "as"),
    # Passkeys: GET /account/passkeys is the function's first route (its POST, the new
    # credential, is swept by tests/integration/test_passkey_functions.py).
    "account_passkeys_options": ({}, None, "as"),
    "account_passkeys": (None, {}, "as"),
    "account_passkeys_remove": ({"passkey_id": "AAAAAAAAAAAAAAAAAAAAAA"}, None, "as"),
    "logout": ({}, None, "bearer"),
    "payments_initiate": (
        {"amount": "20.00", "currency": "USD", "recipient": "acct_1"},
        None,
        "as",
    ),
    "payments_confirm": ({"payment_id": PAYMENT_ID, "code": "123456"}, None, "as"),
    "payments_resend": ({"payment_id": PAYMENT_ID}, None, "as"),
    "verify_cancel": ({"flow_id": FLOW_ID}, None, ""),
    "verify_status": (None, {"flow_id": FLOW_ID}, ""),
    "challenge": (None, {}, ""),
}

# The DynamoDB calls an adapter makes (boto3 client methods), each made to fail.
DYNAMODB_CALLS = (
    "get_item",
    "put_item",
    "update_item",
    "delete_item",
    "query",
    "batch_get_item",
    "batch_write_item",
    "transact_get_items",
    "transact_write_items",
)
THROTTLED = ClientError(
    {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}},
    "UpdateItem",
)

# Routes that answer without reaching DynamoDB (GET /challenge signs a challenge in memory):
# a storage fault cannot reach their answer.
STORAGE_FREE = {"challenge"}


class Sweep(FunctionStack):
    token: str = ""

    def send(
        self,
        name: str,
        body: object,
        headers: dict[str, str] | None = None,
        method: str | None = None,
        query: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, Any]]:
        """Call `name` as its route is called, with this body (a GET: its query string, or
        `query` instead)."""
        json_body, usual_query, caller = ROUTES[name]
        query = usual_query if query is None else query
        if json_body is None:
            event = api_event(self.paths[name], None, method=method or "GET", query=query)
        else:
            event = api_event(self.paths[name], body, headers=headers, method=method or "POST")
        if caller == "as":
            event["requestContext"]["authorizer"] = {
                "principalId": USER,
                "user_id": USER,
                "jti": "documented-session",
            }
        if caller == "bearer":
            event["headers"] = {**event["headers"], "Authorization": f"Bearer {self.token}"}
            event["multiValueHeaders"] = {k: [v] for k, v in event["headers"].items()}
        status, answer, _ = invoke(self.functions[name], event)
        return status, answer


@pytest.fixture(scope="module")
def sweep(emulator: TelnyxEmulator) -> Iterator[Sweep]:
    declared = template_functions()
    assert set(ROUTES) == set(declared), "a new API function needs its request here"
    with pytest.MonkeyPatch.context() as monkeypatch:
        offline_aws_environment(monkeypatch)
        with function_stack(monkeypatch, emulator, list(ROUTES), {"BCRYPT_COST": "10"}) as running:
            stack = Sweep(**vars(running))
            hasher = PasswordHasher(cost=4)
            stack.users.put_user(
                User(USER, "doc@example.com", hasher.hash(PASSWORD), None), phone_verified_at=0
            )
            stack.token = stack.sign_in("doc@example.com", PASSWORD, PHONE)
            yield stack


def malformed_requests(sweep: Sweep, name: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """Every malformed request of the route: not JSON, not an object, fields missing, unknown or
    of the wrong type, too large, not declared JSON, a method the path does not answer."""
    json_body, query, _ = ROUTES[name]
    if json_body is None:
        yield sweep.send(name, None)  # a GET with a well-formed query string
        if query:
            yield sweep.send(name, None, query=dict.fromkeys(query, "../x"))
        yield sweep.send(name, None, method="PUT")  # 405 naming GET
        return
    for body, headers in [
        (json_body, None),
        ("{", None),  # not JSON
        ("[]", None),  # not an object
        ({}, None),  # nothing given
        ({**json_body, "admin": True}, None),  # a field no model has
        (dict.fromkeys(json_body, 5), None),  # every field of the wrong type
        (json.dumps({**json_body, "pad": "x" * 70_000}), None),  # too large
        (json_body, {"Content-Type": "text/plain"}),  # not declared JSON
    ]:
        yield sweep.send(name, body, headers)
    yield sweep.send(name, json_body, method="PUT")  # 405 naming POST


def faults(sweep: Sweep, name: str) -> Iterator[tuple[int, dict[str, Any]]]:
    """The route's request with every DynamoDB call throttled, then failing as nobody foresaw,
    then with Telnyx answering 503."""
    client = sweep.functions[name].runtime.dynamodb
    for failure in (THROTTLED, RuntimeError("a bug nobody foresaw")):
        calls = dict.fromkeys(DYNAMODB_CALLS, mock.Mock(side_effect=failure))
        with mock.patch.multiple(client, **calls):
            status, answer = sweep.send(name, ROUTES[name][0])
        if name not in STORAGE_FREE:
            assert status == (503 if failure is THROTTLED else 500), answer
        yield status, answer
    sweep.emulator.add_fault(endpoint="any", status=503, count=5)
    try:
        yield sweep.send(name, ROUTES[name][0])
    finally:
        sweep.emulator.reset()


@pytest.mark.parametrize("name", list(ROUTES))
def test_a_route_answers_its_documented_errors_and_only_those(sweep: Sweep, name: str) -> None:
    # Given the route's malformed requests and faults (each answer checked by `invoke`
    # against the route's OpenAPI operation: no undocumented status or code)
    answers = [*malformed_requests(sweep, name), *faults(sweep, name)]
    answered = {answer.get("code") for status, answer in answers if status >= 400}
    # Then each error every route documents is answered by one of them, where it can be
    expected = {error.code for error in EVERY_ROUTE}
    if name in STORAGE_FREE:
        expected -= {"service_unavailable", "internal_error"}
    json_body, query, _ = ROUTES[name]
    if json_body is None:  # a GET: no body to refuse
        expected -= {"body_too_large", "unsupported_media_type"}
        if not query:  # nor a query string
            expected -= {"invalid_request"}
    assert expected - answered == set()
