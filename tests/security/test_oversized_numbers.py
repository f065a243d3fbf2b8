"""A JSON number too long for Python's integer conversion (4,300 digits by default) is a 400
that names the problem on every route that takes a body, with or without a token: never the
500 that the parser's ValueError used to become."""

from __future__ import annotations

import pytest

from devtools.local_stack.stack import LocalStack
from tests.security.conftest import Target
from tests.support.payments import bearer, demo_token

HUGE = "9" * 4301  # one digit past CPython's int_max_str_digits
BODIES = [
    '{"x": ' + HUGE + "}",
    '{"amount": ' + HUGE + ', "currency": "USD", "recipient": "acct_1"}',
    '{"flow_id": "' + "A" * 43 + '", "code": "123456", "n": [' + HUGE + "]}",
    '{"x": -' + HUGE + "}",
    '{"x": 1e' + HUGE + "}",  # an exponent is no integer to convert, but as long
]


@pytest.fixture(scope="module")
def token(security_stack: LocalStack) -> str:
    return demo_token(security_stack)


def json_routes(target: Target) -> list[tuple[str, bool]]:
    """(path, behind the authorizer) of every route of the template that takes a body."""
    assert target.stack.gateway is not None
    routes = {
        (route.path, route.authorizer is not None)
        for route in target.stack.gateway.app.routes
        if route.method in ("POST", "PUT", "PATCH") and route.function_id is not None
    }
    assert len(routes) >= 15, routes
    return sorted(routes)


@pytest.mark.parametrize("body", BODIES, ids=["x", "amount", "nested", "negative", "exponent"])
def test_an_oversized_number_is_a_400_naming_it_on_every_route(
    target: Target, token: str, body: str
) -> None:
    for path, authorized in json_routes(target):
        headers = {"Content-Type": "application/json", **(bearer(token) if authorized else {})}
        response = target.api.post(path, content=body, headers=headers)
        assert response.status_code == 400, (path, response.text)
        payload = response.json()
        assert payload["code"] == "invalid_request", (path, payload)
        assert "number" in payload["error"] and "digits" in payload["error"], (path, payload)


def test_nesting_as_deep_as_the_size_cap_allows_is_a_400_on_every_route(
    target: Target, token: str
) -> None:
    # (A guard, not a finding: the runtime's parser takes 8,000 levels; json_input refuses a
    # RecursionError with a 400 should a parser ever take fewer.)
    body = '{"x": ' + "[" * 8000 + "]" * 8000 + "}"  # 16 KB, just under the size cap
    for path, authorized in json_routes(target):
        headers = {"Content-Type": "application/json", **(bearer(token) if authorized else {})}
        response = target.api.post(path, content=body, headers=headers)
        assert response.status_code == 400, (path, response.text)
        assert response.json()["code"] == "invalid_request", path
