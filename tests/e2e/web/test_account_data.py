"""The person's own data on the page, through the local stack (docs/privacy.md): the issue's
"done when" as a person does it. They sign up, pay, download their data (the payment is in
it), delete the account (each after the step-up: password, then the code to their phone), and
sign up again with the same email and phone. Both screens, and their errors, pass axe."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, expect

from devtools.local_stack.stack import LocalStack
from tests.e2e.web.conftest import DESKTOP, Person, axe_violations, open_page
from tests.support.accounts import fresh_phone

PASSWORD = "analytical engine notes"


def sign_up(person: Person, email: str, phone: str) -> None:
    person.sign_up("Ada Lovelace", email, phone, PASSWORD)
    person.screen("Enter your code")
    person.type_sign_up_codes(phone, person.email_code(email))
    person.screen("Signed in")


def step_up(person: Person, screen: str, phone: str) -> None:
    """The change's password, then the code to the account's phone."""
    person.field("Current password").fill(PASSWORD)
    person.page.locator(f"#{screen} button[type=submit]").click()
    person.screen("Enter your code")
    person.type_code(phone)


def test_sign_up_pay_download_delete_and_sign_up_again(
    browser: Browser, stack: LocalStack, tmp_path: Path
) -> None:
    email, phone = f"leaving-{uuid.uuid4().hex[:10]}@example.com", fresh_phone()
    found: dict[str, Any] = {}
    # bypass_csp: axe is injected as an inline script, which the page's CSP refuses.
    for page in open_page(browser, stack, bypass_csp=True, viewport=DESKTOP):
        person = Person(page, stack)
        # Given a person who signed up and paid
        sign_up(person, email, phone)
        person.pay("3.50", "Corner Bakery", note="Bread")
        person.screen("Payment complete")
        person.button("Done").click()
        person.screen("Signed in")

        # When they download their data (after the step-up)
        person.button("Download my data").click()
        person.screen("Download my data")
        found["data-export"] = axe_violations(page)
        with page.expect_download() as downloading:
            step_up(person, "data-export", phone)
        saved = tmp_path / "my-data.json"
        downloading.value.save_as(saved)
        data = json.loads(saved.read_text())
        # Then the file holds their profile and the payment, and no secret
        assert data["profile"]["email"] == email and data["phone"]["phone_number"] == phone
        assert [p["recipient"] for p in data["payments"]] == ["Corner Bakery"]
        assert "password_hash" not in saved.read_text()

        # When they delete the account, without ticking the box first
        person.button("Back").click()
        person.button("Delete account").click()
        person.screen("Delete account")
        found["account-delete"] = axe_violations(page)
        person.field("Current password").fill(PASSWORD)
        person.button("Delete my account").click()
        expect(page.locator("#account-delete-confirm")).to_have_attribute("aria-invalid", "true")
        found["account-delete-error"] = axe_violations(page)
        page.get_by_label("I understand: delete my account for good").check()
        step_up(person, "account-delete", phone)
        # Then they are signed out and told
        person.screen("Sign in")
        expect(person.status).to_contain_text("Your account was deleted")
        # and the old password no longer signs in
        person.sign_in(email, PASSWORD)
        expect(person.status).to_have_text("Invalid credentials")

        # When they sign up again with the same email and phone, it works
        sign_up(person, email, phone)
    assert not any(found.values()), json.dumps(found, indent=2)
