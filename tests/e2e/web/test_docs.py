"""/docs, the API's Swagger UI, works with the network cut off: every request that would
leave 127.0.0.1 is aborted, and the page still lists the operations of /openapi.json."""

from __future__ import annotations

from urllib.parse import urlsplit

from playwright.sync_api import Browser, Route, expect

from devtools.local_stack.stack import LocalStack
from tests.e2e.web.conftest import DESKTOP, WAIT_MS


def test_docs_render_every_operation_with_the_network_cut_off(
    browser: Browser, stack: LocalStack
) -> None:
    # Given a browser that can reach nothing but the local stack
    expect.set_options(timeout=WAIT_MS)
    context = browser.new_context(viewport=DESKTOP)
    context.set_default_timeout(WAIT_MS)
    left: list[str] = []

    def only_local(route: Route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            left.append(route.request.url)
            route.abort("internetdisconnected")

    context.route("**/*", only_local)
    page = context.new_page()
    try:
        # When someone opens the API's documentation
        page.goto(f"{stack.api_url}/docs")
        # Then Swagger UI renders, with the operations of the document
        expect(page.locator(".swagger-ui .info .title")).to_contain_text("phone-verify")
        for method, path in [("POST", "/login"), ("POST", "/payments/initiate")]:
            operation = page.locator(".opblock-summary", has_text=path).filter(has_text=method)
            expect(operation.first).to_be_visible()
        assert page.locator(".opblock").count() >= 10
        # and it asked no other host for anything
        assert left == []
    finally:
        context.close()
