"""Signing in on the web page: the code screen as the login flow uses it."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from tests.e2e.web.conftest import DEMO_PHONE, Person, wrong


def test_demo_user_signs_in_by_typing_the_sms_code(person: Person) -> None:
    # Given the demo account with a phone signs in
    person.sign_in_to_code_screen()
    code_input = person.code_input
    # Then the code screen offers one numeric, one-time-code input and the countdowns
    expect(person.page.get_by_text("We sent a code to +1******0123")).to_be_visible()
    expect(code_input).to_have_attribute("inputmode", "numeric")
    expect(code_input).to_have_attribute("pattern", "[0-9]*")
    expect(code_input).to_have_attribute("autocomplete", "one-time-code")
    expect(code_input).to_have_attribute("maxlength", "6")
    expect(person.page.get_by_text(re.compile(r"Code expires in [45]:\d\d"))).to_be_visible()
    # When the person types the code from the SMS, without pressing any button
    person.type_code()
    # Then the page submits by itself and shows who is signed in
    person.screen("Signed in")
    expect(person.page.locator("#greeting")).to_have_text("You are signed in as Demo User.")
    expect(person.button("Sign out")).to_be_visible()


def test_pasted_sms_text_keeps_only_the_digits(person: Person) -> None:
    # Given the code screen and a clipboard the page may read
    page = person.page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    person.sign_in_to_code_screen()

    def paste(text: str) -> None:
        page.evaluate("text => navigator.clipboard.writeText(text)", text)
        person.code_input.press("ControlOrMeta+V")

    # When part of a code is pasted with letters and spaces around it
    paste("Code: 1 2-3 ok")
    # Then only the digits stay, and nothing is submitted yet
    expect(person.code_input).to_have_value("123")
    expect(person.status).to_have_text("")
    # When the whole SMS is pasted with its code written in groups
    person.code_input.fill("")
    code = person.code(DEMO_PHONE)
    paste(f"Your code is {code[:2]} {code[2:4]} {code[4:]}")
    # Then the six digits alone are sent and the person is signed in
    expect(page.locator("#greeting")).to_have_text("You are signed in as Demo User.")


def test_resend_is_disabled_with_a_countdown_at_first(person: Person) -> None:
    # Given the code screen has just appeared, the page's clock under the test's control
    page = person.page
    page.clock.install()
    page.reload()
    person.sign_in_to_code_screen()
    resend = page.locator("#resend")
    # Then Resend is disabled and counts down from the server's resend_after_secs
    expect(resend).to_be_disabled()
    expect(resend).to_have_text(re.compile(r"^Resend code \(\d+ s\)$"))
    first = resend.inner_text()
    assert 0 < int(re.sub(r"\D", "", first)) <= 30
    page.clock.run_for(1_000)
    expect(resend).not_to_have_text(first)
    expect(resend).to_be_disabled()


def test_account_without_phone_is_signed_in_directly(person: Person) -> None:
    # When the account without a phone signs in
    person.sign_in("nophone@example.com")
    # Then there is no code step
    expect(person.page.locator("#greeting")).to_have_text("You are signed in as No Phone.")
    expect(person.code_input).to_be_hidden()


def test_wrong_password_is_refused(person: Person) -> None:
    # When the demo account signs in with the wrong password
    person.sign_in(password="not the password")
    # Then the page says so and stays on the sign-in form
    expect(person.status).to_have_text("Invalid credentials")
    expect(person.button("Sign in")).to_be_visible()
    expect(person.code_input).to_be_hidden()


def test_wrong_code_is_tied_to_the_input_and_keeps_it_active(person: Person) -> None:
    # Given the code screen
    person.sign_in_to_code_screen()
    # When a wrong code is typed
    person.code_input.press_sequentially(wrong(person.code()))
    # Then the attempts left are shown beside the input, which assistive technology reads
    # with it, and the cleared input takes the next try
    code_input = person.code_input
    expect(code_input).to_have_attribute("aria-invalid", "true")
    expect(code_input).to_have_accessible_description(
        re.compile("Invalid code. 4 attempts remaining.")
    )
    expect(person.page.get_by_text("Invalid code. 4 attempts remaining.")).to_be_visible()
    expect(code_input).to_be_enabled()
    expect(code_input).to_be_editable()
    expect(code_input).to_have_value("")
    expect(code_input).to_be_focused()
    # When the right code follows
    person.type_code()
    # Then the person is signed in
    person.screen("Signed in")
