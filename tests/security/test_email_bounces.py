"""An address that bounces, or whose owner marks us as spam, attacked through the local stack
(docs/email.md#bounces-and-complaints): HTTP through the local gateway, DynamoDB Local, the
emails in the Telnyx emulator's outbox, and SES's mailbox simulator played by the stack
(devtools/local_stack/ses_events.py), which hands SesEventsFunction the SNS event SES would.

The attack: whoever can make the service email an address (a sign-up, a lost-phone start)
points it at one that bounces or complains, again and again; each email costs the sender's
SES reputation, and SES pauses an account whose bounce or complaint rate climbs. After the
first report the address is suppressed for good: every later email to it is refused in the
email limits' transaction (400 `email_undeliverable`), before SES is asked."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from devtools.aws_resources import load_template
from devtools.local_stack.config import LOCAL_SEND_LIMITS
from phoneverify.adapters.dynamo.email_limits import DynamoEmailLimits
from phoneverify.adapters.dynamo.users import DynamoUserRepository
from phoneverify.domain.clock import SystemClock
from phoneverify.domain.email_limits import EmailCaps, address_key, suppression_key
from phoneverify.domain.errors import EmailUndeliverable
from phoneverify.domain.models import RequestOrigin, User
from phoneverify.domain.passwords import PasswordHasher
from tests.security.conftest import PASSWORD, Target
from tests.security.test_lost_phone import emails
from tests.support.accounts import fresh_phone
from tests.support.stacks import dynamodb_of

PEPPER_PARAM = str(load_template()["Parameters"]["HashPepperParameterName"]["Default"])
ORIGIN = RequestOrigin("127.0.0.1", "pytest")


def account_at(target: Target, email: str) -> None:
    """An account whose proven email is `email` (the lost phone emails only a proven one)."""
    user_id = f"mailbox-{uuid.uuid4().hex[:10]}"
    client = dynamodb_of(target.stack.aws_env)
    user = User(user_id, email, PasswordHasher(cost=4).hash(PASSWORD), fresh_phone(), "Mailbox")
    DynamoUserRepository(client, "UsersTable").put_user(user, phone_verified_at=0)
    client.update_item(
        TableName="UsersTable",
        Key={"pk": {"S": f"USER#{user_id}"}},
        UpdateExpression="SET email_proven_at = :t",
        ExpressionAttributeValues={":t": {"N": "1"}},
    )


def email_to(target: Target, email: str) -> None:
    """Make the service email `email`: a lost-phone start for its account."""
    started = target.api.post(
        "/password/reset/lost-phone/start", json={"email": email, "new_phone": fresh_phone()}
    )
    assert started.status_code == 200, started.text
    assert len(emails(target, email)) >= 1


def key_of(target: Target, email: str) -> str:
    return address_key(target.ssm_value(PEPPER_PARAM).encode(), email)


def suppression(target: Target, email: str) -> dict[str, Any] | None:
    item: dict[str, Any] | None = (
        dynamodb_of(target.stack.aws_env)
        .get_item(
            TableName="RateLimitsTable", Key={"pk": {"S": suppression_key(key_of(target, email))}}
        )
        .get("Item")
    )
    return item


def limits(target: Target) -> DynamoEmailLimits:
    """The email limits as the stack's functions count them (its raised caps: the session's
    other tests email from 127.0.0.1 too)."""
    client = dynamodb_of(target.stack.aws_env)
    caps = EmailCaps(
        per_address=int(LOCAL_SEND_LIMITS["MAX_EMAILS_PER_ADDRESS"]),
        per_ip=int(LOCAL_SEND_LIMITS["MAX_EMAILS_PER_IP"]),
        budget=int(LOCAL_SEND_LIMITS["EMAIL_BUDGET"]),
    )
    return DynamoEmailLimits(client, "RateLimitsTable", caps, SystemClock())


@pytest.mark.parametrize(
    ("simulator", "reason"), [("bounce", "bounce"), ("complaint", "complaint")]
)
def test_an_address_that_bounced_or_complained_is_never_emailed_again(
    target: Target, simulator: str, reason: str
) -> None:
    # Given an account whose email is SES's mailbox simulator (a label of its own per test)
    email = f"{simulator}+{uuid.uuid4().hex[:8]}@simulator.amazonses.com"
    account_at(target, email)
    assert suppression(target, email) is None
    # When the service emails it, and SES reports it (the stack hands the function its event)
    email_to(target, email)
    outcomes = target.stack.ses_events_handled()
    assert {"outcomes": {"suppressed": 1}} in outcomes
    # Then the address is suppressed for good, under its keyed digest alone
    item = suppression(target, email)
    assert item is not None and item["reason"] == {"S": reason} and "ttl" not in item
    # and the next email to it is refused before SES is asked, exactly as in AWS
    with pytest.raises(EmailUndeliverable):
        limits(target).admit_email(key_of(target, email), ORIGIN)


def test_an_address_that_took_the_email_is_not_suppressed(target: Target) -> None:
    # The simulator's success address: no event, nothing suppressed, emails still admitted
    email = f"success+{uuid.uuid4().hex[:8]}@simulator.amazonses.com"
    account_at(target, email)
    email_to(target, email)
    target.stack.ses_events_handled()
    assert suppression(target, email) is None
    limits(target).admit_email(key_of(target, email), ORIGIN)
