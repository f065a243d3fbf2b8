"""The proof-of-work gate in "always" mode, in the browser: a person signs up (and resets a
password) through the page with no extra step, the page fetching and solving the challenge
(web/altcha-solver.js, under the page's strict CSP) while the button is busy; a refused
solution is replaced by a fresh one once; axe finds nothing on the screens.

The template's functions run behind a gateway of their own with CHALLENGE_MODE=always, serving
web/ too, over the package stack's moto, SSM (the HMAC key) and Telnyx emulator.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, Request, Route, expect

from devtools.aws_resources import LOCAL_PARAMETERS, TEMPLATE
from devtools.local_gateway import LocalGateway
from devtools.local_stack.config import LOCAL_SEND_LIMITS
from devtools.local_stack.stack import LocalStack
from tests.e2e.web.conftest import ROOT, Person, axe_violations, open_page
from tests.support.accounts import fresh_phone

GATED_PATHS = re.compile(r"/(register|password/reset)/start$")


@pytest.fixture(scope="module")
def gated(stack: LocalStack) -> Iterator[LocalGateway]:
    """The page and the API with the gate always on, beside the package's stack."""
    assert stack.emulator is not None
    gateway = LocalGateway(
        TEMPLATE,
        port=0,
        parameter_overrides={**LOCAL_PARAMETERS, "TelnyxApiBaseUrl": stack.emulator.base_url},
        static_dir=ROOT / "web",
        extra_env={**stack.aws_env, **LOCAL_SEND_LIMITS, "CHALLENGE_MODE": "always"},
        quiet=True,
    )
    with gateway:
        yield gateway


@dataclass(frozen=True)
class Served:
    """What open_page needs of a stack: where the page is served."""

    api_url: str


@pytest.fixture
def page(browser: Browser, gated: LocalGateway) -> Iterator[Page]:
    yield from open_page(browser, Served(gated.base_url))  # type: ignore[arg-type]


@pytest.fixture
def checked(browser: Browser, gated: LocalGateway) -> Iterator[Page]:
    # bypass_csp: axe is injected as an inline script, which the page's CSP refuses.
    yield from open_page(browser, Served(gated.base_url), bypass_csp=True)  # type: ignore[arg-type]


def sent_bodies(page: Page) -> list[dict[str, Any]]:
    """The JSON bodies the page posts to the gated routes, as they go."""
    bodies: list[dict[str, Any]] = []

    def seen(request: Request) -> None:
        if request.method == "POST" and GATED_PATHS.search(request.url):
            bodies.append(json.loads(request.post_data or "{}"))

    page.on("request", seen)
    return bodies


def fill_sign_up(person: Person, email: str, phone: str) -> None:
    person.button("Create an account").click()
    person.screen("Create an account")
    person.field("Name").fill("Ada Lovelace")
    person.field("Email").fill(email)
    person.field("Phone number").fill(phone)
    person.field("Password").fill("analytical engine notes")


def test_a_person_signs_up_with_no_extra_step_while_the_gate_is_always_on(
    page: Page, stack: LocalStack
) -> None:
    person = Person(page, stack)
    bodies = sent_bodies(page)
    # Given the gate asks every sign-up for a solved challenge
    email, phone = f"pow-{uuid.uuid4().hex[:10]}@example.com", fresh_phone()
    fill_sign_up(person, email, phone)
    # When they press Create account, as on any day
    with page.expect_response(re.compile(r"/challenge$")) as issued:
        person.button("Create account").click()
    assert issued.value.headers["cache-control"] == "no-store"
    # Then the next thing they see is the code screen: the page solved the challenge itself
    person.screen("Enter your code")
    (body,) = bodies
    assert re.fullmatch(r"[A-Za-z0-9+/]+={0,2}", body["altcha"])
    person.type_sign_up_codes(phone, person.email_code(email))
    person.screen("Signed in")
    # and the page's strict CSP was never loosened for it
    csp = page.locator("meta[http-equiv=Content-Security-Policy]").get_attribute("content")
    assert csp is not None and "script-src 'self';" in csp and "unsafe" not in csp


def test_a_refused_solution_is_replaced_once_without_the_person_noticing(
    page: Page, stack: LocalStack
) -> None:
    person = Person(page, stack)
    bodies = sent_bodies(page)
    # Given the first solution the page sends is spoiled on its way (the server refuses it)
    spoiled: list[bool] = []

    def spoil_first(route: Route) -> None:
        if spoiled:
            route.continue_()
            return
        spoiled.append(True)
        body = json.loads(route.request.post_data or "{}")
        route.continue_(post_data=json.dumps({**body, "altcha": "QUJD"}))

    page.route(GATED_PATHS, spoil_first)
    phone, email = fresh_phone(), f"pow-{uuid.uuid4().hex[:10]}@example.com"
    fill_sign_up(person, email, phone)
    # When they press Create account once
    person.button("Create account").click()
    # Then the page solved a fresh challenge and asked again: they only see the code screen
    person.screen("Enter your code")
    assert len(bodies) == 2 and bodies[0]["altcha"] != bodies[1]["altcha"]
    person.type_sign_up_codes(phone, person.email_code(email))
    person.screen("Signed in")


def test_a_password_reset_carries_a_solution_too(page: Page, stack: LocalStack) -> None:
    person = Person(page, stack)
    bodies = sent_bodies(page)
    person.button("Forgot password?").click()
    person.field("Email").fill(f"nobody-{uuid.uuid4().hex[:8]}@example.com")
    person.button("Send code").click()
    person.screen("Enter your code")
    assert [sorted(body) for body in bodies] == [["altcha", "email"]]


def test_axe_finds_nothing_on_the_gated_sign_up(
    checked: Page, stack: LocalStack, screenshots: Path
) -> None:
    person = Person(checked, stack)
    found: dict[str, Any] = {}
    fill_sign_up(person, f"pow-{uuid.uuid4().hex[:10]}@example.com", fresh_phone())
    found["sign-up"] = axe_violations(checked)
    person.button("Create account").click()
    person.screen("Enter your code")
    expect(person.field("SMS code")).to_be_focused()
    found["code"] = axe_violations(checked)
    checked.screenshot(path=str(screenshots / "gated-sign-up-code.png"), full_page=True)
    assert {screen: v for screen, v in found.items() if v} == {}
