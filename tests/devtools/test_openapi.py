"""The local stack's OpenAPI document: every API route of the template, valid, with the
request schemas the functions really validate against."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate

from devtools.aws_resources import LOCAL_PARAMETERS, TEMPLATE
from devtools.local_gateway import load_app
from devtools.local_stack import LocalStack
from devtools.openapi import build_openapi
from tests.support.stacks import running_stack


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return build_openapi()


def test_the_document_is_valid_openapi(document: dict[str, Any]) -> None:
    validate(document)  # type: ignore[arg-type]


def test_every_api_route_of_the_template_is_documented(document: dict[str, Any]) -> None:
    routes = {(r.path, r.method.lower()) for r in load_app(TEMPLATE, LOCAL_PARAMETERS).routes}
    documented = {(path, method) for path, ops in document["paths"].items() for method in ops}
    assert routes <= documented
    assert ("/login", "post") in documented and ("/verify/status", "get") in documented


def test_request_schemas_are_the_ones_enforced(document: dict[str, Any]) -> None:
    login = document["components"]["schemas"]["LoginRequest"]
    assert set(login["required"]) == {"email", "password"}
    assert login["additionalProperties"] is False  # unknown fields are refused


def test_payment_routes_require_the_bearer_token(document: dict[str, Any]) -> None:
    for path in ("/payments/initiate", "/payments/confirm", "/payments/resend"):
        assert document["paths"][path]["post"]["security"] == [{"bearerAuth": []}]
    assert "security" not in document["paths"]["/login"]["post"]


def test_logout_requires_the_bearer_token_it_checks_itself(document: dict[str, Any]) -> None:
    assert document["paths"]["/logout"]["post"]["security"] == [{"bearerAuth": []}]
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with running_stack(None, serve_openapi=True, static_dir=TEMPLATE.parent / "web") as s:
        yield s


def test_the_local_stack_serves_the_document_the_docs_and_the_page(stack: LocalStack) -> None:
    with httpx.Client(base_url=stack.api_url) as client:
        spec = client.get("/openapi.json")
        docs = client.get("/docs")
        page = client.get("/")
    assert spec.status_code == 200 and "/payments/confirm" in spec.json()["paths"]
    assert docs.status_code == 200 and "/openapi.json" in docs.text
    assert page.status_code == 200 and "<html" in page.text.lower()
