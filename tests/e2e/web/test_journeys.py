"""Each journey through the web page, end to end, with the codes the emulator delivered."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import expect

from devtools.local_stack.stack import LocalStack
from tests.e2e.web.conftest import PASSWORD, Person
from tests.support.accounts import Account, fresh_phone
from tests.support.payments import bearer


def test_a_new_person_signs_up_with_the_code_and_is_signed_in(person: Person) -> None:
    # Given someone new on the sign-in screen
    email, phone = f"web-{uuid.uuid4().hex[:10]}@example.com", fresh_phone()
    person.button("Create an account").click()
    person.screen("Create an account")
    # When they fill in the sign-up form
    person.field("Name").fill("Ada Lovelace")
    person.field("Email").fill(email)
    person.field("Phone number").fill(phone)
    person.field("Password").fill("analytical engine notes")
    person.button("Create account").click()
    # Then the code screen asks for the code sent to their phone, and typing it signs them in
    person.screen("Enter your code")
    expect(person.code_input).to_be_focused()
    person.type_code(phone)
    person.screen("Signed in")
    # And the new account signs in again with its password and a code to the same phone
    person.button("Sign out").click()
    person.screen("Sign in")
    person.sign_in_with_code(email, phone, "analytical engine notes")


def test_a_taken_email_is_told_only_after_the_phone_is_proven(
    person: Person, account: Account
) -> None:
    # Given someone signs up with an email that already has an account
    phone = fresh_phone()
    person.button("Create an account").click()
    person.field("Name").fill("Someone Else")
    person.field("Email").fill(account.email)
    person.field("Phone number").fill(phone)
    person.field("Password").fill("analytical engine notes")
    person.button("Create account").click()
    # Then nothing is said before the code, which goes to their phone as for anyone
    person.screen("Enter your code")
    # When they prove the phone
    person.type_code(phone)
    # Then the page says the email is taken, and they are back on the sign-in screen
    person.screen("Sign in")
    expect(person.status).to_contain_text(re.compile("email", re.IGNORECASE))


def test_a_bad_phone_number_is_reported_beside_its_field(person: Person) -> None:
    # Given the sign-up form with a phone number that is not in international format
    person.button("Create an account").click()
    person.field("Name").fill("Ada Lovelace")
    person.field("Email").fill(f"web-{uuid.uuid4().hex[:10]}@example.com")
    person.field("Phone number").fill("12")
    person.field("Password").fill("analytical engine notes")
    # When they submit it
    person.button("Create account").click()
    # Then the phone field is marked invalid, says why, and has the focus; no code was sent
    phone_field = person.field("Phone number")
    expect(phone_field).to_have_attribute("aria-invalid", "true")
    expect(phone_field).to_be_focused()
    expect(phone_field).to_have_accessible_description(re.compile(r"\S"))
    person.screen("Create an account")


def test_a_payment_of_250_shows_amount_and_recipient_before_the_code(
    person: Person, account: Account
) -> None:
    # Given a signed-in person
    person.sign_in_with_code(account.email, account.phone)
    recipient = f"Acme Supplies {uuid.uuid4().hex[:6]}"
    # When they pay 250.00 USD
    person.pay("250.00", recipient, note="Invoice 42")
    # Then, before any code is typed, the code screen shows what the code will authorise
    person.screen("Enter your code")
    summary = person.page.locator("#payment-summary")
    expect(summary).to_contain_text("250.00")
    expect(summary).to_contain_text("USD")
    expect(summary).to_contain_text(recipient)
    expect(person.code_input).to_have_value("")
    # When they type the code from the SMS
    person.type_code(account.phone)
    # Then the receipt shows the payment and its transaction id
    person.screen("Payment complete")
    receipt = person.page.locator("#receipt")
    expect(receipt).to_contain_text("250.00")
    expect(receipt).to_contain_text(recipient)
    expect(person.page.locator("#receipt-transaction")).to_have_text(re.compile(r"\S+"))


def test_a_payment_below_the_threshold_gets_its_receipt_at_once(
    person: Person, account: Account
) -> None:
    # Given a signed-in person whose account has paid nothing without a code
    person.sign_in_with_code(account.email, account.phone)
    sent_before = len(person.stack.emulator.messages(account.phone))  # type: ignore[union-attr]
    # When they pay 12.50 EUR
    person.pay("12.50", "Corner Bakery", currency="EUR")
    # Then the receipt comes without a code screen, and no SMS was sent
    person.screen("Payment complete")
    expect(person.page.locator("#receipt")).to_contain_text("12.50")
    expect(person.page.locator("#receipt")).to_contain_text("EUR")
    expect(person.page.locator("#receipt-transaction")).to_have_text(re.compile(r"\S+"))
    assert len(person.stack.emulator.messages(account.phone)) == sent_before  # type: ignore[union-attr]
    # And Done leads back to a fresh payment form
    person.button("Done").click()
    person.screen("Signed in")
    expect(person.field("Amount")).to_have_value("")


def test_a_forgotten_password_is_reset_with_the_code(person: Person, account: Account) -> None:
    # Given someone who forgot their password
    person.button("Forgot password?").click()
    person.screen("Reset your password")
    # When they ask for a code for their email
    person.field("Email").fill(account.email)
    person.button("Send code").click()
    # Then the code screen also asks for the new password
    person.screen("Enter your code")
    new_password = "a brand new passphrase"
    # When they type the code and the new password
    person.type_code(account.phone)
    expect(person.page.get_by_role("heading", name="Enter your code")).to_be_visible()
    person.field("New password").fill(new_password)
    person.button("Reset password").click()
    # Then they are back on sign-in, and the new password (with a code) signs them in
    person.screen("Sign in")
    expect(person.status).to_have_text(
        "Your password has been reset. Sign in with the new password."
    )
    person.sign_in(account.email, PASSWORD)
    expect(person.status).to_have_text("Invalid credentials")
    person.sign_in_to_code_screen_with(account.email, new_password)
    person.type_code(account.phone)
    person.screen("Signed in")


def test_sign_out_ends_the_token_on_the_server(person: Person, stack: LocalStack) -> None:
    # Given a signed-in person whose token the page holds
    with person.page.expect_response(re.compile(r"/login/verify$")) as answer:
        person.sign_in_to_code_screen()
        person.type_code()
    token = answer.value.json()["token"]
    person.screen("Signed in")
    # When they sign out
    with person.page.expect_request(re.compile(r"/logout$")):
        person.button("Sign out").click()
    # Then they are on the sign-in screen, and the token no longer pays
    person.screen("Sign in")
    expect(person.status).to_have_text("You have signed out.")
    refused = person.page.request.post(
        f"{stack.api_url}/payments/initiate",
        data={"amount": "1.00", "currency": "USD", "recipient": "Nobody"},
        headers=bearer(token),
    )
    assert refused.status == 401
