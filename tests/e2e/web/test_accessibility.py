"""axe-core (package.json, pinned) finds no WCAG 2.2 A or AA violation on any screen, in the
light and the dark colour scheme, on a desktop and on a 390x844 phone. Each screen is saved
as a screenshot in pytest's tmp dir (its path is printed at the end of the run)."""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
from playwright.sync_api import Browser, Page, expect

from devtools.local_stack.stack import LocalStack
from tests.e2e.web.conftest import (
    DESKTOP,
    PASSWORD,
    PHONE,
    Person,
    axe_violations,
    open_page,
    wrong,
)
from tests.e2e.web.test_lost_phone import email_code
from tests.support.accounts import Account, fresh_phone, seed_account

LOOKS = {
    "light-desktop": {"color_scheme": "light", "viewport": DESKTOP},
    "dark-desktop": {"color_scheme": "dark", "viewport": DESKTOP},
    "light-phone": {"color_scheme": "light", "viewport": PHONE},
    "dark-phone": {"color_scheme": "dark", "viewport": PHONE},
}


@pytest.fixture(params=list(LOOKS))
def look(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def seen(browser: Browser, stack: LocalStack, look: str) -> Iterator[Page]:
    # bypass_csp: axe is injected as an inline script, which the page's CSP refuses.
    yield from open_page(browser, stack, bypass_csp=True, **LOOKS[look])


def axe_check(
    page: Page, screenshots: Path, look: str, found: dict[str, Any]
) -> Callable[[str], None]:
    """Checks the page as it is now: a screenshot named for the screen, and axe's violations
    kept in `found` under its name."""

    def check(screen: str) -> None:
        page.screenshot(path=str(screenshots / f"{look}-{screen}.png"), full_page=True)
        violations = axe_violations(page)
        if violations:
            found[screen] = violations

    return check


def test_every_screen_passes_axe(
    seen: Page, stack: LocalStack, account: Account, look: str, screenshots: Path
) -> None:
    person = Person(seen, stack)
    found: dict[str, Any] = {}
    check = axe_check(seen, screenshots, look, found)

    # Given each screen a person meets, in its error states too
    person.screen("Sign in")
    check("sign-in")
    person.sign_in(account.email, "not the password")
    expect(person.status).to_have_text("Invalid credentials")
    check("sign-in-error")

    person.button("Create an account").click()
    person.screen("Create an account")
    check("sign-up")
    person.field("Phone number").fill("12")
    person.button("Create account").click()
    expect(person.field("Name")).to_have_attribute("aria-invalid", "true")
    expect(person.status).to_have_text("")
    check("sign-up-error")
    person.button("I have an account: sign in").click()

    person.button("Forgot password?").click()
    person.screen("Reset your password")
    check("reset")
    person.field("Email").fill(account.email)
    person.button("Send code").click()
    person.screen("Enter your code")
    check("reset-code")
    person.button("Cancel").click()

    # "I no longer have this phone": the account's email is proven, so the whole path is walked
    person.button("I no longer have this phone").click()
    person.screen("I no longer have this phone")
    check("lost-phone")
    person.field("Email").fill(account.email)
    person.field("New phone number").fill("12")
    person.button("Send code to my email").click()
    expect(person.field("New phone number")).to_have_attribute("aria-invalid", "true")
    check("lost-phone-error")
    lost_phone = fresh_phone()
    person.field("New phone number").fill(lost_phone)
    person.button("Send code to my email").click()
    person.screen("Enter your code")
    check("lost-phone-email-code")
    person.field("Code").fill(email_code(stack, account.email))
    person.button("Verify").click()
    expect(
        person.page.get_by_text(re.compile("^We texted a code to your new number"))
    ).to_be_visible()
    check("lost-phone-new-number-code")
    person.field("Code").fill(person.code(lost_phone))
    person.button("Verify").click()
    person.screen("Your new number is waiting")
    check("lost-phone-waiting")

    person.button("Back to sign in").click()
    person.sign_in_to_code_screen(account.email)
    check("login-code")
    person.code_input.press_sequentially(wrong(person.code(account.phone)))
    person.page.get_by_text("Invalid code.").wait_for()
    check("login-code-error")
    person.type_code(account.phone)
    person.screen("Signed in")
    expect(person.button("Cancel the phone number change")).to_be_visible()
    check("signed-in")

    person.pay("250.00", "Acme Supplies", note="Invoice 42")
    person.screen("Enter your code")
    check("payment-code")
    person.type_code(account.phone)
    person.screen("Payment complete")
    check("receipt")

    person.button("Done").click()
    person.button("Change phone number").click()
    person.screen("Phone number")
    check("phone")
    person.field("New phone number").fill("12")
    person.field("Current password").fill("not the password")
    person.button("Send code").click()
    expect(person.field("New phone number")).to_have_attribute("aria-invalid", "true")
    check("phone-error")
    new_phone = fresh_phone()
    person.field("New phone number").fill(new_phone)
    person.field("Current password").fill(PASSWORD)
    person.button("Send code").click()
    person.screen("Enter your code")  # the step-up: a code to the current number
    expect(person.page.get_by_text(re.compile("^To confirm it is you"))).to_be_visible()
    check("phone-step-up-code")
    person.type_code(account.phone)
    expect(person.page.get_by_text(re.compile("^We sent a code to"))).to_be_visible()
    check("phone-code")

    # Then axe found nothing on any of them
    assert not found, json.dumps(found, indent=2)


def test_the_email_screens_pass_axe(
    seen: Page, stack: LocalStack, look: str, screenshots: Path
) -> None:
    person = Person(seen, stack)
    found: dict[str, Any] = {}
    check = axe_check(seen, screenshots, look, found)

    # Given sign-up's code screen with its two codes, and its error
    email, phone = f"axe-{uuid.uuid4().hex[:10]}@example.com", fresh_phone()
    person.sign_up("Ada Lovelace", email, phone, "analytical engine notes")
    person.screen("Enter your code")
    check("sign-up-codes")
    person.type_sign_up_codes(phone, wrong(person.email_code(email)))
    expect(seen.locator("#code-error")).to_have_text(re.compile("^One of the codes is wrong"))
    check("sign-up-codes-error")
    person.button("Cancel sign-up").click()
    person.button("I have an account: sign in").click()

    # the prompt to prove an unproven email, its code screen and its error
    account = seed_account(stack, "axe", PASSWORD, email_proven=False)
    person.sign_in_to_code_screen_with(account.email, PASSWORD)
    person.type_code(account.phone)
    person.screen("Prove your email")
    check("email-prove")
    person.button("Send me a code").click()
    person.screen("Enter your code")
    check("email-code")
    person.field("Code").press_sequentially(wrong(person.email_code(account.email)))
    expect(person.field("Code")).to_have_attribute("aria-invalid", "true")
    check("email-code-error")
    person.button("Back").click()
    person.button("Later").click()

    # the email change form and its error
    person.button("Change email").click()
    person.screen("Change email")
    check("email-change")
    person.field("New email").fill("not an address")
    person.button("Send code").click()
    expect(person.field("New email")).to_have_attribute("aria-invalid", "true")
    check("email-change-error")

    # Then axe found nothing on any of them
    assert not found, json.dumps(found, indent=2)


def test_the_factor_screens_pass_axe(
    seen: Page, stack: LocalStack, look: str, screenshots: Path
) -> None:
    """The stronger factors' screens (security.js, second-step.js), with the authenticator app:
    a passkey needs the page at localhost and a virtual authenticator (test_factors.py)."""
    person = Person(seen, stack)
    found: dict[str, Any] = {}
    check = axe_check(seen, screenshots, look, found)
    account = seed_account(stack, "axe", PASSWORD)
    person.sign_in_with_code(account.email, account.phone)

    # Given the Security screen, its step-up and its error
    person.button("Security: passkeys and authenticator app").click()
    person.screen("Security")
    check("security")
    person.button("Add an authenticator app").click()
    person.screen("Confirm it is you")
    check("security-confirm")
    person.field("Current password").fill("not the password")
    person.button("Continue").click()
    expect(seen.locator("#security-confirm-password-error")).not_to_be_empty()
    check("security-confirm-error")
    person.field("Current password").fill(PASSWORD)
    person.button("Continue").click()
    person.screen("Enter your code")
    person.type_code(account.phone)

    # the app's enrolment, its error, and the recovery codes shown once
    person.screen("Add an authenticator app")
    check("totp-enrol")
    app = pyotp.parse_uri(person.field("Key for your app").input_value())
    assert isinstance(app, pyotp.TOTP)
    person.field("Code from your app").fill(wrong(app.now()))
    person.button("Add the app").click()
    expect(person.field("Code from your app")).to_have_attribute("aria-invalid", "true")
    check("totp-enrol-error")
    person.field("Code from your app").fill(app.now())
    person.button("Add the app").click()
    person.screen("Your recovery codes")
    check("recovery-codes")
    person.button("I have kept them").click()
    person.button("Back").filter(visible=True).click()
    person.button("Sign out").click()

    # sign-in's second step: the app's code, its error, a recovery code
    person.sign_in(account.email, PASSWORD)
    person.screen("Confirm it is you")
    check("login-factor")
    person.field("Code from your app").fill(wrong(app.at(time.time() + 30)))
    expect(seen.locator("#factor-code-error")).not_to_be_empty()
    check("login-factor-error")
    person.button("Use a recovery code").click()
    expect(person.field("Recovery code")).to_be_visible()
    check("login-recovery-code")
    person.button("Cancel").filter(visible=True).click()

    # the password reset's second step: the right SMS code is not enough
    person.button("Forgot password?").click()
    person.field("Email").fill(account.email)
    person.button("Send code").click()
    person.screen("Enter your code")
    person.field("New password").fill("a brand new passphrase")
    person.type_code(account.phone)
    person.screen("Confirm it is you")
    expect(person.field("Code from your app")).to_be_visible()
    check("reset-factor")

    # Then axe found nothing on any of them
    assert not found, json.dumps(found, indent=2)
