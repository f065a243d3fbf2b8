"""Fresh accounts for tests over the local stack, written straight into its UsersTable, so a
test that changes an account's state (a lock, a throttle, the count of payments made without a
code, its tokens) leaves the demo accounts, and the session's other tests, as they were."""

from __future__ import annotations

import itertools
import time
import uuid
from dataclasses import dataclass

from devtools.local_stack.stack import LocalStack
from phoneverify.adapters.dynamo.users import DynamoUserRepository
from phoneverify.domain.models import User
from phoneverify.domain.passwords import PasswordHasher
from tests.support.stacks import dynamodb_of

_numbers = itertools.count(100)  # +1 312 555 0100 and up: no other test uses them


@dataclass
class Account:
    user_id: str
    email: str
    phone: str  # "" for an account without a phone


def fresh_phone() -> str:
    """A number no other account of the test session holds."""
    return f"+1312555{next(_numbers):04d}"


def seed_account(
    stack: LocalStack,
    prefix: str,
    password: str,
    *,
    with_phone: bool = True,
    bcrypt_cost: int = 4,
    email_proven: bool = True,
) -> Account:
    """An account (with a proven phone of its own, unless `with_phone` is False, and a proven
    email, unless `email_proven` is False: as if made before sign-up proved emails),
    `<prefix>-<random>` as its id and email local part. Its hash costs little to check, unless
    a timing test asks for the production cost (12)."""
    client = dynamodb_of(stack.aws_env)
    suffix = uuid.uuid4().hex[:10]
    phone = fresh_phone() if with_phone else ""
    account = Account(f"{prefix}-{suffix}", f"{prefix}-{suffix}@example.com", phone)
    user = User(
        account.user_id,
        account.email,
        PasswordHasher(cost=bcrypt_cost).hash(password),  # the stored hash names its cost
        phone or None,
        prefix.title(),
        email_proven_at=0 if email_proven else None,
    )
    DynamoUserRepository(client, "UsersTable").put_user(user, phone_verified_at=0)
    return account


def restore_phone(stack: LocalStack, user_id: str, phone: str | None) -> None:
    """Put an account (a demo account a test changed) back on `phone` (None: no phone), so
    the session's other tests meet it as seeded."""
    client = dynamodb_of(stack.aws_env)
    users = DynamoUserRepository(client, "UsersTable")
    user = users.get(user_id)
    if user is None or user.phone_number == phone:
        return
    if phone is not None:
        users.change_phone(user_id, user.phone_number, phone, user.phone_generation, time.time())
        return
    if user.phone_number:
        client.delete_item(TableName="UsersTable", Key={"pk": {"S": f"PHONE#{user.phone_number}"}})
    client.update_item(
        TableName="UsersTable",
        Key={"pk": {"S": f"USER#{user_id}"}},
        UpdateExpression=(
            "REMOVE phone_number, phone_verified, phone_verified_at ADD phone_gen :one"
        ),
        ExpressionAttributeValues={":one": {"N": "1"}},
    )
