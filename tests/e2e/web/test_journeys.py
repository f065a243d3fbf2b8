"""Each journey through the web page, end to end, with the codes the emulator delivered."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import expect

from devtools.local_stack.stack import LocalStack
from tests.e2e.web.conftest import PASSWORD, Person, wrong
from tests.support.accounts import Account, fresh_phone
from tests.support.payments import bearer


def test_a_new_person_signs_up_with_both_codes_and_is_signed_in(person: Person) -> None:
    # Given someone new on the sign-in screen
    email, phone = f"web-{uuid.uuid4().hex[:10]}@example.com", fresh_phone()
    # When they fill in the sign-up form and send it
    person.sign_up("Ada Lovelace", email, phone, "analytical engine notes")
    # Then the code screen asks for two codes, each saying where it went (masked)
    person.screen("Enter your code")
    sms, by_email = person.field("SMS code"), person.field("Email code")
    expect(sms).to_be_focused()
    expect(sms).to_have_accessible_description(re.compile(r"^Code sent by SMS to \+1\*+\d{4}\."))
    expect(by_email).to_have_accessible_description(
        re.compile(r"^Code sent by email to w\*+@\*+\.com\.")
    )
    # and its resend says it resends the SMS only
    expect(person.page.locator("#resend")).to_have_text(re.compile(r"^Resend SMS code"))
    # When they type the code from the SMS and the one from the email
    with person.page.expect_request(re.compile(r"/register/verify$")) as sent:
        person.type_sign_up_codes(phone, person.email_code(email))
    # Then one request carried both, and they are signed in (the email is proven: no prompt)
    assert sorted(sent.value.post_data_json) == ["code", "email_code", "flow_id"]
    person.screen("Signed in")
    # And the new account signs in again with its password and a code to the same phone
    person.button("Sign out").click()
    person.screen("Sign in")
    person.sign_in_with_code(email, phone, "analytical engine notes")


def test_a_taken_email_fails_as_a_wrong_email_code_does_and_its_owner_is_told(
    person: Person, account: Account
) -> None:
    assert person.stack.emulator is not None
    # Given someone signs up with a fresh email and types a wrong email code
    email, phone = f"web-{uuid.uuid4().hex[:10]}@example.com", fresh_phone()
    person.sign_up("Ada Lovelace", email, phone, "analytical engine notes")
    person.screen("Enter your code")
    person.type_sign_up_codes(phone, wrong(person.email_code(email)))
    wrong_code_says = person.page.locator("#code-error")
    expect(wrong_code_says).to_have_text(re.compile(r"^One of the codes is wrong\."))
    seen_for_wrong_code = wrong_code_says.inner_text()
    # When someone else signs up with the email of an existing account, the right SMS code
    # and a code they can only guess (no code was emailed to them)
    person.button("Cancel sign-up").click()
    person.button("I have an account: sign in").click()
    phone = fresh_phone()
    person.sign_up("Someone Else", account.email, phone, "analytical engine notes")
    person.screen("Enter your code")
    expect(person.field("Email code")).to_have_accessible_description(
        re.compile(r"^Code sent by email to w\*+@\*+\.com\.")
    )
    person.type_sign_up_codes(phone, "123456")
    # Then the page says exactly what it says for a wrong email code: nothing about the email
    expect(wrong_code_says).to_have_text(seen_for_wrong_code)
    expect(person.field("SMS code")).to_have_attribute("aria-invalid", "true")
    expect(person.field("Email code")).to_have_attribute("aria-invalid", "true")
    person.screen("Enter your code")
    # And the account's owner got the "someone tried" notice, with no code in it
    (notice, *_) = person.stack.emulator.emails(account.email)
    assert "someone tried" in notice["subject"] and notice["code"] is None


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
