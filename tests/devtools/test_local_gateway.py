"""The local API Gateway serves a SAM template's handlers like API Gateway + Lambda would."""

from __future__ import annotations

import base64
import contextlib
import http.client
import json
import re
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from devtools.aws_resources import LOCAL_PARAMETERS
from devtools.local_gateway import LocalGateway, TemplateError, load_app, resolve_environment
from devtools.local_gateway.gateway_responses import (
    AUTHORIZER_CONFIGURATION_ERROR,
    EXTENSION,
    INTEGRATION_ERROR,
    INTEGRATION_TIMEOUT,
    MISSING_AUTHENTICATION_TOKEN,
    UNAUTHORIZED,
    GatewayError,
    gateway_answer,
    read_gateway_responses,
)

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURE_APP = Path(__file__).resolve().parent / "fixtures" / "gateway_app"
FIXTURE_TEMPLATE = FIXTURE_APP / "template.yaml"
REGION = "eu-west-1"

ENV_VARS = {
    "Parameters": {"GREETING": "hi-from-file", "NOT_DECLARED_ANYWHERE": "ignored"},
    "EchoFunction": {"OVERRIDDEN_BY_FUNCTION": "from-file", "FLAVOR": "file-flavor"},
}
EXTRA_ENV = {
    "AWS_DEFAULT_REGION": REGION,
    "EXTRA_FROM_TEST": "extra",
    "GLOBAL_ONLY": "from-extra-env",
}


def _alive(pid: int) -> bool:
    """True while a process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


# Waits that end as soon as what they wait for happens: long enough that a loaded machine
# cannot cross them, never a measure of speed.
SETTLE_SECS = 60.0


def _wait_dead(pids: list[int], seconds: float = SETTLE_SECS) -> list[int]:
    deadline = time.monotonic() + seconds
    alive = [pid for pid in pids if _alive(pid)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.05)
        alive = [pid for pid in alive if _alive(pid)]
    return alive


@pytest.fixture(scope="module")
def gateway() -> Iterator[LocalGateway]:
    gw = LocalGateway(
        FIXTURE_TEMPLATE,
        host="127.0.0.1",
        port=0,
        env_vars=ENV_VARS,
        parameter_overrides={"MaxItems": "9"},
        static_dir=FIXTURE_APP / "web",
        extra_env=EXTRA_ENV,
        quiet=True,
    )
    gw.start()
    yield gw
    gw.stop()


@pytest.fixture(scope="module")
def client(gateway: LocalGateway) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=gateway.base_url, timeout=SETTLE_SECS) as http:
        yield http


def _variant(tmp_path: Path, *replacements: tuple[str, str]) -> Path:
    """A copy of the fixture template with text replaced, beside the fixture's code."""
    text = FIXTURE_TEMPLATE.read_text()
    for old, new in replacements:
        assert old in text
        text = text.replace(old, new)
    for name in ("src", "layer"):
        (tmp_path / name).symlink_to(FIXTURE_APP / name)
    template = tmp_path / "template.yaml"
    template.write_text(text)
    return template


