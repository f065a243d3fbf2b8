"""The code screen told of its SMS over the live-status WebSocket (docs/realtime.md), and
polling GET /verify/status only where the socket cannot open."""

from __future__ import annotations

import re

from playwright.sync_api import Request, Route, WebSocketRoute, expect

from tests.e2e.web.conftest import PASSWORD, Person
from tests.support.accounts import Account
from tests.support.webhook_relay import held_webhooks

STATUS = re.compile(r"/verify/status\?")
FAILED = "SMS: Could not be delivered — resend"


def test_a_failed_sms_shows_within_a_second_without_polling(
    person: Person, account: Account
) -> None:
    page, stack = person.page, person.stack
    assert stack.emulator is not None
    # Given a page that cannot poll: every GET /verify/status fails
    asked: list[str] = []

    def refuse(route: Route) -> None:
        asked.append(route.request.url)
        route.abort()

    page.route(STATUS, refuse)
    with held_webhooks(stack) as relay:
        # and an SMS the carrier will not deliver (the emulator's fault), whose reports
        # Telnyx is slow to send
        stack.emulator.add_delivery_fault("failed")

        def catch_up(request: Request) -> bool:
            return bool(STATUS.search(request.url))

        # When the person signs in to the code screen, which subscribes (and then reads the
        # status once, for what came before)
        with page.expect_request(catch_up):
            person.sign_in_to_code_screen_with(account.email, PASSWORD)
        assert stack.emulator.wait_for_webhooks()
        assert relay.held() == 2  # verify.sent, verify.failed
        # and the reports come in
        assert relay.release() == [200, 200]
        # Then the page says so within a second of the report, with no poll in between
        expect(page.locator("#delivery")).to_have_text(FAILED, timeout=1_000)
    assert len(asked) == 1  # the one catch-up read, refused


def test_the_page_polls_when_the_socket_cannot_open(person: Person) -> None:
    page = person.page

    # Given a network that closes every WebSocket (a proxy that refuses them)
    def close(ws: WebSocketRoute) -> None:
        ws.close(code=1006)

    page.route_web_socket(re.compile(".*"), close)
    # When the person signs in, then the delivery report still shows, by GET /verify/status
    with page.expect_request(lambda request: bool(STATUS.search(request.url))):
        person.sign_in_to_code_screen()
    expect(page.locator("#delivery")).to_have_text("SMS: Delivered")
