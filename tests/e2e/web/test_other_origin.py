"""A frontend on its own dev server (http://127.0.0.1:5173, Vite's default) signs in against
the local stack started with ALLOWED_ORIGIN naming it, in Chromium: its cross-origin fetches
pass the browser's CORS check. The same page on an origin the stack does not allow is blocked
by the browser at its first fetch (devtools/local_stack/origins.py, docs/local-gateway.md)."""

from __future__ import annotations

import functools
import json
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from devtools.local_stack.ports import free_port
from devtools.local_stack.stack import LocalStack
from tests.e2e.web.conftest import DEMO_EMAIL, DEMO_PHONE, PASSWORD, WAIT_MS
from tests.support.stacks import running_stack

PAGE = Path(__file__).with_name("other_origin")
DEV_SERVER = "http://127.0.0.1:5173"


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    """A stack of its own, as `ALLOWED_ORIGIN=http://127.0.0.1:5173 make run` starts it."""
    with running_stack(None, extra_origins=(DEV_SERVER,)) as running:
        yield running


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        """No access log in the test's output."""


@contextmanager
def dev_server(port: int, api_url: str, folder: Path) -> Iterator[str]:
    """The page in other_origin/, served on 127.0.0.1:`port` and pointed at `api_url`."""
    shutil.copytree(PAGE, folder)
    (folder / "config.js").write_text(f"window.API_URL = {json.dumps(api_url)};\n")
    handler = functools.partial(_Quiet, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def opened(browser: Browser, url: str) -> Iterator[Page]:
    expect.set_options(timeout=WAIT_MS)
    context = browser.new_context()
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    page.goto(f"{url}/")
    try:
        yield page
    finally:
        context.close()


def sign_in(page: Page) -> None:
    page.get_by_label("Email").fill(DEMO_EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_a_page_on_an_allowed_origin_signs_in(
    browser: Browser, stack: LocalStack, tmp_path: Path
) -> None:
    assert stack.emulator is not None
    # Given the page on Vite's origin, which the stack was started allowing
    with (
        dev_server(5173, stack.api_url, tmp_path / "site") as origin,
        opened(browser, origin) as page,
    ):
        assert origin == DEV_SERVER
        # When someone signs in there: password, then the code the emulator's SMS carries
        sign_in(page)
        expect(page.get_by_role("status")).to_have_text("Code sent to +1******0123")
        code = stack.emulator.latest_code(DEMO_PHONE)
        assert code is not None
        page.get_by_label("Verification code").fill(code)
        page.get_by_role("button", name="Verify").click()
        # Then the page read every answer across origins and holds a token
        expect(page.get_by_role("status")).to_have_text("Signed in")
        token = page.get_by_role("status").get_attribute("data-token") or ""
        assert token.startswith("eyJ")


def test_the_same_page_on_an_origin_not_allowed_is_blocked_by_the_browser(
    browser: Browser, stack: LocalStack, tmp_path: Path
) -> None:
    # Given the same page on another origin, which the stack was not told of
    port = free_port()
    with (
        dev_server(port, stack.api_url, tmp_path / "site") as origin,
        opened(browser, origin) as page,
    ):
        refusals: list[str] = []
        page.on("console", lambda message: refusals.append(message.text))
        # When it signs in
        sign_in(page)
        # Then the browser refuses the page the API's answer: CORS, not the API, says no
        expect(page.get_by_role("status")).to_have_text("Blocked: Failed to fetch")
        assert any("CORS policy" in text and origin in text for text in refusals), refusals
