"""The web page (web/) driven in a real browser against the local stack.

Needs Debian's `chromium` (or CHROMIUM_PATH), the `playwright` Python package and, for the
accessibility checks, axe-core from the repository's package.json (`npm ci`). A missing
browser or axe-core is a failure, not a skip, so CI cannot silently stop running these.

No test waits on the wall clock: Playwright waits for the page to change (30 s, for cold
starts on a busy machine); time on the server moves by rewriting the flow in DynamoDB, time
in the page by Playwright's clock.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from devtools.local_stack.seeding import DEMO_PASSWORD
from devtools.local_stack.stack import LocalStack
from phoneverify.flows.engine.any_flow import flow_key
from tests.support import accounts
from tests.support.accounts import Account
from tests.support.stacks import dynamodb_of, running_stack

try:
    from playwright.sync_api import Browser, Locator, Page, Response, expect, sync_playwright
except ImportError:  # pragma: no cover - reported by the browser fixture
    sync_playwright = None  # type: ignore[assignment]

ROOT = Path(__file__).resolve().parents[3]
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
AXE = ROOT / "node_modules" / "axe-core" / "axe.min.js"
DEMO_EMAIL, DEMO_PHONE = "demo@example.com", "+14155550123"
PASSWORD = DEMO_PASSWORD
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 800}
WAIT_MS = 30_000


@pytest.fixture(scope="package")
def stack() -> Iterator[LocalStack]:
    with running_stack(None, static_dir=ROOT / "web", serve_openapi=True) as running:
        yield running


@pytest.fixture(scope="package")
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


_SCREENSHOTS: list[Path] = []


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the screenshots go (pytest's tmp dir, not the repository); printed at the end."""
    folder = tmp_path_factory.mktemp("web-screens")
    _SCREENSHOTS.append(folder)
    return folder


def pytest_terminal_summary(terminalreporter: Any) -> None:
    for folder in _SCREENSHOTS:
        if any(folder.iterdir()):
            terminalreporter.write_line(f"web screenshots: {folder}")


def open_page(browser: Browser, stack: LocalStack, **context_options: Any) -> Iterator[Page]:
    # A function's first request starts its worker (a cold start), which a busy machine can
    # stretch past Playwright's 5 s default: waits end when the page changes, not by the clock.
    expect.set_options(timeout=WAIT_MS)
    context = browser.new_context(**{"viewport": PHONE, **context_options})
    context.set_default_timeout(WAIT_MS)
    opened = context.new_page()
    opened.goto(f"{stack.api_url}/")
    yield opened
    context.close()


@pytest.fixture
def page(browser: Browser, stack: LocalStack) -> Iterator[Page]:
    yield from open_page(browser, stack)


@pytest.fixture
def person(page: Page, stack: LocalStack) -> Person:
    return Person(page, stack)


@pytest.fixture
def account(stack: LocalStack) -> Account:
    """An account of its own (password PASSWORD, a phone no other test uses): what a test
    does to it (a lock, payments without a code) leaves the demo account as it was."""
    return accounts.seed_account(stack, "web", PASSWORD)


def wrong(code: str) -> str:
    return "".join(str((int(digit) + 1) % 10) for digit in code)


