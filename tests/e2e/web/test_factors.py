"""The factors stronger than SMS on the page (web/security.js, web/second-step.js, docs/web.md):
a new account (not the demo account) adds a passkey and an authenticator app on its Security
screen, signs in with them, and confirms a 250.00 payment with a passkey signature bound to it;
a signature whose payment's stored amount changed after its options is refused; SMS still works.

The passkey is Chromium's virtual authenticator (CDP WebAuthn), on the page served at
http://localhost:<port> (a relying-party id must be a domain: the local stack's RP id is
`localhost`); the app is pyotp with the secret the page shows. axe-core runs on each new screen.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pyotp
import pytest
from playwright.sync_api import Browser, Page, Route, expect

from devtools.local_stack.stack import LocalStack
from tests.e2e.web.conftest import PASSWORD, Person, axe_violations, open_page
from tests.support import accounts
from tests.support.accounts import Account
from tests.support.payments import payments_of
from tests.support.stacks import dynamodb_of

SECURITY = "Security: passkeys and authenticator app"


@pytest.fixture
def here(browser: Browser, stack: LocalStack) -> Iterator[Person]:
    """Someone on the page at http://localhost:<api port>, with a virtual platform
    authenticator that verifies its user (a fingerprint, say) at once."""
    # bypass_csp: axe is injected as an inline script, which the page's CSP refuses.
    pages = open_page(browser, stack, bypass_csp=True)
    page = next(pages)
    page.goto(stack.api_url.replace("127.0.0.1", "localhost") + "/")
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    added = cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    AUTHENTICATORS[id(page)] = (cdp, added["authenticatorId"])
    yield Person(page, stack)
    AUTHENTICATORS.pop(id(page), None)
    next(pages, None)  # closes the context


AUTHENTICATORS: dict[int, tuple[Any, str]] = {}


def passkeys_held(page: Page) -> list[dict[str, Any]]:
    cdp, authenticator_id = AUTHENTICATORS[id(page)]
    held: list[dict[str, Any]] = cdp.send(
        "WebAuthn.getCredentials", {"authenticatorId": authenticator_id}
    )["credentials"]
    return held


@pytest.fixture
def newcomer(stack: LocalStack) -> Account:
    return accounts.seed_account(stack, "factors", PASSWORD)


def axe_clean(person: Person, screen: str) -> None:
    found = axe_violations(person.page)
    assert not found, f"{screen}: {found}"


def confirm_with_sms(person: Person, account: Account) -> None:
    """The step-up: the password on the Security screen's confirmation, then the SMS code, or
    the passkey where the server offers the account's passkey first."""
    person.screen("Confirm it is you")
    person.field("Current password").fill(PASSWORD)
    person.button("Continue").click()
    second = person.page.locator("#code-form, #factor").filter(visible=True)
    expect(second).to_have_count(1)
    if second.get_attribute("id") == "factor":
        passkey = person.button("Use my passkey")
        if passkey.is_visible():
            passkey.click()
            return
        person.button("Send me an SMS instead").click()
    person.screen("Enter your code")
    person.type_code(account.phone)


def add_passkey(person: Person, account: Account) -> list[str]:
    """The passkey added: the account's first stronger factor, so its recovery codes too."""
    person.button(SECURITY).click()
    person.screen("Security")
    person.button("Add a passkey").click()
    confirm_with_sms(person, account)
    # The account's first stronger factor: its recovery codes come with it, shown once.
    person.screen("Your recovery codes")
    expect(person.status).to_contain_text("Passkey added")
    codes = person.page.locator("#recovery-list li").all_inner_texts()
    assert len(codes) == 10
    person.button("I have kept them").click()
    person.screen("Security")
    expect(person.page.get_by_text("Passkey 1: added")).to_be_visible()
    assert len(passkeys_held(person.page)) == 1
    return codes


def add_app(person: Person, account: Account) -> tuple[pyotp.TOTP, list[str]]:
    """The app added (its first code from pyotp); the recovery codes shown once."""
    person.button("Add an authenticator app").click()
    confirm_with_sms(person, account)
    person.screen("Add an authenticator app")
    expect(
        person.page.get_by_role("img", name="QR code of the authenticator app's secret")
    ).to_be_visible()
    axe_clean(person, "add an authenticator app")
    app = pyotp.parse_uri(person.field("Key for your app").input_value())
    assert isinstance(app, pyotp.TOTP)
    person.field("Code from your app").fill(app.now())
    person.button("Add the app").click()
    person.screen("Your recovery codes")
    codes = person.page.locator("#recovery-list li").all_inner_texts()
    assert len(codes) == 10
    axe_clean(person, "recovery codes")
    return app, codes


def signed_in_with_sms(person: Person, account: Account) -> None:
    person.sign_in_with_code(account.email, account.phone)


