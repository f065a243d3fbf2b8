"""The signed-in "Phone number" screen, end to end: an account without a phone adds one (its
password is all the step-up asks) and its next sign-in asks for a code; the demo account
confirms it is itself (the password, then a code to its current number), changes its number
and its next sign-in sends the code to the new one. Codes come from the emulator's outbox.
The demo accounts are put back as seeded afterwards, for the package's other tests."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from devtools.local_stack.stack import LocalStack
from tests.e2e.web.conftest import DEMO_EMAIL, DEMO_PHONE, PASSWORD, Person
from tests.support.accounts import Account, fresh_phone, restore_phone

NOPHONE_EMAIL = "nophone@example.com"


@pytest.fixture
def demo_accounts_restored(stack: LocalStack) -> Iterator[None]:
    yield
    restore_phone(stack, "demo-user", DEMO_PHONE)
    restore_phone(stack, "demo-no-phone", None)


def old_number_notices(stack: LocalStack) -> list[dict[str, Any]]:
    """The notices in the demo number's outbox, newest first, as the outbox page lists them
    (`/_emulator/messages?kind=notice`)."""
    assert stack.emulator is not None
    answer = httpx.get(
        f"{stack.emulator.base_url}/_emulator/messages",
        params={"phone_number": DEMO_PHONE, "kind": "notice"},
        timeout=10,
    )
    answer.raise_for_status()
    found: list[dict[str, Any]] = answer.json()["data"]
    assert all(m["kind"] == "notice" for m in found)
    return found


def change_phone(person: Person, phone: str, password: str = PASSWORD) -> None:
    """From the signed-in screen: the Phone number screen, the number and the password."""
    person.button("Change phone number").click()
    person.screen("Phone number")
    expect(person.field("New phone number")).to_be_focused()
    person.field("New phone number").fill(phone)
    person.field("Current password").fill(password)
    person.button("Send code").click()


def confirmed_it_is_you(person: Person, current_phone: str) -> None:
    """The step-up's code screen: the code sent to the current number, typed."""
    person.screen("Enter your code")
    hint = r"To confirm it is you, enter the code: we sent a code to \+1\*+" + current_phone[-4:]
    expect(person.page.get_by_text(re.compile(hint))).to_be_visible()
    person.type_code(current_phone)


def proven(person: Person, phone: str) -> None:
    """The code screen for `phone`; its code typed; back signed in, told where codes go."""
    person.screen("Enter your code")
    expect(
        person.page.get_by_text(re.compile(r"We sent a code to \+1\*+" + phone[-4:]))
    ).to_be_visible()
    person.type_code(phone)
    person.screen("Signed in")
    expect(person.status).to_contain_text("Sign-in codes go there from now on")


def test_an_account_without_a_phone_adds_one_and_its_next_sign_in_asks_for_a_code(
    person: Person, demo_accounts_restored: None
) -> None:
    # Given nophone@example.com, signed in with the password alone
    person.sign_in(NOPHONE_EMAIL)
    person.screen("Signed in")
    # When it adds a phone, proven with the code sent there
    phone = fresh_phone()
    change_phone(person, phone)
    proven(person, phone)
    # Then its next sign-in asks for the code sent to that phone
    person.button("Sign out").click()
    person.screen("Sign in")
    person.sign_in_with_code(NOPHONE_EMAIL, phone)


def test_the_demo_account_changes_its_number_and_the_next_code_goes_to_the_new_one(
    person: Person, stack: LocalStack, demo_accounts_restored: None
) -> None:
    # Given the demo account, signed in with a code to its number
    person.sign_in_with_code(DEMO_EMAIL, DEMO_PHONE)
    assert stack.emulator is not None
    sent_to_old = len(stack.emulator.messages(DEMO_PHONE, kind="code"))
    notices_before = len(old_number_notices(stack))
    # When it changes the number
    new_phone = fresh_phone()
    change_phone(person, new_phone)
    confirmed_it_is_you(person, DEMO_PHONE)
    proven(person, new_phone)
    # Then, once the outbox is swept (every second under `make run`), the old number's
    # outbox shows the notice, which holds no code
    stack.deliver_notices()
    notices = old_number_notices(stack)
    assert len(notices) == notices_before + 1
    assert "code" not in notices[0]
    assert "phone number" in notices[0]["text"].lower()
    # and the page kept a working session (the change ended every earlier token): it signs
    # out cleanly, and the next sign-in sends its code to the new number, none to the old one
    # beyond the step-up's
    person.button("Sign out").click()
    expect(person.status).to_contain_text("You have signed out")
    person.sign_in_with_code(DEMO_EMAIL, new_phone)
    assert len(stack.emulator.messages(DEMO_PHONE, kind="code")) == sent_to_old + 1


def test_a_wrong_password_is_reported_beside_its_field_and_sends_nothing(
    person: Person, account: Account, stack: LocalStack
) -> None:
    # Given a signed-in person on the Phone number screen
    person.sign_in_with_code(account.email, account.phone)
    phone = fresh_phone()
    # When the password is wrong
    change_phone(person, phone, "not the password")
    # Then the password field says so and has the focus; no code went out
    password = person.field("Current password")
    expect(password).to_have_attribute("aria-invalid", "true")
    expect(password).to_be_focused()
    expect(password).to_have_accessible_description(re.compile("Wrong password"))
    assert stack.emulator is not None
    assert stack.emulator.messages(phone, include_undelivered=True) == []
    # and a number that is not one is reported beside its own field
    person.field("New phone number").fill("12")
    person.field("Current password").fill(PASSWORD)
    person.button("Send code").click()
    expect(person.field("New phone number")).to_have_attribute("aria-invalid", "true")
    person.screen("Phone number")


def test_a_number_of_another_account_is_refused_after_its_code(
    person: Person, account: Account, stack: LocalStack
) -> None:
    # Given a signed-in person who proves a number another account holds
    person.sign_in_with_code(account.email, account.phone)
    change_phone(person, DEMO_PHONE)
    confirmed_it_is_you(person, account.phone)
    expect(person.page.get_by_text(re.compile(r"^We sent a code to"))).to_be_visible()
    person.type_code(DEMO_PHONE)
    # Then they are back on the Phone number screen, told it belongs to another account
    person.screen("Phone number")
    expect(person.status).to_contain_text("belongs to another account")