def _echo(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# -- Template reading ----------------------------------------------------------------------


def test_real_template_routes_are_discovered() -> None:
    # Given the project's own template
    gw = LocalGateway(
        REPO_ROOT / "template.yaml", port=0, parameter_overrides=LOCAL_PARAMETERS, quiet=True
    )

    # When the routes are listed (nothing is started or invoked)
    routes = {(method, path): target for method, path, target in gw.routes()}

    # Then each login endpoint is mounted on its function, with the CORS preflight
    assert routes[("POST", "/login")] == "LoginFunction"
    assert routes[("POST", "/login/verify")] == "LoginVerifyFunction"
    assert routes[("POST", "/login/resend")] == "LoginResendFunction"
    assert routes[("OPTIONS", "/login")].startswith("CORS preflight")
    assert gw.app.apis["PhoneVerifyApi"].stage == "dev"


def test_environment_resolution_with_overrides() -> None:
    # Given the fixture template with a parameter override and an env vars file
    app = load_app(FIXTURE_TEMPLATE, {"MaxItems": "9"}, region=REGION)

    # When the environments of two functions are resolved
    echo = resolve_environment(app, "EchoFunction", ENV_VARS)
    sleep = resolve_environment(app, "SleepFunction", ENV_VARS)

    # Then Ref, GetAtt and Sub resolve like a deployed stack, resources named by logical id
    assert echo["MAX_ITEMS"] == "9"  # Number parameter override, as a string
    assert echo["TABLE_NAME"] == "ItemsTable"  # Ref of a resource -> its logical id
    assert echo["TABLE_ARN"] == f"arn:aws:dynamodb:{REGION}:123456789012:table/ItemsTable"
    assert echo["ISSUER"] == f"issuer-test-{REGION}-123456789012"
    assert echo["TABLE_REFS"] == (
        f"ItemsTable|arn:aws:dynamodb:{REGION}:123456789012:table/ItemsTable|aws|amazonaws.com"
    )
    assert echo["QUOTED"] == "hello/ItemsTable/${Literal}"
    assert echo["GLOBAL_ONLY"] == "from-globals"
    # And "Parameters" applies to every function, the function's own section wins over it
    assert echo["GREETING"] == "hi-from-file"
    assert sleep["GREETING"] == "hi-from-file"
    assert echo["OVERRIDDEN_BY_FUNCTION"] == "from-file"
    assert sleep["OVERRIDDEN_BY_FUNCTION"] == "globals"
    assert echo["FLAVOR"] == "file-flavor"
    assert sleep["FLAVOR"] == "vanilla"  # parameter Default
    # And overrides never add variables the template does not declare
    assert "NOT_DECLARED_ANYWHERE" not in echo


def test_unresolvable_environment_variable_names_function_and_variable(tmp_path: Path) -> None:
    # Given a function whose environment imports another stack's output
    replacement = ("GLOBAL_ONLY: from-globals", "GLOBAL_ONLY: !ImportValue shared-vpc-id")
    template = _variant(tmp_path, replacement)
    app = load_app(template)

    # When its environment is resolved, Then the error names the function and the variable
    with pytest.raises(TemplateError, match=r"function EchoFunction: .*GLOBAL_ONLY.*ImportValue"):
        resolve_environment(app, "EchoFunction")
    # And an env vars override makes it resolvable
    env = resolve_environment(app, "EchoFunction", {"Parameters": {"GLOBAL_ONLY": "vpc-1"}})
    assert env["GLOBAL_ONLY"] == "vpc-1"
    # And the gateway refuses to start without the override
    gw = LocalGateway(template, port=0, quiet=True)
    with pytest.raises(TemplateError, match="GLOBAL_ONLY"):
        gw.start()


# -- REST API events (payload 1.0) ---------------------------------------------------------


def test_rest_event_shape(client: httpx.Client) -> None:
    # Given a path parameter, a multi-value query string and custom headers
    started_ms = int(time.time() * 1000)

    # When the route is called
    response = client.get(
        "/items/42?tag=a&tag=b&q=x%20y",
        headers={"X-Custom": "one", "User-Agent": "gateway-test/1.0"},
    )

    # Then the function receives the REST proxy event API Gateway would send
    event = _echo(response)["event"]
    assert event["resource"] == "/items/{id}"
    assert event["path"] == "/items/42"
    assert event["httpMethod"] == "GET"
    assert event["pathParameters"] == {"id": "42"}
    assert event["queryStringParameters"] == {"tag": "b", "q": "x y"}
    assert event["multiValueQueryStringParameters"] == {"tag": ["a", "b"], "q": ["x y"]}
    assert event["headers"]["X-Custom"] == "one"
    assert event["multiValueHeaders"]["X-Custom"] == ["one"]
    assert event["headers"]["X-Forwarded-For"] == "127.0.0.1"
    assert event["stageVariables"] is None
    assert event["body"] is None
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["stage"] == "test"
    assert context["path"] == "/test/items/42"
    assert context["resourcePath"] == "/items/{id}"
    assert context["httpMethod"] == "GET"
    assert context["accountId"] == "123456789012"
    assert re.fullmatch(r"[a-z0-9]{10}", context["apiId"])
    assert context["protocol"] == "HTTP/1.1"
    assert context["domainName"] == "127.0.0.1"
    assert context["identity"]["sourceIp"] == "127.0.0.1"
    assert context["identity"]["userAgent"] == "gateway-test/1.0"
    assert str(uuid.UUID(context["requestId"])) == context["requestId"]
    assert response.headers["x-amzn-RequestId"] == context["requestId"]
    assert started_ms - 1000 <= context["requestTimeEpoch"] <= int(time.time() * 1000)
    assert re.fullmatch(r"\d\d/[A-Z][a-z]{2}/\d{4}:\d\d:\d\d:\d\d \+0000", context["requestTime"])
    assert context["extendedRequestId"]
    assert context["resourceId"]


def test_rest_event_without_query_and_with_greedy_path(client: httpx.Client) -> None:
    # Given a {proxy+} route, When it is called with several segments and no query string
    event = _echo(client.get("/files/a/b/c.txt"))["event"]

    # Then the greedy parameter holds the rest of the path and the query fields are null
    assert event["resource"] == "/files/{proxy+}"
    assert event["pathParameters"] == {"proxy": "a/b/c.txt"}
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None


def test_rest_event_bodies_text_and_binary(client: httpx.Client) -> None:
    # Given an ANY route, When a JSON body is posted
    event = _echo(client.post("/echo", json={"phone": "+15550100"}))["event"]

    # Then the body arrives as text
    assert event["httpMethod"] == "POST"
    assert json.loads(event["body"]) == {"phone": "+15550100"}
    assert event["isBase64Encoded"] is False
    assert event["pathParameters"] is None

    # When a binary body is sent, Then it arrives base64-encoded
    raw = bytes(range(256))
    headers = {"Content-Type": "application/octet-stream"}
    event = _echo(client.put("/echo", content=raw, headers=headers))["event"]
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == raw


def test_proxy_result_becomes_http_response(client: httpx.Client) -> None:
    # Given a handler returning headers and multiValueHeaders
    response = client.get("/echo")

    # Then both are sent, the body is the handler's body
    assert response.status_code == 200
    assert response.headers["X-Echo"] == "yes"
    assert response.headers.get_list("Set-Cookie") == ["a=1", "b=2"]
    assert response.headers["Content-Type"] == "application/json"

    # When the result is base64-encoded, Then the client receives the decoded bytes
    binary = client.get("/echo", params={"binary": "1"})
    assert binary.content == b"\x00\x01\xfe\xff"
    # And a function whose other results are malformed passes a valid one through
    fine = client.get("/malformed/ok")
    assert (fine.status_code, fine.text) == (201, "fine")


def test_function_environment_and_context(client: httpx.Client, gateway: LocalGateway) -> None:
    # When a function runs
    body = _echo(client.get("/echo"))

    # Then its environment holds resolved template values, overrides, extra env and Lambda's
    env = body["env"]
    assert env["GREETING"] == "hi-from-file"
    assert env["OVERRIDDEN_BY_FUNCTION"] == "from-file"
    assert env["MAX_ITEMS"] == "9"
    assert env["TABLE_NAME"] == "ItemsTable"
    assert env["ISSUER"] == f"issuer-test-{REGION}-123456789012"
    assert env["EXTRA_FROM_TEST"] == "extra"
    assert env["GLOBAL_ONLY"] == "from-extra-env"  # extra_env wins over the template
    assert "PYTHONPATH" not in env
    assert "NOT_DECLARED_ANYWHERE" not in env
    assert env["AWS_LAMBDA_FUNCTION_NAME"] == "EchoFunction"
    assert env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] == "256"
    assert env["AWS_REGION"] == env["AWS_DEFAULT_REGION"] == REGION
    assert Path(env["LAMBDA_TASK_ROOT"]) == FIXTURE_APP / "src" / "echo"
    # And sys.path is the code directory, then the layer (and its python/ directory)
    assert body["sys_path"][:3] == [
        str(FIXTURE_APP / "src" / "echo"),
        str(FIXTURE_APP / "layer"),
        str(FIXTURE_APP / "layer" / "python"),
    ]
    assert body["layer"] == ["HI!", "nested"]
    assert Path(body["cwd"]) == FIXTURE_APP / "src" / "echo"
    # And the context object looks like Lambda's
    context = body["context"]
    assert context["function_name"] == "EchoFunction"
    assert context["function_version"] == "$LATEST"
    assert context["memory_limit_in_mb"] == "256"
    assert context["invoked_function_arn"] == (
        f"arn:aws:lambda:{REGION}:123456789012:function:EchoFunction"
    )
    assert context["log_group_name"] == "/aws/lambda/EchoFunction"
    assert "[$LATEST]" in context["log_stream_name"]
    assert 0 < context["remaining_ms"] <= 5000
    assert context["aws_request_id"] == body["event"]["requestContext"]["requestId"]


