"""Malformed, oversized and mistyped requests get a 4xx that names the problem, never a 500."""

from __future__ import annotations

import json

import pytest

from tests.security.conftest import Target

CASES = [
    ("/login", "application/json", "{", 400, "invalid_request"),
    ("/login", "application/json", "[]", 400, "invalid_request"),
    ("/login", "application/json", "null", 400, "invalid_request"),
    ("/login", "application/json", '{"email": ["a"], "password": "x"}', 400, "invalid_request"),
    (
        "/login",
        "application/json",
        '{"email": "a@b.c", "password": "x", "role": "admin"}',
        400,
        "invalid_request",
    ),
    ("/login", "text/plain", '{"email": "a@b.c", "password": "x"}', 415, "unsupported_media_type"),
    (
        "/login",
        "application/json",
        json.dumps({"email": "a@b.c", "password": "x" * 70_000}),
        413,
        "body_too_large",
    ),
    (
        "/login/verify",
        "application/json",
        '{"flow_id": "' + "A" * 43 + '", "code": "12345٦"}',
        400,
        "invalid_request",
    ),
    (
        "/login/verify",
        "application/json",
        '{"flow_id": "' + "A" * 43 + '", "code": 123456}',
        400,
        "invalid_request",
    ),
    (
        "/login/verify",
        "application/json",
        '{"flow_id": "../../x", "code": "123456"}',
        400,
        "invalid_request",
    ),
    ("/login/resend", "application/json", '{"flow_id": null}', 400, "invalid_request"),
    (
        "/login",
        "application/json",
        "\udcff".encode("utf-8", "surrogatepass"),
        400,
        "invalid_request",
    ),
]


@pytest.mark.parametrize(("path", "content_type", "body", "status", "code"), CASES)
def test_bad_requests_get_a_clear_4xx(
    target: Target, path: str, content_type: str, body: str | bytes, status: int, code: str
) -> None:
    response = target.api.post(path, content=body, headers={"Content-Type": content_type})
    assert response.status_code == status, response.text
    payload = response.json()
    assert payload["code"] == code
    assert payload["error"]


@pytest.mark.parametrize(
    ("path", "body", "message"),
    [
        ("/login/verify", {"flow_id": "short", "code": "123456"}, "flow_id must be at least 20"),
        (
            "/login/verify",
            {"flow_id": "A" * 43, "code": "12a456"},
            "code must contain only the digits 0-9",
        ),
        ("/login", {"email": "a@b.c"}, "password is required"),
        ("/logout", {"all": "yes"}, "all must be true or false"),
        (
            "/register/start",
            {
                "name": "Ada\x00Lovelace",
                "email": "ada@example.com",
                "phone_number": "+14155550187",
                "password": "analytical engine 1843",
            },
            "name must not contain control characters",
        ),
        (
            "/register/start",
            {
                "name": "Ada\nSubject: you won",
                "email": "ada@example.com",
                "phone_number": "+14155550187",
                "password": "analytical engine 1843",
            },
            "name must not contain control characters",
        ),
    ],
)
def test_refusals_say_in_plain_words_which_field_and_what_it_must_be(
    target: Target, path: str, body: dict[str, object], message: str
) -> None:
    response = target.api.post(path, json=body)
    assert response.status_code == 400, response.text
    assert message in response.json()["error"]
    assert "should" not in response.json()["error"]  # not pydantic's wording


def test_a_method_the_path_does_not_answer_is_405_naming_the_ones_it_does(target: Target) -> None:
    response = target.api.request("PUT", "/login", json={})
    assert response.status_code == 405, response.text
    assert response.headers["Allow"] == "POST"
    assert response.json()["code"] == "method_not_allowed"
