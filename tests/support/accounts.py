"""Fresh accounts for tests over the local stack, written straight into its UsersTable, so a
test that changes an account's state (a lock, the count of payments made without a code)
leaves the demo accounts, and the session's other tests, as they were."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import boto3

from devtools.local_stack import LocalStack
from phoneverify.adapters.dynamodb import DynamoUserRepository
from phoneverify.models import User
from phoneverify.passwords import PasswordHasher


@dataclass
class Account:
    user_id: str
    email: str
    phone: str


def seed_account(stack: LocalStack, prefix: str, phone: str, password: str) -> Account:
    """An account with a proven phone, `<prefix>-<random>` as its id and email local part."""
    client = boto3.client(
        "dynamodb",
        endpoint_url=stack.aws_env["AWS_ENDPOINT_URL_DYNAMODB"],
        region_name="us-east-1",
    )
    suffix = uuid.uuid4().hex[:10]
    account = Account(f"{prefix}-{suffix}", f"{prefix}-{suffix}@example.com", phone)
    user = User(
        account.user_id,
        account.email,
        PasswordHasher(cost=4).hash(password),  # the stored hash names its cost
        account.phone,
        prefix.title(),
    )
    DynamoUserRepository(client, "UsersTable").put_user(user, phone_verified_at=0)
    return account