# -- Execution environments ----------------------------------------------------------------


def test_warm_worker_keeps_module_state(client: httpx.Client) -> None:
    # Given a function that counts its invocations in module state
    first = _echo(client.get("/echo"))["state"]

    # When it is called again
    second = _echo(client.get("/echo"))["state"]

    # Then the same warm process served it and the module was not re-imported
    assert second["pid"] == first["pid"]
    assert second["loaded_at"] == first["loaded_at"]
    assert second["invocations"] == first["invocations"] + 1


def test_concurrent_requests_run_in_parallel_workers(client: httpx.Client) -> None:
    # Given a handler that sleeps three seconds (warmed up once)
    assert client.get("/sleep", params={"seconds": "0"}).status_code == 200

    # When four requests arrive at the same time
    with ThreadPoolExecutor(max_workers=4) as pool:
        responses = list(
            pool.map(lambda _: client.get("/sleep", params={"seconds": "3"}), range(4))
        )

    # Then they ran in parallel, in four different execution environments (one at a time,
    # the warm one would have served them all)
    assert all(r.status_code == 200 for r in responses)
    bodies = [r.json() for r in responses]
    assert len({b["pid"] for b in bodies}) == 4
    # And every environment but the warm one started cold (first invocation)
    assert sum(1 for b in bodies if b["invocations"] == 1) >= 3


