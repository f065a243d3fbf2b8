"""The code screen told of its SMS over the live-status WebSocket (docs/realtime.md), and
polling GET /verify/status only where the socket cannot open."""

from __future__ import annotations

import re

from playwright.sync_api import Page, Request, Route, WebSocketRoute, expect

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


def count_bodies_read(page: Page) -> None:
    """`window.bodiesRead` counts the response bodies the page has read, each counted only
    once what the page does with it has run (a task after the body's promise settles)."""
    page.evaluate(
        """() => {
          const json = Response.prototype.json;
          window.bodiesRead = 0;
          Response.prototype.json = function () {
            return json.call(this).then((body) => {
              setTimeout(() => { window.bodiesRead += 1; }, 0);
              return body;
            });
          };
        }"""
    )


def test_a_late_catch_up_read_does_not_undo_a_newer_report(
    person: Person, account: Account
) -> None:
    page, stack = person.page, person.stack
    assert stack.emulator is not None
    count_bodies_read(page)
    # Given a catch-up read that the network holds back
    reads: list[Route] = []

    def hold(route: Route) -> None:
        reads.append(route)

    page.route(STATUS, hold)
    with held_webhooks(stack) as relay:
        # When the person signs in to the code screen (it subscribes, then reads once)
        with page.expect_request(lambda request: bool(STATUS.search(request.url))):
            person.sign_in_to_code_screen_with(account.email, PASSWORD)
        assert stack.emulator.wait_for_webhooks()
        assert relay.held() == 2  # verify.sent, verify.delivered
        # and the read is answered by the server after "sent" came in
        assert relay.release(1) == [200]
        for _ in range(1_500):  # the held read reaches its handler as Playwright's events run
            if reads:
                break
            page.wait_for_timeout(20)
        stale = reads[0].fetch()
        assert stale.json()["delivery_status"] == "sent"
        # but "delivered" is pushed before that answer reaches the page
        assert relay.release() == [200]
        expect(page.locator("#delivery")).to_have_text("SMS: Delivered")
    read_before = page.evaluate("window.bodiesRead")
    reads[0].fulfill(response=stale)
    page.wait_for_function("(n) => window.bodiesRead > n", arg=read_before)
    # Then the older answer does not take the newer report back
    expect(page.locator("#delivery")).to_have_text("SMS: Delivered")


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
