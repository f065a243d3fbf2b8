"""One OpenAPI document for the whole API, assembled from each function's own resolver.

Every function validates its requests with Powertools' resolver and pydantic models, so the
resolvers already know their routes and schemas; this merges them, adds the bearer scheme
on the routes behind the authorizer, and writes the document plus a Swagger UI page for the
local stack (`/openapi.json`, `/docs`).
"""

from __future__ import annotations

import importlib.util
import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from devtools.aws_resources import LOCAL_PARAMETERS, TEMPLATE
from devtools.error_codes import ERROR_CODE, GatewayCode, error_code_schema, gateway_codes
from devtools.local_gateway import load_app, resolve_environment
from devtools.release import project_version
from phoneverify.adapters.telnyx.webhooks import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    TelnyxEventEnvelope,
)

TITLE = "phone-verify"
VERSION = project_version()  # pyproject.toml, the one version source (devtools/release.py)
DESCRIPTION = (
    "Phone verification with Telnyx Verify: login 2FA, sign-up phone proof, password reset "
    "by phone and payment step-up. Every error, a function's or API Gateway's own, answers the "
    "one `ErrorResponse` shape (`error`, `code`, and `field`, `attempts_remaining`, "
    "`retry_after`, `response_code`, `status` where they apply); `code` is one of `ErrorCode` "
    "(each described with what a client should do; docs/api.md) or a newer one."
)
# Swagger UI from the assets Powertools ships (the version its own /swagger serves), next to
# the page: /docs renders with no network beyond the local stack. validatorUrl null: no badge
# fetched from validator.swagger.io.
SWAGGER_ASSETS = ("swagger-ui.min.css", "swagger-ui-bundle.min.js")
SWAGGER_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>phone-verify API</title>
  <link rel="stylesheet" href="/docs/swagger-ui.min.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.min.js"></script>
  <script>
    SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui", validatorUrl: null});
  </script>
</body>
</html>
"""


# Where the API is served. The local stack puts its own address first (write_site).
SERVERS: list[dict[str, Any]] = [
    {"url": "http://127.0.0.1:3000", "description": "make run"},
    {
        "url": "https://{restApiId}.execute-api.{region}.amazonaws.com/{stage}",
        "description": "AWS (the stack's ApiUrl output)",
        "variables": {
            "restApiId": {"default": "abcdefghij"},
            "region": {"default": "us-east-1"},
            "stage": {"default": "dev"},
        },
    },
]
# One tag per flow, in the order a reader meets them (http/operations.py `documented`).
TAGS = [
    {"name": name, "description": description}
    for name, description in {
        "Login": "Password, then a code to the account's phone.",
        "Registration": "Sign-up: the account exists once its phone and its email are proven.",
        "Password reset": "A code to the account's phone sets a new password.",
        "Payments": "Step-up: a code before a payment at or above the threshold.",
        "Verifications": "Cancel a pending verification, or ask where it stands.",
        "Sessions": "End one access token, or all of an account's.",
        "Fresh authentication": "The step-up before an account change: the password, then a "
        "code to the account's phone, for a short-lived `Reauth-Token`.",
        "Account phone": "Add or change the account's phone: the `Reauth-Token` (or, without a "
        "phone, the password), then a code to the new number; the old number is told and every "
        "other session ends.",
        "Account": "The signed-in account: who it is, and whether its email is proven.",
        "Account email": "Change the account's email (the `Reauth-Token`, then a code to the new "
        "address; both addresses are told), or prove the one it has.",
        "Passkeys": "The account's passkeys (WebAuthn): add one with the `Reauth-Token`, list "
        "them, remove one with the `Reauth-Token` (its owner is told).",
        "Authenticator app": "An authenticator app (TOTP): enrol with the `Reauth-Token` (the "
        "secret shown once, confirmed by a first code, ten recovery codes given), remove it with "
        "the `Reauth-Token` (its owner is told).",
        "Proof of work": "A challenge to solve before a sign-up or a password reset, where "
        "the gate asks for one (the `altcha` field).",
        "Webhooks": "What Telnyx sends to the webhook function URL.",
    }.items()
]
WEBHOOK_PATH = "/webhooks/telnyx"
WEBHOOK_NAME = "telnyxVerifyEvent"
# What API Gateway itself answers before or instead of a function, by gateway response type
# (their codes and statuses: template.yaml GatewayResponses, devtools/error_codes.py).
EVERY_ROUTE_GATEWAY = {
    "THROTTLED": "API Gateway: the stage's request rate is exceeded",
    "INTEGRATION_FAILURE": "API Gateway: the function could not be run, e.g. Lambda throttled it",
    "INTEGRATION_TIMEOUT": "API Gateway: the function did not answer within its timeout",
}
AUTHORIZED_ROUTE_GATEWAY = {
    "UNAUTHORIZED": "the token authorizer: no Authorization header",
    "ACCESS_DENIED": "the token authorizer: a token missing, malformed, expired, forged or ended",
    "AUTHORIZER_FAILURE": "the token authorizer could not check the token",
}
ERROR_REF = {"$ref": "#/components/schemas/ErrorResponse"}
RETRY_AFTER = {
    "description": "Seconds to wait before trying again (the body's retry_after).",
    "schema": {"type": "integer", "minimum": 0},
}


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _resolver_schema(app_py: Path, env: dict[str, str]) -> tuple[dict[str, Any], str]:
    """The function's own OpenAPI document, and its module docstring."""
    spec = importlib.util.spec_from_file_location(f"openapi_{uuid.uuid4().hex}", app_py)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    with _environment(env):  # the function validates its settings at import, as at cold start
        spec.loader.exec_module(module)
    schema: dict[str, Any] = json.loads(module.app.get_openapi_json_schema(title=TITLE))
    return schema, module.__doc__ or ""


