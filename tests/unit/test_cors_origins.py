"""The origins a browser page may call the API from: the deployed one (ALLOWED_ORIGIN) and,
on a local stack, the extra ones make run's ALLOWED_ORIGIN list gives the functions
(EXTRA_ALLOWED_ORIGINS): Powertools' CORS and the WebSocket's origin check answer those and
no other."""

from __future__ import annotations

from typing import Any

import pytest

from phoneverify.config import ConfigurationError, Settings
from phoneverify.http.app import http_app
from phoneverify.http.websocket import websocket_connect
from tests.support.lambda_env import api_event
from tests.support.settings import VALID

OWN, DEV = "https://app.example", "http://127.0.0.1:5173"


def test_a_deploy_has_one_origin_and_no_extra_ones() -> None:
    settings = Settings.from_env(VALID)
    assert settings.extra_allowed_origins == ()
    assert settings.cors_origins == (settings.allowed_origin,)


def test_extra_origins_are_read_comma_separated_after_the_deployed_one() -> None:
    env = {**VALID, "EXTRA_ALLOWED_ORIGINS": f" {DEV}, https://other.example:8443 ,"}
    settings = Settings.from_env(env)
    assert settings.cors_origins == (VALID["ALLOWED_ORIGIN"], DEV, "https://other.example:8443")


@pytest.mark.parametrize(
    "origin", ["*", "null", "http://evil.example", "http://127.0.0.1:5173/", "127.0.0.1:5173"]
)
def test_an_extra_origin_that_is_not_one_secure_origin_is_refused_at_cold_start(
    origin: str,
) -> None:
    with pytest.raises(ConfigurationError, match="EXTRA_ALLOWED_ORIGINS"):
        Settings.from_env({**VALID, "EXTRA_ALLOWED_ORIGINS": f"{DEV},{origin}"})


def _login_answer(origin: str, *extra: str) -> dict[str, Any]:
    app = http_app(OWN, *extra)

    @app.post("/login")
    def login() -> dict[str, str]:
        return {"ok": "yes"}

    answer: dict[str, Any] = app.resolve(api_event("/login", {}, headers={"Origin": origin}), {})
    return answer


def test_an_extra_origin_is_answered_its_own_origin() -> None:
    assert _login_answer(DEV, DEV)["multiValueHeaders"]["Access-Control-Allow-Origin"] == [DEV]
    assert _login_answer(OWN, DEV)["multiValueHeaders"]["Access-Control-Allow-Origin"] == [OWN]


def test_an_origin_not_listed_gets_no_cors_header() -> None:
    # Without the extra origin (as before make run's list): the page on 5173 cannot read it
    assert "Access-Control-Allow-Origin" not in _login_answer(DEV)["multiValueHeaders"]
    refused = _login_answer("https://evil.example", DEV)
    assert "Access-Control-Allow-Origin" not in refused["multiValueHeaders"]


class _Live:
    def __init__(self) -> None:
        self.connected: list[str] = []

    def connect(self, flow_id: str, connection_id: str) -> None:
        self.connected.append(connection_id)


def _connect(origin: str, allowed: tuple[str, ...]) -> int:
    event = {
        "headers": {"Origin": origin},
        "queryStringParameters": {"flow_id": "x" * 43},
        "requestContext": {"routeKey": "$connect", "connectionId": "c1"},
    }
    status: int = websocket_connect(event, _Live(), allowed)["statusCode"]  # type: ignore[arg-type]
    return status


def test_the_websocket_admits_every_allowed_origin_and_no_other() -> None:
    assert _connect(DEV, (OWN, DEV)) == 200
    assert _connect(OWN, (OWN, DEV)) == 200
    assert _connect(DEV, (OWN,)) == 403
    # One origin given as a string is that origin, never a substring test
    assert _connect("https://app.exampl", OWN) == 403