@pytest.mark.parametrize(
    "path",
    [
        "/boom",
        "/broken",
        *(f"/malformed/{kind}" for kind in ("dict-body", "no-status", "not-a-dict", "extra-key")),
    ],
)
def test_function_failure_is_502_every_time(client: httpx.Client, path: str) -> None:
    # When the handler raises, its module does not import, or it returns something that is
    # not a valid proxy result (twice: a new environment retries the import)
    responses = [client.get(path) for _ in range(2)]

    # Then API Gateway's generic error comes back each time
    assert [r.status_code for r in responses] == [502, 502]
    assert all(r.json() == {"message": "Internal server error"} for r in responses)


def test_timeout_is_504_and_worker_is_killed(client: httpx.Client, gateway: LocalGateway) -> None:
    # Given a function with Timeout: 1 that would sleep a minute
    started = time.monotonic()

    # When it is called
    response = client.get("/slow", params={"seconds": "60"})

    # Then the gateway answers 504 once the timeout passes, long before the function would
    # have ended, and the worker is gone
    assert response.status_code == 504
    assert response.json() == {"message": "Endpoint request timed out"}
    assert time.monotonic() - started < 45
    assert gateway.worker_pids().get("SlowFunction", []) == []


# -- Routing, CORS, static files -----------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path"),
    [("POST", "/nowhere"), ("DELETE", "/items/42"), ("POST", "/files/x"), ("PUT", "/files")],
)
def test_unknown_route_or_method_is_missing_authentication_token(
    client: httpx.Client, method: str, path: str
) -> None:
    # When no resource/method is mounted for the request (GET goes to static files here)
    response = client.request(method, path)

    # Then the answer is API Gateway's 403 for unknown routes
    assert response.status_code == 403
    assert response.json() == {"message": "Missing Authentication Token"}
    assert response.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"


def test_the_templates_gateway_responses_shape_api_gateways_own_answers() -> None:
    # Given the project's API, whose GatewayResponses answer {"error", "code"} with CORS
    app = load_app(REPO_ROOT / "template.yaml", LOCAL_PARAMETERS)
    api = app.apis["PhoneVerifyApi"]
    assert not [w for w in app.warnings if "GatewayResponses" in w]
    cors = ("Access-Control-Allow-Origin", LOCAL_PARAMETERS["AllowedOrigin"])
    too_large = GatewayError("REQUEST_TOO_LARGE", 413, "Request Too Long")
    cases = [
        # (error, status, body): a type of its own, and types answered by DEFAULT_4XX/5XX
        (MISSING_AUTHENTICATION_TOKEN, 404, "not_found"),
        (UNAUTHORIZED, 401, "unauthorized"),
        (too_large, 413, "bad_request"),
        (AUTHORIZER_CONFIGURATION_ERROR, 503, "service_unavailable"),  # the authorizer raised
        (INTEGRATION_TIMEOUT, 504, "timeout"),
        (INTEGRATION_ERROR, 502, "internal_error"),
    ]
    for error, status, code in cases:
        # When API Gateway answers it itself
        body, answered, headers = gateway_answer(api.gateway_responses, error, "req-1")
        # Then it is the functions' error shape, readable from the allowed origin
        assert answered == status, error
        assert json.loads(body)["code"] == code, error
        assert cors in headers, error
    assert json.loads(gateway_answer(api.gateway_responses, too_large, "r")[0]) == {
        "error": "Request Too Long",
        "code": "bad_request",
    }


