"""Logout, tried as someone holding a stolen token would: after the owner logs out, the token
opens nothing, not even /logout; a logout of every session also ends the copies the attacker
kept, and only that account's. Every test signs in accounts of its own (seeded without a
phone, so /login answers a token at once): ending every token of a shared demo account would
break the session's other attack tests."""

from __future__ import annotations

import uuid

import boto3
import httpx
import pytest

from devtools.local_stack.stack import LocalStack
from phoneverify.adapters.dynamo.users import DynamoUserRepository
from phoneverify.domain.models import User
from phoneverify.domain.passwords import PasswordHasher
from tests.security.conftest import Target
from tests.support.payments import bearer

PASSWORD = "a passphrase for the logout tests only"
# One cent: far below the threshold, so a few payments without a code stay allowed.
PAYMENT = {"amount": "0.01", "currency": "USD", "recipient": "acct-logout"}


def fresh_account(stack: LocalStack) -> str:
    """The email of a new account without a phone, written into the stack's UsersTable."""
    client = boto3.client(
        "dynamodb", endpoint_url=stack.aws_env["AWS_ENDPOINT_URL_DYNAMODB"], region_name="us-east-1"
    )
    user_id = f"logout-{uuid.uuid4().hex[:10]}"
    email = f"{user_id}@example.com"
    users = DynamoUserRepository(client, "UsersTable")
    users.put_user(User(user_id, email, PasswordHasher(cost=4).hash(PASSWORD), None, "Logout"))
    return email


def sign_in(target: Target, email: str) -> str:
    response = target.api.post("/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    token: str = response.json()["token"]
    return token


def pay(target: Target, token: str) -> httpx.Response:
    return target.api.post("/payments/initiate", json=PAYMENT, headers=bearer(token))


def log_out(target: Target, token: str, body: object | None = None) -> httpx.Response:
    return target.api.post("/logout", json={} if body is None else body, headers=bearer(token))


def test_after_logout_the_stolen_token_opens_nothing(target: Target) -> None:
    # Given the attacker copied a token that works
    token = sign_in(target, fresh_account(target.stack))
    assert pay(target, token).status_code == 200
    # When its owner logs out
    response = log_out(target, token)
    assert response.status_code == 200, response.text
    assert response.json() == {"logged_out": True}
    # Then the copy is refused on the payment routes and on /logout itself
    assert pay(target, token).status_code == 401
    again = log_out(target, token)
    assert again.status_code == 401
    assert again.json() == {"error": "Unauthorized", "code": "unauthorized"}


def test_logout_of_one_session_leaves_the_others(target: Target) -> None:
    email = fresh_account(target.stack)
    laptop, phone = sign_in(target, email), sign_in(target, email)
    assert log_out(target, laptop).status_code == 200
    assert pay(target, laptop).status_code == 401
    assert pay(target, phone).status_code == 200


def test_logout_everywhere_ends_the_attackers_copy_but_not_another_account(
    target: Target,
) -> None:
    # Given the owner's session, the attacker's copy of another token of the same account,
    # and someone else's session
    owner_email = fresh_account(target.stack)
    owner, stolen = sign_in(target, owner_email), sign_in(target, owner_email)
    bystander = sign_in(target, fresh_account(target.stack))
    # When the owner logs out everywhere
    response = log_out(target, owner, {"all": True})
    assert (response.status_code, response.json()) == (200, {"logged_out": True})
    # Then both tokens of the account are dead, the bystander's is not
    assert pay(target, owner).status_code == 401
    assert pay(target, stolen).status_code == 401
    assert log_out(target, stolen, {"all": True}).status_code == 401
    assert pay(target, bystander).status_code == 200
    # and the owner signs in again with a token that works
    assert pay(target, sign_in(target, owner_email)).status_code == 200


def test_the_attacker_cannot_cancel_the_owners_payment_with_an_ended_token(
    target: Target,
) -> None:
    token = sign_in(target, fresh_account(target.stack))
    assert log_out(target, token, {"all": True}).status_code == 200
    response = target.api.post(
        "/verify/cancel", json={"payment_id": "pay_" + "0" * 32}, headers=bearer(token)
    )
    assert response.status_code == 401


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"all": "true"}, "all"),
        ({"all": 1}, "all"),
        ({"all": None}, "all"),
        ({"all": [True]}, "all"),
        ({"all": True, "user_id": "demo-user"}, "user_id"),
        ({"everyone": True}, "everyone"),
    ],
)
def test_bad_logout_bodies_are_400_naming_the_field_and_end_nothing(
    target: Target, body: dict[str, object], field: str
) -> None:
    token = sign_in(target, fresh_account(target.stack))
    response = log_out(target, token, body)
    assert response.status_code == 400, response.text
    assert response.json()["field"] == field and field in response.json()["error"]
    assert pay(target, token).status_code == 200


@pytest.mark.parametrize("raw", ["[]", "true", "{not json"])
def test_a_logout_body_that_is_not_an_object_is_400(target: Target, raw: str) -> None:
    token = sign_in(target, fresh_account(target.stack))
    response = target.api.post(
        "/logout",
        content=raw,
        headers={**bearer(token), "Content-Type": "application/json"},
    )
    assert response.status_code == 400, response.text
    assert pay(target, token).status_code == 200


def test_a_login_pending_across_a_logout_everywhere_issues_no_token(target: Target) -> None:
    # Given an account with a phone, and an attacker who knows its password and has started
    # a login whose code is on its way
    phone = f"+1206555{uuid.uuid4().int % 10_000:04d}"
    email = fresh_account(target.stack).replace("@", "-phone@")
    client = boto3.client(
        "dynamodb",
        endpoint_url=target.stack.aws_env["AWS_ENDPOINT_URL_DYNAMODB"],
        region_name="us-east-1",
    )
    DynamoUserRepository(client, "UsersTable").put_user(
        User(f"logout-{uuid.uuid4().hex[:10]}", email, PasswordHasher(cost=4).hash(PASSWORD), phone)
    )
    started = target.api.post("/login", json={"email": email, "password": PASSWORD})
    assert started.status_code == 200, started.text
    pending_code = target.code_for(phone)
    # When the owner signs in and logs out of every session before that code is used
    owner = target.api.post("/login", json={"email": email, "password": PASSWORD}).json()
    token = target.api.post(
        "/login/verify", json={"flow_id": owner["flow_id"], "code": target.code_for(phone)}
    ).json()["token"]
    assert log_out(target, token, {"all": True}).status_code == 200
    # Then the pending login's right code is refused and issues no token: start again
    verified = target.api.post(
        "/login/verify", json={"flow_id": started.json()["flow_id"], "code": pending_code}
    )
    assert verified.status_code == 400, verified.text
    assert verified.json() == {
        "error": "Every session of this account was ended since this code was sent. "
        "Start login again.",
        "code": "no_pending_verification",
    }
