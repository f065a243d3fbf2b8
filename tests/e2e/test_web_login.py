"""The web page (web/) driven in a real browser against the local stack.

Needs Debian's `chromium` (or CHROMIUM_PATH) and the `playwright` Python package; a missing
browser is a failure, not a skip, so CI cannot silently stop running these.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from devtools.local_stack import LocalStack
from tests.support.stacks import running_stack

try:
    from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright
except ImportError:  # pragma: no cover - reported by the browser fixture
    sync_playwright = None  # type: ignore[assignment]

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
DEMO_EMAIL, DEMO_PHONE = "demo@example.com", "+14155550123"
PASSWORD = "correct horse battery staple"
SCREENSHOT = Path(tempfile.gettempdir()) / "web-code-screen.png"  # for a look, not committed


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with running_stack(None, static_dir=ROOT / "web") as running:
        yield running


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if sync_playwright is None:
        pytest.fail("playwright is not installed: .venv/bin/pip install playwright")
    if not CHROMIUM.exists():
        pytest.fail(
            f"No Chromium at {CHROMIUM}. Install Debian's package "
            "(apt-get update; apt-get install -y chromium) or point CHROMIUM_PATH at one."
        )
    with sync_playwright() as pw:
        launched = pw.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield launched
        launched.close()


@pytest.fixture
def page(browser: Browser, stack: LocalStack) -> Iterator[Page]:
    # A function's first request starts its worker (a cold start), which a busy machine can
    # stretch past Playwright's 5 s default: waits end when the page changes, not by the clock.
    expect.set_options(timeout=30_000)
    context = browser.new_context(viewport={"width": 390, "height": 780})  # a phone's width
    context.set_default_timeout(30_000)
    opened = context.new_page()
    opened.goto(f"{stack.api_url}/")
    yield opened
    context.close()


def sign_in(page: Page, email: str, password: str = PASSWORD) -> None:
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def open_code_screen(page: Page) -> Locator:
    sign_in(page, DEMO_EMAIL)
    code_input = page.get_by_label("Verification code")
    expect(page.get_by_text("We sent a code to +1******0123")).to_be_visible()
    expect(code_input).to_be_focused()
    return code_input


def wrong(code: str) -> str:
    return "".join(str((int(digit) + 1) % 10) for digit in code)


def test_demo_user_signs_in_by_typing_the_sms_code(stack: LocalStack, page: Page) -> None:
    # Given the demo account with a phone signs in
    code_input = open_code_screen(page)
    # Then the code screen offers one numeric, one-time-code input and the countdowns
    expect(code_input).to_have_attribute("inputmode", "numeric")
    expect(code_input).to_have_attribute("pattern", "[0-9]*")
    expect(code_input).to_have_attribute("autocomplete", "one-time-code")
    expect(code_input).to_have_attribute("maxlength", "6")
    expect(page.get_by_text(re.compile(r"Code expires in [45]:\d\d"))).to_be_visible()
    page.screenshot(path=str(SCREENSHOT), full_page=True)
    # When the person types the code from the SMS, without pressing any button
    assert stack.emulator is not None
    code = stack.emulator.latest_code(DEMO_PHONE)
    assert code is not None and len(code) == 6
    code_input.press_sequentially(code)
    # Then the page submits by itself and shows who is signed in
    expect(page.get_by_role("heading", name="Signed in")).to_be_visible()
    expect(page.locator("#subject")).to_have_text("demo-user")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def test_wrong_code_reports_attempts_left_and_keeps_input_active(
    stack: LocalStack, page: Page
) -> None:
    # Given the code screen
    code_input = open_code_screen(page)
    assert stack.emulator is not None
    code = stack.emulator.latest_code(DEMO_PHONE)
    assert code is not None
    # When a wrong code is typed
    code_input.press_sequentially(wrong(code))
    # Then the attempts left are shown and the cleared input takes the next try
    expect(page.get_by_role("status")).to_have_text("Invalid code. 4 attempts remaining.")
    expect(code_input).to_be_enabled()
    expect(code_input).to_be_editable()
    expect(code_input).to_have_value("")
    expect(code_input).to_be_focused()


def test_pasted_sms_text_keeps_only_the_digits(stack: LocalStack, page: Page) -> None:
    # Given the code screen and a clipboard the page may read
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    code_input = open_code_screen(page)

    def paste(text: str) -> None:
        page.evaluate("text => navigator.clipboard.writeText(text)", text)
        code_input.press("ControlOrMeta+V")

    # When part of a code is pasted with letters and spaces around it
    paste("Code: 1 2-3 ok")
    # Then only the digits stay, and nothing is submitted yet
    expect(code_input).to_have_value("123")
    expect(page.get_by_role("status")).to_have_text("")
    # When the whole SMS is pasted with its code written in groups
    code_input.fill("")
    assert stack.emulator is not None
    code = stack.emulator.latest_code(DEMO_PHONE)
    assert code is not None
    paste(f"Your code is {code[:2]} {code[2:4]} {code[4:]}")
    # Then the six digits alone are sent and the person is signed in
    expect(page.locator("#subject")).to_have_text("demo-user")


def test_resend_is_disabled_with_a_countdown_at_first(page: Page) -> None:
    # Given the code screen has just appeared
    open_code_screen(page)
    resend = page.locator("#resend")
    # Then Resend is disabled and counts down from the server's resend_after_secs
    expect(resend).to_be_disabled()
    expect(resend).to_have_text(re.compile(r"^Resend code \(\d+ s\)$"))
    first = resend.inner_text()
    assert 0 < int(re.sub(r"\D", "", first)) <= 30
    expect(resend).not_to_have_text(first, timeout=3_000)
    expect(resend).to_be_disabled()


def test_account_without_phone_is_signed_in_directly(page: Page) -> None:
    # When the account without a phone signs in
    sign_in(page, "nophone@example.com")
    # Then there is no code step
    expect(page.locator("#subject")).to_have_text("demo-no-phone")
    expect(page.get_by_label("Verification code")).to_be_hidden()


def test_wrong_password_is_refused(page: Page) -> None:
    # When the demo account signs in with the wrong password
    sign_in(page, DEMO_EMAIL, "not the password")
    # Then the page says so and stays on the sign-in form
    expect(page.get_by_role("status")).to_have_text("Invalid credentials")
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    expect(page.get_by_label("Verification code")).to_be_hidden()
