"""The account's email in the browser (docs/web.md): an account made before sign-up proved
emails is asked to prove its email after signing in (or later), and a signed-in person changes
the email after the step-up, with the codes from the emulator's outboxes."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import expect

from tests.e2e.web.conftest import PASSWORD, Person, wrong
from tests.support import accounts
from tests.support.accounts import Account


def unproven(person: Person) -> Account:
    return accounts.seed_account(person.stack, "web", PASSWORD, email_proven=False)


def test_an_unproven_email_is_asked_for_after_sign_in_and_proven_with_its_code(
    person: Person,
) -> None:
    # Given an account whose email was never proven
    account = unproven(person)
    # When its owner signs in with the SMS code
    with person.page.expect_response(re.compile(r"/account$")) as asked:
        person.sign_in_to_code_screen_with(account.email, PASSWORD)
        person.type_code(account.phone)
    # Then the page asked GET /account and offers to prove the address before going on
    assert asked.value.json()["email_proven"] is False
    person.screen("Prove your email")
    expect(person.page.locator("#email-prove")).to_contain_text(account.email)
    # When they ask for a code
    person.button("Send me a code").click()
    # Then the code screen says where it went (masked), and a wrong code is told with what is left
    person.screen("Enter your code")
    code = person.field("Code")
    expect(code).to_be_focused()
    expect(code).to_have_accessible_description(re.compile(r"^We sent a code by email to w\*+@"))
    code.press_sequentially(wrong(person.email_code(account.email)))
    expect(code).to_have_attribute("aria-invalid", "true")
    expect(code).to_have_accessible_description(re.compile("Invalid code. 4 attempts remaining."))
    # When they type the right one
    code.press_sequentially(person.email_code(account.email))
    # Then they are signed in, told the address is proven
    person.screen("Signed in")
    expect(person.status).to_have_text(f"Your email {account.email} is proven.")
    # And the next sign-in asks no more
    person.button("Sign out").click()
    person.sign_in_with_code(account.email, account.phone)


def test_later_goes_on_to_the_signed_in_screen(person: Person) -> None:
    # Given the prompt after signing in to an account with an unproven email
    account = unproven(person)
    person.sign_in_to_code_screen_with(account.email, PASSWORD)
    person.type_code(account.phone)
    person.screen("Prove your email")
    sent_before = len(person.stack.emulator.emails(account.email))  # type: ignore[union-attr]
    # When they choose Later
    person.button("Later").click()
    # Then they are signed in and nothing was emailed
    person.screen("Signed in")
    expect(person.button("Change email")).to_be_visible()
    assert len(person.stack.emulator.emails(account.email)) == sent_before  # type: ignore[union-attr]


def test_the_email_changes_after_the_step_up_and_both_addresses_are_told(
    person: Person, account: Account
) -> None:
    assert person.stack.emulator is not None
    new = f"web-new-{uuid.uuid4().hex[:10]}@example.com"
    # Given a signed-in person on "Change email"
    person.sign_in_with_code(account.email, account.phone)
    person.button("Change email").click()
    person.screen("Change email")
    # When they give a new address and their password
    person.field("New email").fill(new)
    person.field("Current password").fill(PASSWORD)
    with person.page.expect_request(re.compile(r"/account/reauth/start$")):
        person.button("Send code").click()
    # Then they confirm it is them with a code to their phone, as for the phone change
    person.screen("Enter your code")
    expect(person.page.get_by_text(re.compile("^To confirm it is you"))).to_be_visible()
    with person.page.expect_request(re.compile(r"/account/email/start$")) as started:
        person.type_code(account.phone)
    assert started.value.headers.get("reauth-token")
    # and then the code emailed to the new address proves it
    code = person.field("Code")
    expect(code).to_have_accessible_description(re.compile(r"^We sent a code by email to w\*+@"))
    code.press_sequentially(person.email_code(new))
    person.screen("Signed in")
    expect(person.status).to_have_text(f"Your email is now {new}.")
    # And the new address was told it is the account's, the old one that it changed
    assert "is now your account's email" in person.stack.emulator.emails(new)[0]["subject"]
    assert "email was changed" in person.stack.emulator.emails(account.email)[0]["subject"]
    # And the account signs in with the new address from now on
    person.button("Sign out").click()
    person.sign_in(account.email, PASSWORD)
    expect(person.status).to_have_text("Invalid credentials")
    person.sign_in_with_code(new, account.phone)


def test_a_bad_address_and_a_wrong_password_are_shown_beside_their_fields(
    person: Person, account: Account
) -> None:
    person.sign_in_with_code(account.email, account.phone)
    person.button("Change email").click()
    # When the address is not one: told beside it, before anything is sent
    person.field("New email").fill("not an address")
    person.field("Current password").fill(PASSWORD)
    person.button("Send code").click()
    email = person.field("New email")
    expect(email).to_have_attribute("aria-invalid", "true")
    expect(email).to_be_focused()
    # When the password is wrong: told beside it (the server's 401 naming it)
    email.fill(f"web-new-{uuid.uuid4().hex[:10]}@example.com")
    person.field("Current password").fill("not the password")
    person.button("Send code").click()
    password = person.field("Current password")
    expect(password).to_have_attribute("aria-invalid", "true")
    expect(password).to_be_focused()
    expect(email).not_to_have_attribute("aria-invalid", "true")
    person.screen("Change email")


def test_the_account_s_own_address_is_refused_beside_the_field(
    person: Person, account: Account
) -> None:
    # Given a signed-in person who types the address the account already has
    person.sign_in_with_code(account.email, account.phone)
    person.button("Change email").click()
    person.field("New email").fill(account.email)
    person.field("Current password").fill(PASSWORD)
    person.button("Send code").click()
    # When they confirm it is them
    person.screen("Enter your code")
    person.type_code(account.phone)
    # Then they are back on the form, the server's reason beside the address
    person.screen("Change email")
    expect(person.field("New email")).to_have_accessible_description(
        re.compile("already your account's email")
    )