def test_a_new_account_adds_a_passkey_and_an_app_and_pays_250_with_its_passkey(
    here: Person, newcomer: Account, stack: LocalStack
) -> None:
    page = here.page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    signed_in_with_sms(here, newcomer)
    here.button(SECURITY).click()
    here.screen("Security")
    axe_clean(here, "security")
    here.button("Back").filter(visible=True).click()
    here.screen("Signed in")

    # When it adds a passkey and an app, each behind the step-up
    add_passkey(here, newcomer)
    _, codes = add_app(here, newcomer)
    here.button("Copy the codes").click()
    expect(here.status).to_contain_text("copied")
    assert page.evaluate("() => navigator.clipboard.readText()").split("\n") == codes
    here.button("I have kept them").click()
    here.screen("Security")
    expect(here.button("Remove the authenticator app")).to_be_visible()
    here.button("Back").filter(visible=True).click()

    # Then a 250.00 payment is confirmed by the passkey, the amount and recipient shown first
    here.pay("250.00", "Acme Supplies")
    here.screen("Confirm it is you")
    expect(page.locator("#factor-summary")).to_contain_text("250.00")
    expect(page.locator("#factor-summary")).to_contain_text("Acme Supplies")
    axe_clean(here, "payment by passkey")
    here.button("Use my passkey").click()
    here.screen("Payment complete")
    expect(page.locator("#receipt-amount")).to_have_text("250.00")
    here.button("Done").click()

    # And a signature made before the stored amount changed is refused: the payment stays
    here.pay("250.00", "Acme Supplies")
    here.screen("Confirm it is you")
    dynamodb = dynamodb_of(stack.aws_env)

    def amount_changed(route: Route) -> None:
        body = route.request.post_data_json
        dynamodb.update_item(
            TableName="PaymentsTable",
            Key={"payment_id": {"S": body["payment_id"]}},
            UpdateExpression="SET amount = :a",
            ExpressionAttributeValues={":a": {"S": "2500.00"}},
        )
        route.continue_()

    page.route("**/payments/confirm", amount_changed)
    with page.expect_response("**/payments/confirm") as refused:
        here.button("Use my passkey").click()
    assert refused.value.status == 401
    assert refused.value.json()["code"] == "passkey_rejected"
    expect(here.status).to_contain_text("not accepted")
    page.unroute("**/payments/confirm")
    changed = [p for p in payments_of(dynamodb, newcomer.user_id) if p["amount"]["S"] == "2500.00"]
    assert [p["status"]["S"] for p in changed] == ["pending"]
    here.button("Cancel payment").click()
    here.screen("Signed in")

    # And SMS still works: "Send me an SMS instead"
    here.pay("250.00", "Acme Supplies")
    here.screen("Confirm it is you")
    here.button("Send me an SMS instead").click()
    here.screen("Enter your code")
    here.type_code(newcomer.phone)
    here.screen("Payment complete")


def test_its_next_login_offers_the_strongest_factor_and_sms_instead(
    here: Person, newcomer: Account
) -> None:
    signed_in_with_sms(here, newcomer)
    add_passkey(here, newcomer)
    app, codes = add_app(here, newcomer)
    here.button("I have kept them").click()
    here.button("Back").filter(visible=True).click()
    here.button("Sign out").click()

    # When it signs in: the strongest factor first
    here.sign_in(newcomer.email, PASSWORD)
    here.screen("Confirm it is you")
    axe_clean(here, "sign-in second step")
    # the passkey, and no SMS sent until asked
    sent_before = codes_sent(here, newcomer)
    with here.page.expect_response("**/login/verify") as verified:
        here.button("Use my passkey").click()
    assert verified.value.request.post_data_json["factor"] == "passkey"
    here.screen("Signed in")
    assert codes_sent(here, newcomer) == sent_before
    here.button("Sign out").click()
    # or the app, chosen instead
    here.sign_in(newcomer.email, PASSWORD)
    here.screen("Confirm it is you")
    here.button("Use my authenticator app instead").click()
    # the app's code of the next step (the enrolment spent this one's; one step of drift is allowed)
    here.field("Code from your app").fill(app.at(time.time() + 30))
    here.screen("Signed in")
    here.button("Sign out").click()

    # A recovery code, once
    here.sign_in(newcomer.email, PASSWORD)
    here.screen("Confirm it is you")
    here.button("Use a recovery code").click()
    here.field("Recovery code").fill(codes[0])
    here.button("Verify").filter(visible=True).click()
    here.screen("Signed in")
    here.button("Sign out").click()
    here.sign_in(newcomer.email, PASSWORD)
    here.screen("Confirm it is you")
    here.button("Use a recovery code").click()
    here.field("Recovery code").fill(codes[0])
    here.button("Verify").filter(visible=True).click()
    expect(page_error(here)).not_to_be_empty()
    here.screen("Confirm it is you")

    # And "Send me an SMS instead" sends the first code at once
    here.button("Send me an SMS instead").click()
    here.screen("Enter your code")
    here.type_code(newcomer.phone)
    here.screen("Signed in")