def test_gateway_responses_the_gateway_cannot_render_are_reported() -> None:
    # Given responses with a header taken from the request and a VTL directive
    warnings: list[str] = []
    body = {
        EXTENSION: {
            "DEFAULT_4XX": {
                "responseParameters": {"gatewayresponse.header.X-Echo": "method.request.header.X"},
                "responseTemplates": {"application/json": '#set($a = 1){"m": "$context.path"}'},
            }
        }
    }
    # When they are read
    responses = read_gateway_responses(body, "Api", warnings)
    # Then each is named, and the rest still served
    assert len(warnings) == 2, warnings
    assert "X-Echo" in warnings[0]
    assert "context.path" in warnings[1]
    assert responses["DEFAULT_4XX"].headers == ()


def test_cors_preflight_uses_api_cors_settings(client: httpx.Client) -> None:
    # When a browser sends a preflight for a mounted path
    response = client.options(
        "/items/42",
        headers={"Origin": "https://app.example", "Access-Control-Request-Method": "GET"},
    )

    # Then the Api's Cors settings answer it (quotes removed), without calling a function
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "https://app.example"
    assert response.headers["Access-Control-Allow-Methods"] == "GET,POST,OPTIONS"
    assert response.headers["Access-Control-Allow-Headers"] == "Content-Type,Authorization"
    assert response.headers["Access-Control-Max-Age"] == "600"
    assert response.content == b""
    # And a path that is not mounted still gets the 403
    assert client.options("/nowhere").status_code == 403


def test_static_files_are_served_outside_function_routes(client: httpx.Client) -> None:
    # When the root and a file are requested
    index = client.get("/")
    script = client.get("/app.js")

    # Then they come from the static directory
    assert index.status_code == 200
    assert "static index" in index.text
    assert index.headers["Content-Type"].startswith("text/html")
    assert script.status_code == 200
    assert "javascript" in script.headers["Content-Type"]
    # And a path owned by a function is never served from disk
    assert "never be served" not in client.get("/echo").text
    # And a missing file is API Gateway's answer for no route (this API has no
    # GatewayResponses: its default 403)
    missing = client.get("/missing.css")
    assert missing.status_code == 403
    assert missing.json() == {"message": "Missing Authentication Token"}


@pytest.mark.parametrize(
    "target", ["/../template.yaml", "/%2e%2e/template.yaml", "/..%2ftemplate.yaml"]
)
def test_static_files_refuse_directory_traversal(gateway: LocalGateway, target: str) -> None:
    # Given a raw request target that escapes the static directory (no client normalisation)
    connection = http.client.HTTPConnection("127.0.0.1", gateway.port, timeout=SETTLE_SECS)
    try:
        connection.request("GET", target)
        response = connection.getresponse()
        body = response.read()
    finally:
        connection.close()

    # Then the file outside the directory is not served
    assert response.status in (403, 404)
    assert b"AWSTemplateFormatVersion" not in body


# -- Function URLs (payload 2.0) -----------------------------------------------------------