@dataclass
class Person:
    """Someone in front of the page, with the phone the emulator delivers to."""

    page: Page
    stack: LocalStack

    # -- what they see ---------------------------------------------------------------------
    def screen(self, title: str) -> None:
        expect(self.page.get_by_role("heading", level=1, name=title)).to_be_visible()

    def field(self, label: str) -> Locator:
        """The visible field of that label (every screen is in the page; one is shown)."""
        return self.page.get_by_label(label, exact=True).filter(visible=True)

    def button(self, name: str) -> Locator:
        return self.page.get_by_role("button", name=name, exact=True)

    @property
    def code_input(self) -> Locator:
        return self.page.get_by_label("Verification code")

    @property
    def status(self) -> Locator:
        return self.page.get_by_role("status")

    # -- what they do ----------------------------------------------------------------------
    def sign_in(self, email: str = DEMO_EMAIL, password: str = PASSWORD) -> None:
        self.field("Email").fill(email)
        self.field("Password").fill(password)
        self.button("Sign in").click()

    def sign_in_to_code_screen(self, email: str = DEMO_EMAIL) -> str:
        """Sign in up to the code screen; the flow_id the page got (which it never shows)."""
        return self.sign_in_to_code_screen_with(email, PASSWORD)

    def sign_in_to_code_screen_with(self, email: str, password: str) -> str:
        with self.page.expect_response(re.compile(r"/login$")) as answer:
            self.sign_in(email, password)
        self.screen("Enter your code")
        expect(self.code_input).to_be_focused()
        return str(flow_of(answer.value))

    def code(self, phone: str = DEMO_PHONE) -> str:
        assert self.stack.emulator is not None
        code = self.stack.emulator.latest_code(phone)
        assert code is not None, f"no code was sent to {phone}"
        return code

    def type_code(self, phone: str = DEMO_PHONE) -> None:
        self.code_input.press_sequentially(self.code(phone))

    def email_code(self, address: str) -> str:
        assert self.stack.emulator is not None
        code = self.stack.emulator.latest_email_code(address)
        assert code is not None, f"no email with a code was sent to {address}"
        return code

    def sign_up(self, name: str, email: str, phone: str, password: str) -> None:
        """Fill in the sign-up form and send it (from the sign-in screen)."""
        self.button("Create an account").click()
        self.screen("Create an account")
        self.field("Name").fill(name)
        self.field("Email").fill(email)
        self.field("Phone number").fill(phone)
        self.field("Password").fill(password)
        self.button("Create account").click()

    def type_sign_up_codes(self, phone: str, email_code: str) -> None:
        """Sign-up's code screen: the SMS's code, then the email's (which sends both)."""
        self.field("SMS code").press_sequentially(self.code(phone))
        self.field("Email code").press_sequentially(email_code)

    def sign_in_with_code(
        self, email: str = DEMO_EMAIL, phone: str = DEMO_PHONE, password: str = PASSWORD
    ) -> None:
        self.sign_in_to_code_screen_with(email, password)
        self.type_code(phone)
        self.screen("Signed in")

    def pay(self, amount: str, recipient: str, currency: str = "USD", note: str = "") -> None:
        self.field("Amount").fill(amount)
        self.page.get_by_label("Currency").select_option(currency)
        self.field("Recipient").fill(recipient)
        self.field("Description").fill(note)
        self.button("Pay").click()

    # -- what the test moves on the server -------------------------------------------------
    def flow_expired(self, flow_id: str) -> None:
        """The flow's code lifetime is over, and its resend cooldown too (the table's clock
        moved, not the wall clock)."""
        dynamodb_of(self.stack.aws_env).update_item(
            TableName="VerificationsTable",
            Key={"pk": {"S": flow_key(flow_id)}},
            UpdateExpression=(
                "SET expires_at = expires_at - :life, last_sent_at = last_sent_at - :life"
            ),
            ExpressionAttributeValues={":life": {"N": "3600"}},
        )

    def cooldown_passed(self, flow_id: str) -> None:
        dynamodb_of(self.stack.aws_env).update_item(
            TableName="VerificationsTable",
            Key={"pk": {"S": flow_key(flow_id)}},
            UpdateExpression="SET last_sent_at = last_sent_at - :cooldown",
            ExpressionAttributeValues={":cooldown": {"N": "600"}},
        )

    def flow_status(self, flow_id: str) -> dict[str, Any]:
        response = self.page.request.get(
            f"{self.stack.api_url}/verify/status", params={"flow_id": flow_id}
        )
        body: dict[str, Any] = response.json()
        return body


def flow_of(response: Response) -> str:
    body: dict[str, Any] = response.json()
    return str(body["flow_id"])


def axe_violations(page: Page) -> list[dict[str, Any]]:
    """WCAG 2.2 A and AA violations axe-core finds in the page as it is now."""
    if not AXE.exists():
        pytest.fail(f"No axe-core at {AXE}: run `npm ci` at the repository root")
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.add_script_tag(path=str(AXE))
    tags = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
    result: list[dict[str, Any]] = page.evaluate(
        """async (tags) => {
            const found = await axe.run(document, { runOnly: { type: "tag", values: tags } });
            return found.violations.map((v) => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map((n) => n.target.join(" ") + ": " + n.failureSummary),
            }));
        }""",
        tags,
    )
    return result