def _describe(operation: dict[str, Any], docstring: str) -> None:
    """Summary and description from the handler's docstring ("POST /login: check ...")."""
    first, _, rest = docstring.strip().partition("\n\n")
    head = " ".join(first.split())
    if ": " in head:
        operation["summary"] = head.split(": ", 1)[1].split(". ")[0].rstrip(".")
    text = " ".join((head + " " + rest).split()) if rest else head
    own = operation.get("description")  # the route's own (`description=`), after the module's
    operation["description"] = f"{text} {own}" if own else text


def _drop_validation_422(operation: dict[str, Any]) -> None:
    """Powertools documents its own 422 for validation failures; ours answer 400."""
    response = operation["responses"].get("422", {})
    schema = response.get("content", {}).get("application/json", {}).get("schema", {})
    if schema.get("$ref", "").endswith("/HTTPValidationError"):
        del operation["responses"]["422"]


def _add_gateway_errors(
    operation: dict[str, Any], gateway: dict[str, GatewayCode], why: dict[str, str]
) -> None:
    """Document API Gateway's own answers of these types under their statuses, with the
    shared body (and Retry-After where the answer says when to come back)."""
    for response_type, reason in why.items():
        answer = gateway[response_type]
        codes = f"`{answer.code}` ({reason})"
        response = operation["responses"].setdefault(
            str(answer.status),
            {"description": "code: ", "content": {"application/json": {"schema": ERROR_REF}}},
        )
        if codes not in response["description"]:
            joiner = "" if response["description"] == "code: " else ", "
            response["description"] += joiner + codes
        if answer.retry_after:
            response.setdefault("headers", {})["Retry-After"] = RETRY_AFTER


def _webhook(operation: dict[str, Any], schemas: dict[str, Any]) -> dict[str, Any]:
    """The Telnyx webhook as a 3.1 `webhooks` entry: signed headers and the event body."""
    envelope = TelnyxEventEnvelope.model_json_schema(ref_template="#/components/schemas/{model}")
    schemas.update(envelope.pop("$defs", {}))
    schemas[TelnyxEventEnvelope.__name__] = envelope
    operation["parameters"] = [
        {
            "name": SIGNATURE_HEADER,
            "in": "header",
            "required": True,
            "description": "Base64 Ed25519 signature of `{telnyx-timestamp}|{raw body}`.",
            "schema": {"type": "string"},
        },
        {
            "name": TIMESTAMP_HEADER,
            "in": "header",
            "required": True,
            "description": "Unix seconds; refused more than 300 s away from the server's clock.",
            "schema": {"type": "string", "pattern": "^[0-9]+$"},
        },
    ]
    operation["requestBody"] = {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"$ref": f"#/components/schemas/{TelnyxEventEnvelope.__name__}"}
            }
        },
    }
    operation["description"] = (
        "Sent by Telnyx to the webhook function URL (the stack's TelnyxWebhookUrl output; "
        f"locally {WEBHOOK_PATH} on the API's address): Verify events such as "
        "`verify.sent`, `verify.delivered`, `verify.failed` (other types are accepted and "
        "ignored). " + operation.get("description", "")
    ).strip()
    return {"post": operation}


# Ids one answer hands to the next request (stateful clients and schemathesis follow these).
LINKED_IDS = ("flow_id", "payment_id")


def _properties(schema: dict[str, Any], schemas: dict[str, Any]) -> set[str]:
    """The property names of a (possibly $ref'd, anyOf'd) object schema."""
    if "$ref" in schema:
        return _properties(schemas[schema["$ref"].rsplit("/", 1)[1]], schemas)
    names = set(schema.get("properties", {}))
    for option in schema.get("anyOf", []) + schema.get("oneOf", []):
        names |= _properties(option, schemas)
    return names


