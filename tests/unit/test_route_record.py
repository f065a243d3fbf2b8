"""The entry point's 405 reads the resolver's own record of its routes (http/app.py
`RecordsRoutes`), never Powertools' private route lists: the methods a path answers, with a
REST API's trailing slash ignored and a function URL's path matched exactly."""

from __future__ import annotations

from phoneverify.http.app import function_url_app, http_app


def test_a_rest_path_answers_the_methods_registered_on_it() -> None:
    # Given a REST resolver with two routes on one path and one on another
    app = http_app("https://app.example.com")

    @app.post("/verify/cancel")
    @app.get("/verify/status")
    def anything() -> dict[str, str]:
        return {}

    @app.get("/verify/cancel/")
    def also() -> dict[str, str]:
        return {}

    # Then each path names its methods, a trailing slash or not
    assert app.methods_at("/verify/cancel") == ["GET", "POST"]
    assert app.methods_at("/verify/cancel//") == ["GET", "POST"]
    assert app.methods_at("/verify/status") == ["GET"]
    assert app.methods_at("/verify") == []


def test_a_function_url_path_matches_exactly_and_by_its_parameters() -> None:
    # Given a function URL resolver with a static route and one with a path parameter
    app = function_url_app()

    @app.post("/webhooks/telnyx")
    def webhook() -> dict[str, str]:
        return {}

    @app.get("/payments/<payment_id>")
    def payment(payment_id: str) -> dict[str, str]:
        return {}

    # Then the static path matches itself only, the parameter one segment
    assert app.methods_at("/webhooks/telnyx") == ["POST"]
    assert app.methods_at("/webhooks/telnyx/") == []
    assert app.methods_at("/payments/pay_12345678") == ["GET"]
    assert app.methods_at("/payments/a/b") == []