def test_function_url_event_shape(client: httpx.Client) -> None:
    # When the function URL is called on its local mount path
    response = client.post(
        "/webhooks/test/hook?x=1&x=2&y=",
        content=b'{"data": {"event_type": "verify.sent"}}',
        headers={
            "Content-Type": "application/json",
            "Cookie": "c1=v1; c2=v2",
            "X-Signature": "sig",
            "User-Agent": "telnyx-webhooks",
        },
    )

    # Then the handler's full response form is used
    assert response.status_code == 202
    assert response.headers["Set-Cookie"] == "session=abc; HttpOnly"
    # And the event is payload format 2.0, relative to the function URL's root
    event = response.json()["event"]
    assert event["version"] == "2.0"
    assert event["routeKey"] == "$default"
    assert event["rawPath"] == "/hook"
    assert event["rawQueryString"] == "x=1&x=2&y="
    assert event["queryStringParameters"] == {"x": "1,2", "y": ""}
    assert event["cookies"] == ["c1=v1", "c2=v2"]
    assert event["headers"]["x-signature"] == "sig"
    assert event["headers"]["content-type"] == "application/json"
    assert "cookie" not in event["headers"]
    assert json.loads(event["body"]) == {"data": {"event_type": "verify.sent"}}
    assert event["isBase64Encoded"] is False
    context = event["requestContext"]
    assert context["http"] == {
        "method": "POST",
        "path": "/hook",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "telnyx-webhooks",
    }
    assert context["stage"] == "$default"
    assert context["routeKey"] == "$default"
    assert str(uuid.UUID(context["requestId"])) == context["requestId"]
    assert isinstance(context["timeEpoch"], int)
    assert context["domainName"] == "127.0.0.1"


def test_function_url_generic_mount_and_shorthand_response(client: httpx.Client) -> None:
    # When the function URL is called on /_function_urls/<LogicalId> and returns a bare dict
    response = client.get("/_function_urls/WebhookFunction", params={"shorthand": "1"})

    # Then Lambda's inferred response is used: 200, JSON of the returned value
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json"
    assert response.json() == {"received": True, "path": "/"}


def test_function_url_handler_error_is_502(client: httpx.Client) -> None:
    # When the function behind the URL raises, Then the function URL answers 502
    response = client.get("/webhooks/test", params={"fail": "1"})
    assert response.status_code == 502
    assert response.text == "Internal Server Error"


# -- Lambda authorizer (REQUEST) -----------------------------------------------------------


def test_authorizer_allows_and_passes_context(client: httpx.Client, gateway: LocalGateway) -> None:
    # When a request carries a token the authorizer allows
    event = _echo(client.get("/secure", headers={"Authorization": "Bearer allow"}))["event"]

    # Then the function runs with the authorizer's context and principal
    authorizer = event["requestContext"]["authorizer"]
    assert authorizer["principalId"] == "user-1"
    assert authorizer["userId"] == "u-1"
    assert authorizer["admin"] == "true"
    assert authorizer["level"] == "3"
    assert authorizer["eventType"] == "REQUEST"
    api_id = gateway.app.apis["SecureApi"].api_id
    assert authorizer["methodArn"] == (
        f"arn:aws:execute-api:{REGION}:123456789012:{api_id}/secure/GET/secure"
    )
    assert event["requestContext"]["stage"] == "secure"


@pytest.mark.parametrize(
    ("headers", "status", "body"),
    [
        ({}, 401, {"message": "Unauthorized"}),
        ({"Authorization": "Bearer reject"}, 401, {"message": "Unauthorized"}),
        (
            {"Authorization": "Bearer deny"},
            403,
            {"Message": "User is not authorized to access this resource with an explicit deny"},
        ),
        (
            {"Authorization": "Bearer elsewhere"},
            403,
            {"Message": "User is not authorized to access this resource"},
        ),
    ],
)
def test_authorizer_refusals(
    client: httpx.Client, headers: dict[str, str], status: int, body: dict[str, str]
) -> None:
    # When the identity header is missing, the authorizer rejects, or its policy denies
    response = client.get("/secure", headers=headers)

    # Then API Gateway's refusal comes back and the function is not called
    assert response.status_code == status
    assert response.json() == body


def test_authorizer_none_on_event_disables_default_authorizer(client: httpx.Client) -> None:
    # When a route declared with Auth: Authorizer: NONE is called without a token
    event = _echo(client.get("/secure/public"))["event"]

    # Then it is served without an authorizer context
    assert "authorizer" not in event["requestContext"]


