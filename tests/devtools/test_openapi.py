"""The local stack's OpenAPI document: every API route of the template, valid, with the
request schemas the functions really validate against."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate

from devtools.aws_resources import LOCAL_PARAMETERS, TEMPLATE
from devtools.error_codes import gateway_codes
from devtools.local_gateway import load_app
from devtools.local_stack.stack import LocalStack
from devtools.openapi import build_openapi
from phoneverify.http.errors import STATUS
from tests.support.stacks import running_stack


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return build_openapi()


def test_the_document_is_valid_openapi(document: dict[str, Any]) -> None:
    validate(document)  # type: ignore[arg-type]


def test_every_api_route_of_the_template_is_documented(document: dict[str, Any]) -> None:
    routes = {
        (r.path, r.method.lower())
        for r in load_app(TEMPLATE, LOCAL_PARAMETERS).routes
        if r.method != "ANY"  # every other method of a path: a 405 naming the documented ones
    }
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


def operations(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [op for ops in document["paths"].values() for op in ops.values()]


def test_every_operation_has_a_short_id_and_a_tag_of_the_document(
    document: dict[str, Any],
) -> None:
    tags = {tag["name"] for tag in document["tags"]}
    ids = [op["operationId"] for op in operations(document)]
    assert len(ids) == len(set(ids))
    for op in operations(document):
        assert re.fullmatch(r"[a-z]+(?:[A-Z][a-z]+)*", op["operationId"]), op["operationId"]
        assert op["tags"] and set(op["tags"]) <= tags
    by_id = {op["operationId"]: op for op in operations(document)}
    assert {"loginStart", "loginVerify", "registerVerify", "paymentsInitiate"} <= set(by_id)


def test_every_error_status_comes_from_the_error_table_with_the_shared_body(
    document: dict[str, Any],
) -> None:
    statuses = {str(status) for status in STATUS.values()} | {"504"}  # API Gateway's timeout
    error = {"$ref": "#/components/schemas/ErrorResponse"}
    for op in operations(document):
        for status, response in op["responses"].items():
            if status.startswith(("4", "5")):
                assert status in statuses, (op["operationId"], status)
                assert response["content"]["application/json"]["schema"] == error
        for always in ("400", "413", "415", "500", "503"):
            assert always in op["responses"], (op["operationId"], always)
    schema = document["components"]["schemas"]["ErrorResponse"]
    assert set(schema["required"]) == {"error", "code"}
    assert {"field", "attempts_remaining", "retry_after"} <= set(schema["properties"])


def test_the_gateways_own_answers_are_on_every_operation_with_the_templates_codes(
    document: dict[str, Any],
) -> None:
    # Given the template's gateway responses (the one table of the gateway's codes)
    (api,) = load_app(TEMPLATE, LOCAL_PARAMETERS).apis.values()
    gateway = gateway_codes(api.gateway_responses)
    enum = set(document["components"]["schemas"]["ErrorCode"]["enum"])
    # Then every code they answer is in the document's enum, and `throttled` nowhere
    assert {answer.code for answer in gateway.values()} <= enum
    assert "`throttled`" not in json.dumps(document) and "throttled" not in enum
    for op in operations(document):
        for kind in ("THROTTLED", "INTEGRATION_FAILURE", "INTEGRATION_TIMEOUT"):
            answer = gateway[kind]
            response = op["responses"][str(answer.status)]
            assert f"`{answer.code}`" in response["description"], (op["operationId"], kind)
            if answer.retry_after:
                assert "Retry-After" in response["headers"], (op["operationId"], kind)
    # and behind the authorizer, the 401 of a refused token and the 503 of a failed check
    initiate = document["paths"]["/payments/initiate"]["post"]["responses"]
    assert "`unauthorized` (the token authorizer" in initiate["401"]["description"]
    assert "`service_unavailable` (the token authorizer" in initiate["503"]["description"]


def test_the_error_code_is_an_open_enum(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    code = schemas["ErrorResponse"]["properties"]["code"]
    assert code["anyOf"] == [{"$ref": "#/components/schemas/ErrorCode"}, {"type": "string"}]
    enum = schemas["ErrorCode"]
    assert {"unauthorized", "rate_limited", "timeout", "invalid_code"} <= set(enum["enum"])
    assert len(enum["x-enum-descriptions"]) == len(enum["enum"])
    assert "- `timeout`: 504: " in enum["description"]


def test_validation_failures_are_documented_as_the_400s_they_are(
    document: dict[str, Any],
) -> None:
    assert "HTTPValidationError" not in json.dumps(document)
    with_422 = {op["operationId"] for op in operations(document) if "422" in op["responses"]}
    assert with_422 == {"paymentsInitiate"}  # an Idempotency-Key reused with another body
    assert (
        "idempotency_key_reused"
        in document["paths"]["/payments/initiate"]["post"]["responses"]["422"]["description"]
    )


def test_each_operation_lists_what_its_flow_can_answer(document: dict[str, Any]) -> None:
    verify = document["paths"]["/login/verify"]["post"]["responses"]
    assert {"200", "400", "401", "409", "410", "429", "502"} <= set(verify)
    assert "invalid_code" in verify["401"]["description"]
    register = document["paths"]["/register/verify"]["post"]["responses"]
    assert "201" in register and "200" not in register
    assert {"email_taken", "phone_taken"} <= set(
        re.findall(r"`(\w+)`", register["409"]["description"])
    )
    assert "Retry-After" in verify["429"]["headers"]


def test_the_bearer_routes_the_idempotency_key_and_the_webhook_are_described(
    document: dict[str, Any],
) -> None:
    paths = document["paths"]
    assert "401" in paths["/payments/confirm"]["post"]["responses"]
    # the routes where the token is optional (a payment_id's) declare no security, and say so
    for path, method in (("/verify/status", "get"), ("/verify/cancel", "post")):
        assert "security" not in paths[path][method]
        assert "`Authorization: Bearer <token>` is optional" in paths[path][method]["description"]
    (header,) = paths["/payments/initiate"]["post"]["parameters"]
    assert header["name"] == "Idempotency-Key" and header["in"] == "header"
    webhook = document["webhooks"]["telnyxVerifyEvent"]["post"]
    names = {p["name"] for p in webhook["parameters"]}
    assert names == {"telnyx-signature-ed25519", "telnyx-timestamp"}
    assert {"200", "401"} <= set(webhook["responses"])
    assert "/webhooks/telnyx" not in paths and "/" not in paths
    assert document["servers"][0]["url"].startswith("http://127.0.0.1")


def test_ids_handed_out_are_linked_to_the_operations_that_take_them(
    document: dict[str, Any],
) -> None:
    links = document["paths"]["/login"]["post"]["responses"]["200"]["links"]
    assert links["loginVerify"]["requestBody"] == {"flow_id": "$response.body#/flow_id"}
    assert links["verifyStatus"]["parameters"] == {"query.flow_id": "$response.body#/flow_id"}
    payment = document["paths"]["/payments/initiate"]["post"]["responses"]["200"]["links"]
    assert "paymentsConfirm" in payment


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
    assert spec.json()["servers"][0]["url"] == stack.api_url
    assert docs.status_code == 200 and "/openapi.json" in docs.text
    assert page.status_code == 200 and "<html" in page.text.lower()


def test_no_request_body_states_a_default_a_generated_client_would_demand(
    document: dict[str, Any],
) -> None:
    """openapi-typescript types a property with a non-null `default` as required, so a default
    in a request body would make every TypeScript client send it (`factor`: "sms" when
    absent, said in words)."""
    schemas = document["components"]["schemas"]
    bodies = {
        op["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
        for ops in document["paths"].values()
        for op in ops.values()
        if "$ref"
        in op.get("requestBody", {})
        .get("content", {})
        .get("application/json", {})
        .get("schema", {})
    }
    assert {"LoginVerifyRequest", "PaymentConfirmRequest"} <= bodies
    stated = [
        (name, field)
        for name in bodies
        for field, spec in schemas[name].get("properties", {}).items()
        if spec.get("default") is not None
    ]
    assert stated == []
