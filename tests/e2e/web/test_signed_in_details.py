"""What the page says around the flows: who is signed in (by name, from GET /account), what a
payment is for (its description, on the code screen and the receipt), the buttons' words,
where the focus goes after a reset, and the local stack's outbox hint (once, for this phone)."""

from __future__ import annotations

import uuid

from playwright.sync_api import expect

from tests.e2e.web.conftest import DEMO_EMAIL, PASSWORD, Person
from tests.support.accounts import Account


def test_the_page_greets_the_signed_in_person_by_name_not_by_the_token_subject(
    person: Person,
) -> None:
    # When the demo account ("Demo User", id demo-user) signs in with its code
    person.sign_in_with_code()
    # Then the page greets it by the name GET /account answers, never by the token's sub
    greeting = person.page.get_by_text("You are signed in as")
    expect(greeting).to_have_text("You are signed in as Demo User.")
    expect(person.page.locator("#signed-in")).not_to_contain_text("demo-user")


def test_an_account_without_a_phone_is_greeted_by_name_too(person: Person) -> None:
    # When the account without a phone signs in (a token at once)
    person.sign_in("nophone@example.com")
    # Then it is greeted by its name
    expect(person.page.get_by_text("You are signed in as")).to_have_text(
        "You are signed in as No Phone."
    )


def test_the_payment_description_is_shown_before_the_code_and_on_the_receipt(
    person: Person, account: Account
) -> None:
    # Given a signed-in person paying 250.00 with a description
    person.sign_in_with_code(account.email, account.phone)
    note = f"Invoice {uuid.uuid4().hex[:6]}"
    person.pay("250.00", "Acme Supplies", note=note)
    # Then the code screen says what the payment is for
    person.screen("Enter your code")
    expect(person.page.locator("#payment-summary")).to_contain_text(note)
    # and so does the receipt once the code is typed
    person.type_code(account.phone)
    person.screen("Payment complete")
    expect(person.page.locator("#receipt")).to_contain_text(note)


def test_a_payment_without_a_description_shows_no_empty_description_row(
    person: Person, account: Account
) -> None:
    # Given a signed-in person paying a small amount with no description
    person.sign_in_with_code(account.email, account.phone)
    person.pay("3.50", "Corner Bakery")
    # Then the receipt has no Description row
    person.screen("Payment complete")
    expect(person.page.locator("#receipt").get_by_text("Description", exact=True)).to_be_hidden()
    expect(person.page.locator("#receipt")).to_contain_text("Corner Bakery")


def test_the_phone_button_says_what_it_does(person: Person, account: Account) -> None:
    # Given a signed-in person
    person.sign_in_with_code(account.email, account.phone)
    # Then the button to the phone screen reads as an action
    expect(person.button("Change phone number")).to_be_visible()
    expect(person.button("Phone number")).to_have_count(0)
    person.button("Change phone number").click()
    person.screen("Phone number")


def test_after_a_reset_the_focus_is_on_the_password_beside_the_filled_email(
    person: Person, account: Account
) -> None:
    # Given someone who reset their password on the page
    person.button("Forgot password?").click()
    person.field("Email").fill(account.email)
    person.button("Send code").click()
    person.screen("Enter your code")
    person.field("New password").fill("a brand new passphrase")
    person.type_code(account.phone)
    person.button("Reset password").click()
    # Then sign-in has their email filled in and the focus waits on the password
    person.screen("Sign in")
    expect(person.field("Email")).to_have_value(account.email)
    expect(person.field("Password")).to_be_focused()


def test_the_local_stack_hint_shows_once_on_a_code_screen(person: Person) -> None:
    # Given the sign-in screen of the local stack, which says where the codes are
    hints = person.page.get_by_text("Local stack:").filter(visible=True)
    expect(hints).to_have_count(1)
    # When the person reaches the code screen
    person.sign_in_to_code_screen()
    # Then the hint is there once: the link to the outbox, not the footer beside it
    expect(hints).to_have_count(1)
    expect(person.page.get_by_role("link", name="the SMS in the emulator's outbox")).to_be_visible()
    # and back on sign-in the footer says it again
    person.button("Use a different account").click()
    person.screen("Sign in")
    expect(hints).to_have_count(1)


def test_the_outbox_link_of_a_sign_in_lists_only_this_phones_messages(
    person: Person, account: Account
) -> None:
    # Given the outbox holds codes for another phone (the demo account's sign-in)
    api = person.stack.api_url
    other = person.page.request.post(
        f"{api}/login", data={"email": DEMO_EMAIL, "password": PASSWORD}
    )
    assert other.ok
    # When this account signs in, the page knowing only its masked number
    person.sign_in_to_code_screen_with(account.email, PASSWORD)
    # Then the code screen's outbox link lists this phone's messages only, the newest its code
    href = person.page.get_by_role("link", name="the SMS in the emulator's outbox").get_attribute(
        "href"
    )
    assert href is not None
    listed = person.page.request.get(href).json()["data"]
    assert listed and {m["phone_number"] for m in listed} == {account.phone}
    assert listed[0]["code"] == person.code(account.phone)