def test_token_authorizer_and_authorized_cors_preflight(tmp_path: Path) -> None:
    # Given the SecureApi switched to a TOKEN authorizer, with Cors and SAM's default of
    # also protecting the CORS preflight
    template = _variant(
        tmp_path,
        ("      StageName: secure\n", "      StageName: secure\n      Cors: \"'*'\"\n"),
        ("        AddDefaultAuthorizerToCorsPreflight: false\n", ""),
        ("FunctionPayloadType: REQUEST", "FunctionPayloadType: TOKEN"),
        (
            "              Headers:\n                - Authorization\n",
            "              Header: X-Token\n"
            "              ValidationExpression: '^Bearer [a-z]+$'\n",
        ),
    )

    local = LocalGateway(template, port=0, extra_env=EXTRA_ENV, quiet=True)
    with local as gw, httpx.Client(base_url=gw.base_url, timeout=SETTLE_SECS) as http:
        # When the token header is sent, Then the authorizer gets a TOKEN event
        event = _echo(http.get("/secure", headers={"X-Token": "Bearer allow"}))["event"]
        assert event["requestContext"]["authorizer"]["eventType"] == "TOKEN"
        # And a token failing ValidationExpression or a missing one is a 401
        assert http.get("/secure", headers={"X-Token": "nope"}).status_code == 401
        assert http.get("/secure").status_code == 401
        # And the preflight needs the token too (AddDefaultAuthorizerToCorsPreflight)
        assert http.options("/secure").status_code == 401
        preflight = http.options("/secure", headers={"X-Token": "Bearer allow"})
        assert preflight.status_code == 200
        assert preflight.headers["Access-Control-Allow-Origin"] == "*"
        assert preflight.headers["Access-Control-Allow-Methods"] == "GET,OPTIONS"


# -- Process lifecycle ---------------------------------------------------------------------


def test_stop_leaves_no_worker_processes() -> None:
    # Given a running gateway with a few warm workers
    gw = LocalGateway(FIXTURE_TEMPLATE, port=0, extra_env=EXTRA_ENV, quiet=True).start()
    with httpx.Client(base_url=gw.base_url, timeout=SETTLE_SECS) as http:
        with ThreadPoolExecutor(max_workers=2) as pool:
            list(pool.map(lambda _: http.get("/sleep", params={"seconds": "3"}), range(2)))
        http.get("/echo")
        # (without a static directory, an unknown GET is API Gateway's 403 as well)
        assert http.get("/nowhere").status_code == 403
        assert http.get("/files").status_code == 403
    pids = [pid for group in gw.worker_pids().values() for pid in group]
    assert len(pids) >= 3

    # When it stops
    gw.stop()

    # Then every worker process is gone
    assert _wait_dead(pids) == []


@contextlib.contextmanager
def _cli() -> Iterator[tuple[subprocess.Popen[str], str]]:
    """The command-line gateway on a free port: (process, base URL); killed at the end."""
    command = [sys.executable, "-m", "devtools.local_gateway", "-t", str(FIXTURE_TEMPLATE)]
    process = subprocess.Popen(
        [*command, "--port", "0", "--quiet", "--extra-env", f"AWS_DEFAULT_REGION={REGION}"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        match = re.search(r"Listening on (http://\S+)", line)
        assert match is not None, f"gateway did not start: {line!r}"
        yield process, match.group(1)
    finally:
        process.kill()
        process.wait()


def _children(pid: int) -> set[int]:
    tasks = Path(f"/proc/{pid}/task").iterdir()
    return {int(child) for task in tasks for child in (task / "children").read_text().split()}


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_cli_signal_stops_workers(signum: int) -> None:
    # Given the command-line gateway with a warm worker
    with _cli() as (process, base_url):
        pid = httpx.get(f"{base_url}/echo", timeout=SETTLE_SECS).json()["state"]["pid"]
        assert _alive(pid)

        # When it receives the signal
        process.send_signal(signum)

        # Then it exits cleanly and the worker is gone
        assert process.wait(timeout=SETTLE_SECS) == 0
        assert _wait_dead([pid]) == []


def test_workers_exit_when_gateway_is_killed() -> None:
    # Given the command-line gateway with an idle worker and one busy for five minutes
    with _cli() as (process, base_url), ThreadPoolExecutor(max_workers=1) as pool:
        idle = httpx.get(f"{base_url}/echo", timeout=SETTLE_SECS).json()["state"]["pid"]
        pool.submit(httpx.get, f"{base_url}/sleep", params={"seconds": "300"}, timeout=400)
        assert process.stderr is not None
        assert any("[SleepFunction] START" in line for line in process.stderr)
        workers = _children(process.pid)
        assert idle in workers and len(workers) == 2

        # When the gateway is killed without any chance to clean up
        process.kill()
        process.wait(timeout=SETTLE_SECS)

        # Then both orphaned workers notice and exit by themselves, the busy one mid-call
        assert _wait_dead(sorted(workers)) == []