def codes_sent(person: Person, account: Account) -> int:
    assert person.stack.emulator is not None
    return len(person.stack.emulator.messages(account.phone, kind="code"))


def page_error(person: Person) -> Any:
    return person.page.locator("#factor-code-error")


def test_removing_a_passkey_and_the_app_needs_the_step_up(here: Person, newcomer: Account) -> None:
    signed_in_with_sms(here, newcomer)
    add_passkey(here, newcomer)
    here.button("Remove Passkey 1").click()
    here.screen("Confirm it is you")
    axe_clean(here, "confirm it is you")
    here.field("Current password").fill("not the password")
    here.button("Continue").click()
    expect(here.page.locator("#security-confirm-password-error")).not_to_be_empty()
    confirm_with_sms(here, newcomer)
    here.screen("Security")
    expect(here.status).to_contain_text("Passkey 1 was removed")
    expect(here.page.get_by_text("No passkey yet.")).to_be_visible()


# -- the password reset: an SMS code alone never replaces a passkey or an app ---------------


def reset_to_its_second_step(person: Person, account: Account, new_password: str) -> None:
    """A password reset up to its second step: the SMS code right, and not enough."""
    person.button("Forgot password?").click()
    person.screen("Reset your password")
    person.field("Email").fill(account.email)
    person.button("Send code").click()
    person.screen("Enter your code")
    person.field("New password").fill(new_password)
    with person.page.expect_response("**/password/reset/verify") as asked:
        person.type_code(account.phone)
    assert asked.value.status == 400
    assert asked.value.json()["code"] == "factor_required"
    person.screen("Confirm it is you")
    # the page asks for the factor: no SMS offered in its place
    expect(person.button("Send me an SMS instead")).to_be_hidden()


def reset_done(person: Person, account: Account, new_password: str) -> None:
    """Back on sign-in, where the new password is the one that leads to the second step."""
    person.screen("Sign in")
    expect(person.status).to_have_text(
        "Your password has been reset. Sign in with the new password."
    )
    person.sign_in(account.email, new_password)
    person.screen("Confirm it is you")
    person.button("Cancel").filter(visible=True).click()
    person.screen("Sign in")


def signed_out_with_only(person: Person) -> None:
    person.button("Back").filter(visible=True).click()
    person.button("Sign out").click()
    person.screen("Sign in")


def test_a_reset_of_an_account_with_the_app_asks_for_its_code(
    here: Person, newcomer: Account
) -> None:
    signed_in_with_sms(here, newcomer)
    here.button(SECURITY).click()
    here.screen("Security")
    app, _ = add_app(here, newcomer)
    here.button("I have kept them").click()
    signed_out_with_only(here)

    # When it resets its password, the right SMS code is not enough: the app is asked for
    reset_to_its_second_step(here, newcomer, "a brand new passphrase")
    expect(here.field("Code from your app")).to_be_focused()
    expect(here.button("Use a recovery code")).to_be_visible()
    axe_clean(here, "password reset's second step")
    # the app's code of the next step (the enrolment spent this one's), sent with the same code
    with here.page.expect_response("**/password/reset/verify") as verified:
        here.field("Code from your app").fill(app.at(time.time() + 30))
    sent = verified.value.request.post_data_json
    assert sent["new_password"] == "a brand new passphrase"
    assert len(sent["totp_code"]) == 6 and len(sent["code"]) == 6
    reset_done(here, newcomer, "a brand new passphrase")


def test_a_reset_of_an_account_with_a_passkey_asks_for_it_or_a_recovery_code_once(
    here: Person, newcomer: Account
) -> None:
    signed_in_with_sms(here, newcomer)
    codes = add_passkey(here, newcomer)
    signed_out_with_only(here)

    # When it resets its password: the passkey (the virtual authenticator), not the SMS alone
    reset_to_its_second_step(here, newcomer, "a brand new passphrase")
    with here.page.expect_response("**/password/reset/verify") as verified:
        here.button("Use my passkey").click()
    assert "credential" in verified.value.request.post_data_json
    reset_done(here, newcomer, "a brand new passphrase")

    # Or a recovery code in its place, once
    reset_to_its_second_step(here, newcomer, "another new passphrase")
    here.button("Use a recovery code").click()
    here.field("Recovery code").fill(codes[0])
    here.button("Verify").filter(visible=True).click()
    reset_done(here, newcomer, "another new passphrase")
    reset_to_its_second_step(here, newcomer, "a third new passphrase")
    here.button("Use a recovery code").click()
    here.field("Recovery code").fill(codes[0])
    here.button("Verify").filter(visible=True).click()
    expect(page_error(here)).to_contain_text("Invalid code")
    here.screen("Confirm it is you")
