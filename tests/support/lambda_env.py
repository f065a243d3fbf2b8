"""Load a function's app.py the way Lambda does: with its template environment, at cold start."""

from __future__ import annotations

import base64
import importlib.util
import json
import re
import uuid
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from devtools.aws_resources import LOCAL_PARAMETERS
from devtools.local_gateway import load_app, resolve_environment

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class LambdaContext:
    function_name: str
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:test"
    aws_request_id: str = ""

    def __post_init__(self) -> None:
        self.aws_request_id = str(uuid.uuid4())

    def get_remaining_time_in_millis(self) -> int:
        return 10_000


def template_environment(
    function_id: str, parameter_overrides: dict[str, str] | None = None
) -> dict[str, str]:
    """The function's environment as template.yaml declares it, resolved as locally named
    (AllowedOrigin, which has no default, is the local stack's origin unless overridden)."""
    app = load_app(ROOT / "template.yaml", {**LOCAL_PARAMETERS, **(parameter_overrides or {})})
    return resolve_environment(app, function_id)


def offline_aws_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fake credentials and the test region, and no profile or endpoint that could reach real
    AWS: every test runs under it, and so does a fixture that builds a module's stack."""
    for name in (
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_DYNAMODB",
        "AWS_ENDPOINT_URL_SSM",
        "AWS_SESSION_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "PhoneVerifyTest")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "phone-verify-test")


def load_function(
    directory: str, monkeypatch: pytest.MonkeyPatch, env: dict[str, str]
) -> ModuleType:
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    path = ROOT / "functions" / directory / "app.py"
    spec = importlib.util.spec_from_file_location(f"function_{directory}_{uuid.uuid4().hex}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# -- events, each built from a committed sample (events/*.json) ------------------------------
def api_event(
    path: str,
    body: Any,
    *,
    headers: dict[str, str] | None = None,
    method: str = "POST",
    query: dict[str, str] | None = None,
) -> dict[str, Any]:
    """An API Gateway REST proxy event for `path`; `query` is the query string of a GET."""
    sample = json.loads((ROOT / "events" / "login.json").read_text())
    sample.update(
        resource=path,
        path=path,
        body=body if isinstance(body, str) or body is None else json.dumps(body),
    )
    sample["requestContext"] = {
        **sample["requestContext"],
        "resourcePath": path,
        "path": "/dev" + path,
        "requestId": str(uuid.uuid4()),
    }
    if headers:
        sample["headers"] = {**sample["headers"], **headers}
        sample["multiValueHeaders"] = {k: [v] for k, v in sample["headers"].items()}
    if method != "POST":
        sample["httpMethod"] = method
        sample["requestContext"]["httpMethod"] = method
        sample["queryStringParameters"] = query
        sample["multiValueQueryStringParameters"] = (
            {key: [value] for key, value in query.items()} if query is not None else None
        )
    return sample


def url_event(body: bytes, headers: dict[str, str], *, base64_body: bool = False) -> dict[str, Any]:
    """A function URL (payload 2.0) event, as the Telnyx webhook's URL receives it."""
    event: dict[str, Any] = json.loads((ROOT / "events" / "webhook_telnyx.json").read_text())
    kept = {k: v for k, v in event["headers"].items() if not k.startswith("telnyx-")}
    event["headers"] = {**kept, **{k.lower(): v for k, v in headers.items()}}
    event["requestContext"]["requestId"] = str(uuid.uuid4())
    event["isBase64Encoded"] = base64_body
    event["body"] = base64.b64encode(body).decode() if base64_body else body.decode("utf-8")
    return event


def websocket_event(
    route: str,
    connection_id: str,
    query: dict[str, str] | None = None,
    origin: str | None = None,
) -> dict[str, Any]:
    """A WebSocket API event ("$connect" with `query` and `origin`, or "$disconnect") for
    `connection_id`, from events/ws_connect.json or ws_disconnect.json."""
    name = "ws_connect" if route == "$connect" else "ws_disconnect"
    sample: dict[str, Any] = json.loads((ROOT / "events" / f"{name}.json").read_text())
    sample["requestContext"]["connectionId"] = connection_id
    sample["requestContext"]["requestId"] = str(uuid.uuid4())
    if route == "$connect":
        headers = {k: v for k, v in sample["headers"].items() if k != "Origin"}
        if origin is not None:
            headers["Origin"] = origin
        sample["headers"] = headers
        sample["multiValueHeaders"] = {k: [v] for k, v in headers.items()}
        sample["queryStringParameters"] = query
        sample["multiValueQueryStringParameters"] = (
            {k: [v] for k, v in query.items()} if query else None
        )
    return sample


def authorizer_event(authorization: str | None, method_arn: str) -> dict[str, Any]:
    """A REQUEST authorizer event for `method_arn`, with this Authorization header (or none)."""
    sample: dict[str, Any] = json.loads((ROOT / "events" / "authorizer.json").read_text())
    headers = {k: v for k, v in sample["headers"].items() if k != "Authorization"}
    if authorization is not None:
        headers["Authorization"] = authorization
    sample["headers"] = headers
    sample["multiValueHeaders"] = {k: [v] for k, v in headers.items()}
    sample["methodArn"] = method_arn
    return sample


def invoke(module: ModuleType, event: dict[str, Any]) -> tuple[int, dict[str, Any], dict[str, str]]:
    """Call the handler as Lambda does. Every answer must be one its OpenAPI operation lists,
    down to the error's `code`: a handler that answers a status, or an error code under a
    status, that the document does not name fails the test that provoked it (the handler's
    `documented(...)` list is incomplete; http/operations.py, docs/design.md)."""
    response = module.lambda_handler(event, LambdaContext(function_name=module.__name__))
    body = json.loads(response["body"]) if response.get("body") else {}
    headers = {k: v[-1] for k, v in (response.get("multiValueHeaders") or {}).items()}
    headers.update(response.get("headers") or {})
    status: int = response["statusCode"]
    if hasattr(module, "app"):
        check_documented(module, event, status, body)
    return status, body, headers


def check_documented(
    module: ModuleType, event: dict[str, Any], status: int, body: dict[str, Any]
) -> None:
    """Assert that the answer (`status`, and `code` for an error) is one the function's
    OpenAPI operation for the event lists, and record it (ANSWERED)."""
    documented = documented_answers(module, event)
    if documented is None:
        return
    route = event_route(event)
    assert str(status) in documented, (
        f"{route} answered {status} {body}, which its OpenAPI operation does "
        f"not list ({sorted(documented)}): add the error to its `documented(...)`"
    )
    code = body.get("code") if status >= 400 and isinstance(body, dict) else None
    if code is not None:
        assert code in documented[str(status)], (
            f"{route} answered {status} `{code}`, which its OpenAPI operation does not list "
            f"under {status} ({sorted(documented[str(status)])}): add the error to its "
            "`documented(...)`"
        )
    ANSWERED.add((*route, str(status), code))


def event_route(event: dict[str, Any]) -> tuple[str, str]:
    """(METHOD, path) of a REST proxy or function URL event."""
    if "httpMethod" in event:
        return str(event["httpMethod"]).upper(), str(event["path"])
    return str(event["requestContext"]["http"]["method"]).upper(), str(event["rawPath"])


def documented_answers(module: ModuleType, event: dict[str, Any]) -> dict[str, set[str]] | None:
    """status -> the error codes the function's own OpenAPI document lists for the event's
    operation under it (none for a success; its validation 422 aside: ours answer 400); None
    when the document has no such operation."""
    if module.__name__ not in _DOCUMENTS:
        _DOCUMENTS[module.__name__] = module.app.get_openapi_schema()
    method, path = event_route(event)
    paths = _DOCUMENTS[module.__name__].paths or {}
    item = paths.get(path)
    operation = getattr(item, method.lower(), None) if item is not None else None
    if operation is None or operation.responses is None:
        return None
    answers = {
        str(status): set(DOCUMENTED_CODE.findall(str(getattr(response, "description", ""))))
        for status, response in operation.responses.items()
    }
    validation = operation.responses.get(422) or operation.responses.get("422")  # type: ignore[call-overload]
    if validation is not None and "HTTPValidationError" in str(validation):
        answers.pop("422", None)
    DOCUMENTED[(method, path)] = answers
    return answers


# How http/operations.py `error_responses` lists a status's codes: "code: `a`, `b`".
DOCUMENTED_CODE = re.compile(r"`(\w+)`")
_DOCUMENTS: dict[str, Any] = {}
# (METHOD, path, status, error code or None) of every answer checked in this session, and the
# documented answers of each operation met (tests/plugins/documented_errors.py reports the
# codes documented that no test provoked).
ANSWERED: set[tuple[str, str, str, str | None]] = set()
DOCUMENTED: dict[tuple[str, str], dict[str, set[str]]] = {}
