"""The reset screen's "I no longer have this phone", end to end in the browser
(docs/phone-lifecycle.md#a-lost-phone): the email's code (from the emulator's email outbox),
the new number's code, the waiting screen that refuses to finish early, and once the wait is
over (the swap's time moved in DynamoDB, not the wall clock) the new password; and the owner,
signed in, seeing the change waiting and cancelling it."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
from playwright.sync_api import expect

from devtools.local_stack.stack import LocalStack
from tests.e2e.web.conftest import PASSWORD, Person
from tests.support.accounts import Account, fresh_phone
from tests.support.stacks import dynamodb_of

NEW_PASSWORD = "a brand new passphrase for the web"


def email_code(stack: LocalStack, to: str) -> str:
    assert stack.emulator is not None
    found: list[dict[str, Any]] = httpx.get(
        f"{stack.emulator.base_url}/_emulator/emails", params={"to": to}, timeout=10
    ).json()["data"]
    assert found and found[0]["code"], f"no email with a code to {to}"
    return str(found[0]["code"])


def wait_over(stack: LocalStack, account: Account) -> None:
    """The swap's wait is over: its binds_at moved to the past on the account."""
    dynamodb_of(stack.aws_env).update_item(
        TableName="UsersTable",
        Key={"pk": {"S": f"USER#{account.user_id}"}},
        UpdateExpression="SET swap_binds_at = :t",
        ExpressionAttributeValues={":t": {"N": str(int(time.time()) - 1)}},
    )


def swap_waiting(person: Person, account: Account, new_phone: str) -> None:
    person.button("Forgot password?").click()
    person.screen("Reset your password")
    person.button("I no longer have this phone").click()
    person.screen("I no longer have this phone")
    person.field("Email").fill(account.email)
    person.field("New phone number").fill(new_phone)
    person.button("Send code to my email").click()
    person.screen("Enter your code")
    expect(
        person.page.get_by_text(re.compile(r"We emailed a code to w\*\*\*@\*\*\*\.com"))
    ).to_be_visible()
    person.field("Code").fill(email_code(person.stack, account.email))
    person.button("Verify").click()
    hint = re.compile(r"We texted a code to your new number \+1\*+" + new_phone[-4:])
    expect(person.page.get_by_text(hint)).to_be_visible()
    person.field("Code").fill(person.code(new_phone))
    person.button("Verify").click()
    person.screen("Your new number is waiting")


def test_the_new_number_binds_after_the_wait_with_a_new_password(
    person: Person, stack: LocalStack, account: Account
) -> None:
    new_phone = fresh_phone()
    swap_waiting(person, account, new_phone)
    # Finishing early is refused, with when it may be done
    person.field("New password").fill(NEW_PASSWORD)
    person.button("Finish").click()
    expect(person.status).to_contain_text("Not yet")
    # Once the wait is over, it finishes: the new password and the new number
    wait_over(stack, account)
    person.button("Finish").click()
    person.screen("Sign in")
    expect(person.status).to_contain_text("Your phone number and password were changed")
    person.sign_in_with_code(account.email, new_phone, NEW_PASSWORD)


def test_the_owner_signed_in_sees_the_change_waiting_and_cancels_it(
    person: Person, stack: LocalStack, account: Account
) -> None:
    swap_waiting(person, account, fresh_phone())
    person.button("Back to sign in").click()
    person.sign_in_with_code(account.email, account.phone, PASSWORD)
    expect(person.page.get_by_text(re.compile("is waiting to replace yours"))).to_be_visible()
    person.button("Cancel the phone number change").click()
    expect(person.status).to_contain_text("cancelled")
    expect(person.button("Cancel the phone number change")).to_be_hidden()
