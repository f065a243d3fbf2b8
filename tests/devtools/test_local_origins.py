"""make run's ALLOWED_ORIGIN: each origin checked before anything starts, the stack's own
always first, and the local gateway's own answers echo an allowed origin only."""

from __future__ import annotations

import pytest
from werkzeug.wrappers import Response

from devtools.local_gateway.cors import echo_allowed_origin
from devtools.local_stack.config import StackConfig
from devtools.local_stack.origins import OriginRefused, parse_origins

DEV = "http://127.0.0.1:5173"
LOCALHOST = "http://localhost:3100"


def test_a_list_is_read_in_order_without_blanks_or_repeats() -> None:
    raw = f" {DEV} ,https://app.example.com:8443,,http://localhost:5173,{DEV}"
    assert parse_origins(raw) == (DEV, "https://app.example.com:8443", "http://localhost:5173")
    assert parse_origins("") == parse_origins(None) == ()
    assert parse_origins("http://127.0.0.2:8080") == ("http://127.0.0.2:8080",)


@pytest.mark.parametrize(
    ("origin", "why"),
    [
        ("*", "wildcard"),
        ("https://*.example.com", "wildcard"),
        ("null", "sandboxed"),
        ("NULL", "sandboxed"),
        ("http://127.0.0.1:5173/", "path"),
        ("https://app.example.com/login", "path"),
        ("http://evil.example:5173", "not an https origin"),
        ("http://192.168.1.10:5173", "not an https origin"),
        ("127.0.0.1:5173", "not an https origin"),
        ("http://127.0.0.1:70000", "port"),
    ],
)
def test_a_bad_origin_is_refused_naming_it(origin: str, why: str) -> None:
    with pytest.raises(OriginRefused) as refused:
        parse_origins(f"{DEV},{origin}")
    assert refused.value.origin == origin
    assert repr(origin) in str(refused.value) and why in str(refused.value)
    assert "ALLOWED_ORIGIN" in str(refused.value)


def test_the_stacks_own_origin_is_always_allowed_and_first() -> None:
    config = StackConfig(api_port=3100, extra_origins=(DEV, "http://127.0.0.1:3100"))
    assert config.cors_origins == ("http://127.0.0.1:3100", LOCALHOST, DEV)
    assert StackConfig(api_port=3100).cors_origins == ("http://127.0.0.1:3100", LOCALHOST)


def test_the_page_on_localhost_is_allowed_for_passkeys() -> None:
    # a relying-party id is a domain: Chromium refuses 127.0.0.1, so passkeys use localhost
    assert StackConfig(api_port=3100).passkey_origin == LOCALHOST


def _gateway_answer() -> Response:
    """A gateway response as the template shapes it: the one static AllowedOrigin."""
    return Response("{}", 404, [("Access-Control-Allow-Origin", "http://127.0.0.1:3000")])


def test_the_gateway_echoes_an_allowed_origin_with_vary() -> None:
    response = _gateway_answer()
    echo_allowed_origin(response, DEV, {DEV})
    assert response.headers["Access-Control-Allow-Origin"] == DEV
    assert response.headers["Vary"] == "Origin"


@pytest.mark.parametrize("origin", [None, "https://evil.example", "null"])
def test_the_gateway_keeps_the_static_origin_for_any_other(origin: str | None) -> None:
    response = _gateway_answer()
    echo_allowed_origin(response, origin, {DEV})
    assert response.headers["Access-Control-Allow-Origin"] == "http://127.0.0.1:3000"
    assert "Vary" not in response.headers


def test_an_answer_without_cors_gets_none() -> None:
    response = Response("page", 200)  # a static file, a function that allowed no origin
    echo_allowed_origin(response, DEV, {DEV})
    assert "Access-Control-Allow-Origin" not in response.headers
