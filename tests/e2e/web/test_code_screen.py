"""The code screen, as each flow shares it: expiry, resend, lockout, delivery reports, network
failures, leaving it, and what it never shows."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Callable
from typing import Any

from playwright.sync_api import expect

from tests.e2e.web.conftest import WAIT_MS, Person, wrong
from tests.support.accounts import Account, fresh_phone

EXPIRED = "Code expired. Click Resend to get a new code."


def eventually(check: Callable[[], Any], timeout_s: float = WAIT_MS / 1000) -> Any:
    """What the server answers once a request the page sent in the background has landed:
    polled until true, for at most `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not (result := check()):
        assert time.monotonic() < deadline, "the state did not change in time"
        time.sleep(0.1)
    return result


def test_the_page_never_shows_or_stores_the_flow_id(person: Person) -> None:
    # Given the code screen, and the flow_id the page got from the server
    flow_id = person.sign_in_to_code_screen()
    page = person.page
    # Then the flow_id is nowhere a person, a screenshot or another script could read it
    assert flow_id not in page.content()
    assert flow_id not in page.url
    storage = page.evaluate("() => JSON.stringify([{...localStorage}, {...sessionStorage}])")
    assert flow_id not in storage
    assert flow_id not in page.evaluate("() => document.cookie")


def test_an_expired_code_is_replaced_with_resend(person: Person) -> None:
    # Given the code screen, and a flow whose code lifetime (and cooldown) is over on the server
    flow_id = person.sign_in_to_code_screen()
    person.flow_expired(flow_id)
    # When the person types the code
    person.type_code()
    # Then the page says the code expired, beside the disabled input, and offers Resend
    expect(person.code_input).to_have_accessible_description(re.compile(EXPIRED))
    expect(person.code_input).to_be_disabled()
    resend = person.button("Resend code")
    expect(resend).to_be_enabled()
    expect(resend).to_be_focused()
    # When they ask for a new code and type it
    resend.click()
    expect(person.status).to_have_text("We sent a new code.")
    expect(person.code_input).to_be_focused()
    person.type_code()
    # Then they are signed in
    person.screen("Signed in")


def test_resend_after_the_cooldown_then_a_429_wait_counts_down(person: Person) -> None:
    # Given the code screen with the page's clock under the test's control
    page = person.page
    page.clock.install()
    page.reload()
    flow_id = person.sign_in_to_code_screen()
    first_code = person.code()
    resend = person.button(re.compile(r"^Resend code"))  # type: ignore[arg-type]
    expect(resend).to_be_disabled()
    # When the cooldown has passed, on the server and in the page
    person.cooldown_passed(flow_id)
    page.clock.fast_forward("00:31")
    expect(resend).to_be_enabled()
    resend.click()
    # Then a new code is sent and Resend counts down again
    expect(person.status).to_have_text("We sent a new code.")
    expect(resend).to_be_disabled()
    assert eventually(lambda: person.code() != first_code)
    # When the page lets them ask again before the server's cooldown is over
    page.clock.fast_forward("00:31")
    expect(resend).to_be_enabled()
    resend.click()
    # Then the server's 429 wait is shown and counts down with the clock
    wait = page.get_by_role("timer").filter(has_text="Please wait")
    expect(wait).to_have_text(re.compile(r"Please wait \d+ s\."))
    before = int(re.findall(r"(\d+) s", wait.inner_text())[0])
    assert 0 < before <= 30
    expect(resend).to_be_disabled()
    page.clock.fast_forward("00:05")
    expect(wait).to_have_text(re.compile(rf"Please wait {before - 5} s\."))
    expect(person.code_input).to_have_accessible_description(re.compile("Please wait"))
    # And the code of the second SMS still signs them in
    person.type_code()
    person.screen("Signed in")


def test_five_wrong_codes_close_the_flow(person: Person, account: Account) -> None:
    # Given the code screen of an account
    person.sign_in_to_code_screen(account.email)
    code = person.code(account.phone)
    # When four wrong codes are typed, each answer counts down the attempts left
    for left in (4, 3, 2, 1):
        # (filled in one go, which waits until the page takes input again: on a busy machine
        # keys pressed one by one while the last answer was pending were lost)
        expect(person.code_input).to_have_value("")
        person.code_input.fill(wrong(code))
        plural = "attempt" if left == 1 else "attempts"
        expect(person.code_input).to_have_accessible_description(
            re.compile(f"Invalid code. {left} {plural} remaining.")
        )
    # When the fifth is wrong too
    expect(person.code_input).to_have_value("")
    person.code_input.fill(wrong(code))
    # Then the flow is closed: back to sign-in, with the reason
    person.screen("Sign in")
    expect(person.status).to_have_text("Too many attempts. Please start the login process again.")


def test_a_network_failure_keeps_the_code_for_another_try(person: Person) -> None:
    # Given the code screen, and a connection that drops the verification request
    person.sign_in_to_code_screen()
    page = person.page
    page.route(re.compile(r"/login/verify$"), lambda route: route.abort("internetdisconnected"))
    # When the person types the code
    person.type_code()
    # Then the page says the connection failed, beside the code, which stays for a retry
    expect(person.code_input).to_have_accessible_description(
        re.compile("Could not verify. Check your connection and try again.")
    )
    expect(person.code_input).to_have_value(person.code())
    expect(person.code_input).to_be_editable()
    # When the connection is back and they press Verify
    page.unroute(re.compile(r"/login/verify$"))
    person.button("Verify").click()
    # Then they are signed in
    person.screen("Signed in")


def test_a_network_failure_on_sign_in_is_a_message_not_a_stuck_button(person: Person) -> None:
    # Given a connection that drops the sign-in request
    person.page.route(re.compile(r"/login$"), lambda route: route.abort("internetdisconnected"))
    # When the person signs in
    person.sign_in()
    # Then the page says so, and the button works again
    expect(person.status).to_have_text("Could not sign in. Check your connection and try again.")
    expect(person.button("Sign in")).to_be_enabled()


def test_delivery_status_is_shown_as_it_changes(person: Person) -> None:
    # When the code screen is up
    person.sign_in_to_code_screen()
    # Then the delivery report from Telnyx's webhook shows up
    expect(person.page.locator("#delivery")).to_have_text("SMS: Delivered")


def test_the_payment_code_screen_shows_its_sms_delivered(person: Person, account: Account) -> None:
    # Given a signed-in payer
    person.sign_in_with_code(account.email, account.phone)
    # When they pay 250.00 and the code screen is up
    page = person.page
    with (
        page.expect_response(re.compile(r"/payments/initiate$")) as initiated,
        page.expect_request(re.compile(r"/verify/status\?")) as polled,
    ):
        person.pay("250.00", f"Acme {uuid.uuid4().hex[:6]}")
        person.screen("Enter your code")
    # Then the delivery report from Telnyx's webhook shows up, as on the other code screens
    expect(page.locator("#delivery")).to_have_text("SMS: Delivered")
    # and the page asked by the payment id with its token in the header, never showing the id
    payment_id = initiated.value.json()["payment_id"]
    assert polled.value.url.endswith(f"/verify/status?payment_id={payment_id}")
    assert polled.value.headers["authorization"].startswith("Bearer ")
    assert payment_id not in page.content()
    assert payment_id not in page.url


def test_an_undeliverable_sms_asks_for_a_resend(person: Person) -> None:
    # Given the next SMS cannot be delivered
    assert person.stack.emulator is not None
    person.stack.emulator.add_delivery_fault("failed")
    # When the code screen is up
    person.sign_in_to_code_screen()
    # Then the page says so and points to Resend
    expect(person.page.locator("#delivery")).to_have_text("SMS: Could not be delivered — resend")


def test_leaving_the_page_cancels_the_pending_code(person: Person) -> None:
    # Given the code screen
    flow_id = person.sign_in_to_code_screen()
    # When the person leaves the page: its `pagehide`, whose cancel is sent with `keepalive`.
    # (Whether a browser still sends a request its page started while unloading is the
    # browser's best effort: on a loaded machine Chromium sometimes drops it, so the event is
    # raised here and the page then left; a code left pending expires on its own.)
    with person.page.expect_response(re.compile(r"/verify/cancel$")) as cancelled:
        person.page.evaluate("window.dispatchEvent(new PageTransitionEvent('pagehide'))")
    answer = cancelled.value.json()
    person.page.goto("about:blank")
    # Then the page cancelled its own flow: its code is no longer any use
    assert cancelled.value.request.post_data_json == {"flow_id": flow_id}
    assert answer == {"cancelled": True}
    assert person.flow_status(flow_id)["status"] == "cancelled"


def test_use_a_different_account_cancels_the_pending_code(person: Person) -> None:
    # Given the code screen
    flow_id = person.sign_in_to_code_screen()
    # When the person goes back to sign in as someone else
    with person.page.expect_response(re.compile(r"/verify/cancel$")) as cancelled:
        person.button("Use a different account").click()
    # Then the flow the page was given is the one it cancelled, and the sign-in screen is back
    assert cancelled.value.request.post_data_json == {"flow_id": flow_id}
    assert cancelled.value.json() == {"cancelled": True}
    person.screen("Sign in")
    assert person.flow_status(flow_id)["status"] == "cancelled"


def test_cancelling_a_payment_code_cancels_the_payment(person: Person, account: Account) -> None:
    # Given a payment waiting for its code
    person.sign_in_with_code(account.email, account.phone)
    person.pay("300.00", f"Acme {uuid.uuid4().hex[:6]}")
    person.screen("Enter your code")
    # When the payer cancels it
    with person.page.expect_response(re.compile(r"/verify/cancel$")) as cancelled:
        person.button("Cancel payment").click()
    # Then the server cancelled the pending payment, and the payment form is back
    assert cancelled.value.json() == {"cancelled": True}
    person.screen("Signed in")


def test_the_local_stack_links_the_emulator_outbox_for_the_new_phone(person: Person) -> None:
    # Given someone signs up on the local stack
    phone = fresh_phone()
    email = f"web-{uuid.uuid4().hex[:10]}@example.com"
    person.sign_up("Grace Hopper", email, phone, "analytical engine notes")
    person.screen("Enter your code")
    # Then the code screen links the emulator's outbox for that phone, which has the code
    link = person.page.get_by_role("link", name="the SMS in the emulator's outbox")
    href = link.get_attribute("href")
    assert href is not None and "phone_number=%2B" in href
    outbox = person.page.request.get(href).json()
    assert outbox["data"][0]["phone_number"] == phone
    assert outbox["data"][0]["code"] == person.code(phone)
    # and the emulator's email outbox for the address typed, which has the email's code
    link = person.page.get_by_role("link", name="the email in the emulator's outbox")
    href = link.get_attribute("href")
    assert href is not None and "/_emulator/emails?to=" in href
    emails = person.page.request.get(href).json()
    assert emails["data"][0]["to"] == email
    assert emails["data"][0]["code"] == person.email_code(email)


def test_the_page_has_an_icon(person: Person) -> None:
    # When the browser asks for the page's icons
    page = person.page
    icon = page.request.get(f"{person.stack.api_url}/favicon.ico")
    linked = page.locator("link[rel=icon]").get_attribute("href")
    # Then both exist
    assert icon.status == 200
    assert icon.headers["content-type"].startswith("image/")
    assert linked is not None
    assert page.request.get(f"{person.stack.api_url}/{linked}").status == 200


def test_repeated_wrong_passwords_get_a_wait_that_counts_down(
    person: Person, account: Account
) -> None:
    # Given someone guessing the password of an account, with the page's clock under control
    page = person.page
    page.clock.install()
    page.reload()
    # When the free attempts are used up
    wait = page.get_by_role("timer").filter(has_text="Please wait")
    for _ in range(10):
        person.sign_in(account.email, "a wrong guess")
        expect(person.button("Sign in")).to_be_enabled()  # the answer is in
        if wait.count():
            break
    # Then the server's wait is shown, and it counts down
    expect(wait).to_have_text(
        re.compile(r"^Too many failed sign-in attempts\. Please wait \d+ s\.$")
    )
    before = int(re.findall(r"(\d+) s", wait.inner_text())[0])
    page.clock.fast_forward("00:03")
    expect(wait).to_have_text(re.compile(rf"Please wait {before - 3} s\."))


def test_a_locked_account_is_pointed_to_the_password_reset(person: Person) -> None:
    # Given the server answers that the account is locked (100 wrong codes: see
    # tests/security/test_account_lockout.py)
    locked = {
        "error": "This account is locked after too many wrong codes. "
        "Reset your password to unlock it, or try again later.",
        "code": "account_locked",
        "retry_after": 2_592_000,
    }
    person.page.route(
        re.compile(r"/login$"),
        lambda route: route.fulfill(status=429, json=locked, headers={"Retry-After": "2592000"}),
    )
    # When the owner signs in
    person.sign_in()
    # Then the page gives the server's reason and puts the focus on the way out
    expect(person.status).to_have_text(locked["error"])
    expect(person.button("Forgot password?")).to_be_focused()


def test_the_page_runs_no_script_injected_inline(person: Person) -> None:
    # When a script is slipped into the page inline (as an injection would be)
    page = person.page
    page.evaluate(
        """() => { const s = document.createElement("script");
                   s.textContent = "window.injected = true"; document.body.append(s); }"""
    )
    # Then the page's Content-Security-Policy refuses to run it
    assert page.evaluate("() => window.injected === undefined")
