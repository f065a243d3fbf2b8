"""The handler factory: the resolvers (validation, CORS, the error table registered) and the
Lambda entry point around them."""

from __future__ import annotations

import base64
import binascii
import json
import re
import warnings
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import (
    APIGatewayRestResolver,
    CORSConfig,
    LambdaFunctionUrlResolver,
)
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from phoneverify.domain import json_input
from phoneverify.domain.errors import InvalidRequest
from phoneverify.http.auth import BEARER_SCHEME
from phoneverify.http.edge_errors import (
    BodyTooLarge,
    MethodNotAllowed,
    UnsupportedMediaType,
)
from phoneverify.http.errors import (
    JSON,
    error_body,
    error_headers,
    register_error_handlers,
    status_of,
)
from phoneverify.http.request_end import RequestScoped, writes_buffered_records_at_request_end
from phoneverify.tracing import annotate, traced

logger = Logger()
# Requests that record no verification event (a wrong password, a 400) publish no metric;
# Powertools warns about that on every such invocation, which only adds noise to the logs.
warnings.filterwarnings("ignore", message="No application metrics to publish")

# The largest valid request (a sign-up, every string at its maximum in escaped JSON) is about
# 31 KiB; tests/unit/test_body_cap.py holds that every valid body fits.
MAX_BODY_BYTES = 64 * 1024


def _method_of(event: dict[str, Any]) -> str:
    method = event.get("httpMethod") or event.get("requestContext", {}).get("http", {}).get(
        "method"
    )
    return str(method or "").upper()


_Handler = TypeVar("_Handler", bound=Callable[..., Any])
_PLACEHOLDER = re.compile(r"<\w+>")  # a path parameter of a rule: /payments/<payment_id>


class RecordsRoutes(ApiGatewayResolver):
    """A resolver that keeps its own record of the routes registered on it (method and rule),
    so that the entry point can tell which methods a path answers: Powertools keeps its
    routes in private attributes only."""

    # REST API rules ignore a trailing "/" (APIGatewayRestResolver strips it from the rule
    # and accepts any number after the path); a function URL's match exactly.
    trailing_slash_ignored = False

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._rules: list[tuple[str, re.Pattern[str]]] = []

    def route(
        self, rule: str, method: str | list[str] | tuple[str], *args: Any, **kwargs: Any
    ) -> Callable[[_Handler], _Handler]:
        methods = (method,) if isinstance(method, str) else tuple(method)
        if self.trailing_slash_ignored:
            rule = rule.rstrip("/")
        parts = _PLACEHOLDER.split(rule)
        pattern = re.compile("[^/]+".join(re.escape(part) for part in parts))
        self._rules.extend((m.upper(), pattern) for m in methods)
        registered: Callable[[_Handler], _Handler] = super().route(rule, method, *args, **kwargs)
        return registered

    def methods_at(self, path: str) -> list[str]:
        """The methods the routes registered at `path` answer, sorted."""
        if self.trailing_slash_ignored:
            path = path.rstrip("/")
        return sorted({method for method, pattern in self._rules if pattern.fullmatch(path)})


def _wrong_method(app: RecordsRoutes, event: dict[str, Any]) -> MethodNotAllowed | None:
    """405 for a method the path does not answer (API Gateway sends every other method of a
    path here: template.yaml `OtherMethods`), decided before the body is looked at. CORS
    preflights are the resolver's."""
    method, path = _method_of(event), event.get("path") or event.get("rawPath") or "/"
    if method == "OPTIONS":
        return None
    allowed = app.methods_at(path)
    if allowed and method not in allowed:
        return MethodNotAllowed(method, tuple(allowed))
    return None


def _unreadable_body(event: dict[str, Any]) -> InvalidRequest | None:
    """Refusal of a body that is not JSON or too large, decided before anything parses it."""
    method = _method_of(event)
    if method not in ("POST", "PUT", "PATCH"):
        return None
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    content_type = (headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type != JSON:
        return UnsupportedMediaType()
    raw = event.get("body") or ""
    size = len(raw) * 3 // 4 if event.get("isBase64Encoded") else len(raw.encode("utf-8"))
    if size > MAX_BODY_BYTES:
        return BodyTooLarge(f"Request body must be at most {MAX_BODY_BYTES} bytes")
    if event.get("isBase64Encoded"):
        try:
            base64.b64decode(raw, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return InvalidRequest("Request body must be JSON in UTF-8")
    return None


class RestResolver(RecordsRoutes, APIGatewayRestResolver):
    """Powertools' REST resolver, whose OpenAPI document names the bearer scheme.

    The scheme is added when a document is asked for (devtools/openapi.py), not configured at
    cold start: its model would load Powertools' OpenAPI models (dozens of pydantic models)
    into every handler's init, and no request needs them (docs/performance.md).
    """

    trailing_slash_ignored = True

    def get_openapi_schema(self, **kwargs: Any) -> Any:
        if not kwargs.get("security_schemes"):
            from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer

            kwargs["security_schemes"] = {BEARER_SCHEME: HTTPBearer()}
        return super().get_openapi_schema(**kwargs)


class FunctionUrlResolver(RecordsRoutes, LambdaFunctionUrlResolver):
    """Powertools' function URL resolver, keeping its record of routes."""


def http_app(allowed_origin: str, *extra_origins: str) -> RestResolver:
    """A resolver with validation, CORS and the domain-error mapping registered. CORS answers
    a request's Origin only when it is one of these (Settings.cors_origins)."""
    app = RestResolver(
        enable_validation=True,
        json_body_deserializer=json_input.loads,  # 400 for a number too long: never a 500
        cors=CORSConfig(
            allow_origin=allowed_origin,
            extra_origins=list(extra_origins) or None,
            allow_headers=["Content-Type", "Authorization", "Idempotency-Key", "Reauth-Token"],
            max_age=600,
        ),
    )
    register_error_handlers(app)
    return app


def function_url_app() -> FunctionUrlResolver:
    """A resolver for a Lambda function URL (payload 2.0, server to server: no CORS) with the
    same validation and domain-error mapping."""
    app = FunctionUrlResolver(enable_validation=True, json_body_deserializer=json_input.loads)
    register_error_handlers(app)
    return app


LambdaHandler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


class FunctionRuntime(RequestScoped, Protocol):
    """What the entry point needs of the function's runtime (phoneverify.runtime.Runtime): its
    metrics, and the request scope that buffers best-effort writes."""

    @property
    def metrics(self) -> Metrics: ...


def lambda_handler_for(app: RecordsRoutes, runtime: FunctionRuntime) -> LambdaHandler:
    """The Lambda entry point: logging context, the trace's subsegment (phoneverify/tracing.py)
    and metrics around `app.resolve`, and, innermost,
    `writes_buffered_records_at_request_end`: the request's best-effort records (audit events,
    a wrong-code count's reset) are written when it ends, answer or error (docs/design.md,
    "Per-request writes")."""

    # REST proxy and function URL events both carry requestContext.requestId.
    @logger.inject_lambda_context(
        correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True
    )
    @traced
    @runtime.metrics.log_metrics
    @writes_buffered_records_at_request_end(runtime)
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        refusal = _wrong_method(app, event) or _unreadable_body(event)
        if refusal is not None:
            annotate(error_code=refusal.code)
            return {
                "statusCode": status_of(refusal),
                "headers": {"Content-Type": JSON, **error_headers(refusal)},
                "body": json.dumps(error_body(refusal)),
            }
        return app.resolve(event, context)

    return handler