def _takes(operation: dict[str, Any], schemas: dict[str, Any]) -> dict[str, str]:
    """id name -> where the operation takes it: "body" or "query"."""
    taken = {p["name"]: "query" for p in operation.get("parameters", []) if p["in"] == "query"}
    body = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
    taken |= {name: "body" for name in _properties(body.get("schema", {}), schemas)}
    return {name: where for name, where in taken.items() if name in LINKED_IDS}


def _add_links(paths: dict[str, Any], schemas: dict[str, Any]) -> None:
    """Link every success answer that hands out a flow_id or payment_id to each operation of
    the same flow (tag), or of Verifications, that takes it: login -> loginVerify, ..."""
    operations = [op for ops in paths.values() for op in ops.values()]
    for source in operations:
        status = next((s for s in source["responses"] if s.startswith("2")), None)
        if status is None:
            continue
        answer = source["responses"][status].get("content", {}).get("application/json", {})
        gives = _properties(answer.get("schema", {}), schemas) & set(LINKED_IDS)
        links: dict[str, Any] = {}
        for target in operations:
            related = set(target.get("tags", [])) & {*source.get("tags", []), "Verifications"}
            if target is source or not related:
                continue
            for name, where in _takes(target, schemas).items():
                if name not in gives:
                    continue
                link = links.setdefault(
                    target["operationId"], {"operationId": target["operationId"]}
                )
                expression = f"$response.body#/{name}"
                if where == "query":
                    link.setdefault("parameters", {})[f"query.{name}"] = expression
                else:
                    link.setdefault("requestBody", {})[name] = expression
        if links:
            source["responses"][status]["links"] = links


def build_openapi(
    template: Path = TEMPLATE, servers: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """The merged document: every API route of every function in `template`, the Telnyx
    webhook under `webhooks`, and API Gateway's own answers (authorizer, throttling)."""
    app = load_app(template, LOCAL_PARAMETERS)
    document: dict[str, Any] = {
        "openapi": "3.1.0",  # what Powertools generates (JSON Schema nulls and all)
        "info": {"title": TITLE, "version": VERSION, "description": DESCRIPTION},
        "servers": servers or SERVERS,
        "tags": TAGS,
        "paths": {},
        "webhooks": {},
        "components": {
            "schemas": {},
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        },
    }
    schemas = document["components"]["schemas"]
    api_functions = {str(route.function_id) for route in app.routes}
    url_functions = {fid for fid, function in app.functions.items() if function.url_paths}
    for function_id in sorted(api_functions | url_functions):
        function = app.functions[function_id]
        env = {"AWS_DEFAULT_REGION": "us-east-1", **resolve_environment(app, function_id)}
        schema, docstring = _resolver_schema(function.code_dir / "app.py", env)
        schemas.update(schema.get("components", {}).get("schemas", {}))
        for path, operations in schema.get("paths", {}).items():
            for operation in operations.values():
                _drop_validation_422(operation)
                _describe(operation, docstring)
            if function_id in api_functions:
                document["paths"].setdefault(path, {}).update(operations)
            elif path == WEBHOOK_PATH:
                document["webhooks"][WEBHOOK_NAME] = _webhook(operations["post"], schemas)
    _add_links(document["paths"], schemas)
    for name in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        schemas.pop(name, None)  # Powertools' validation bodies: ours are ErrorResponse
    gateway = gateway_codes(
        {t: r for api in app.apis.values() for t, r in api.gateway_responses.items()}
    )
    codes = error_code_schema(gateway)
    schemas[ERROR_CODE] = codes["enum"]
    schemas["ErrorResponse"]["properties"]["code"] = codes["code"]
    for route in app.routes:
        for operation in document["paths"].get(route.path, {}).values():
            _add_gateway_errors(operation, gateway, EVERY_ROUTE_GATEWAY)
            if route.authorizer:  # behind the token authorizer
                operation["security"] = [{"bearerAuth": []}]
                _add_gateway_errors(operation, gateway, AUTHORIZED_ROUTE_GATEWAY)
            operation["responses"] = dict(sorted(operation["responses"].items()))
    return document


def write_site(directory: Path, template: Path = TEMPLATE, api_url: str | None = None) -> None:
    """`openapi.json`, and `docs/` with Swagger UI's page and assets, under `directory`, for
    the static file server; `api_url` (the local stack's address) is then the document's first
    server."""
    servers = SERVERS
    if api_url is not None:
        servers = [{"url": api_url, "description": "this local stack"}, *SERVERS[1:]]
    (directory / "docs").mkdir(parents=True, exist_ok=True)
    document = build_openapi(template, servers)
    (directory / "openapi.json").write_text(json.dumps(document, indent=2))
    (directory / "docs" / "index.html").write_text(SWAGGER_PAGE)
    assets = resources.files("aws_lambda_powertools.event_handler.openapi.swagger_ui")
    for name in SWAGGER_ASSETS:
        (directory / "docs" / name).write_bytes(assets.joinpath(name).read_bytes())


if __name__ == "__main__":
    print(json.dumps(build_openapi(), indent=2))
