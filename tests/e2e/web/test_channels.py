"""Other channels on the code screen (docs/channels.md): when the SMS could not be delivered the
page says so (pushed over the live-status socket: docs/realtime.md) and offers "Call me
instead" first; the code read out by the call signs the
person in. The local stack offers WhatsApp too."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, Route, expect

from devtools.local_stack.stack import LocalStack
from tests.e2e.web.conftest import PASSWORD, Person, axe_violations, open_page
from tests.support.accounts import Account
from tests.support.webhook_relay import held_webhooks

STATUS = re.compile(r"/verify/status\?")


@pytest.fixture
def seen(browser: Browser, stack: LocalStack) -> Iterator[Page]:
    # bypass_csp: axe is injected as an inline script, which the page's CSP refuses.
    yield from open_page(browser, stack, bypass_csp=True)


def offered(page: Page) -> list[str]:
    """The code screen's buttons, in the order a person meets them."""
    return page.locator("#code-actions button:visible").all_inner_texts()


def test_a_failed_sms_offers_a_call_first_and_the_called_code_signs_in(
    seen: Page, stack: LocalStack, account: Account
) -> None:
    person = Person(seen, stack)
    emulator = stack.emulator
    assert emulator is not None
    # Given the page's clock under the test's control, a page that cannot poll (every GET
    # /verify/status fails: what it learns comes over the live-status socket)
    seen.clock.install()
    seen.reload()
    polled: list[str] = []

    def refuse(route: Route) -> None:
        polled.append(route.request.url)
        route.abort()

    seen.route(STATUS, refuse)
    with held_webhooks(stack) as relay:
        # and an SMS that will not arrive, whose reports Telnyx sends once the page listens
        emulator.add_delivery_fault("failed", channel="sms")
        # When the person signs in (the page subscribes, then reads the status once)
        with seen.expect_request(lambda request: bool(STATUS.search(request.url))):
            flow_id = person.sign_in_to_code_screen_with(account.email, PASSWORD)
        assert emulator.wait_for_webhooks()
        assert relay.release() == [200, 200]  # verify.sent, verify.failed
        # Then within a second the page says the SMS could not be delivered, without polling
        expect(seen.locator("#delivery")).to_have_text(
            "SMS: Could not be delivered — resend", timeout=1_000
        )
    assert len(polled) == 1  # the one catch-up read, refused
    # and offers a call only once the resend cooldown allows it, before Resend code
    call = person.button("Call me instead")
    expect(call).to_be_hidden()
    person.cooldown_passed(flow_id)
    seen.clock.fast_forward("00:31")
    expect(call).to_be_visible()
    assert offered(seen) == ["Verify", "Call me instead", "Resend code", "Send by WhatsApp"]
    assert axe_violations(seen) == []
    # When they take the call
    call.click()
    # Then the page says a call is coming, and the emulator placed one
    expect(person.status).to_have_text("We are calling you with a new code.")
    expect(seen.locator("#code-hint")).to_contain_text("calling")
    calls = emulator.messages(account.phone, channel="call")
    assert len(calls) == 1
    # And the code read out by the call signs them in
    person.code_input.press_sequentially(str(calls[0]["code"]))
    person.screen("Signed in")


def test_a_delivered_sms_still_offers_the_other_channels_after_resend(
    person: Person, account: Account
) -> None:
    # Given the code screen, its SMS delivered and the cooldown over
    page = person.page
    page.clock.install()
    page.reload()
    flow_id = person.sign_in_to_code_screen_with(account.email, PASSWORD)
    expect(page.locator("#delivery")).to_have_text("SMS: Delivered")
    person.cooldown_passed(flow_id)
    page.clock.fast_forward("00:31")
    # Then Resend code comes first, the other channels after it
    expect(person.button("Send by WhatsApp")).to_be_visible()
    assert offered(page) == ["Verify", "Resend code", "Call me instead", "Send by WhatsApp"]
    # When the person asks for the code by WhatsApp, it comes by WhatsApp and signs them in
    person.button("Send by WhatsApp").click()
    expect(person.status).to_have_text("We sent a new code.")
    expect(page.locator("#code-hint")).to_contain_text("by WhatsApp")
    assert person.stack.emulator is not None
    code = person.stack.emulator.latest_code(account.phone, channel="whatsapp")
    assert code is not None
    person.code_input.press_sequentially(code)
    person.screen("Signed in")
