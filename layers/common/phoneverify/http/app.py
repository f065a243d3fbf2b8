"""The HTTP edge shared by every function: request models, the resolver, and the one place
where domain errors become HTTP responses."""

from __future__ import annotations

import base64
import binascii
import json
import re
import unicodedata
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler import (
    APIGatewayRestResolver,
    CORSConfig,
    LambdaFunctionUrlResolver,
    Response,
)
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from aws_lambda_powertools.event_handler.openapi.exceptions import (
    RequestUnsupportedContentType,
    RequestValidationError,
)
from aws_lambda_powertools.event_handler.openapi.models import HTTPBearer
from aws_lambda_powertools.event_handler.openapi.params import Query
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StrictBool, field_validator
from pydantic_core import PydanticCustomError

from phoneverify.domain.errors import DomainError, InvalidRequest, NotAuthenticated
from phoneverify.domain.models import RequestOrigin
from phoneverify.http.errors import error_body, error_headers, status_of

if TYPE_CHECKING:
    from phoneverify.domain.tokens import TokenClaims
    from phoneverify.flows.sessions import Sessions

logger = Logger()
# Requests that record no verification event (a wrong password, a 400) publish no metric;
# Powertools warns about that on every such invocation, which only adds noise to the logs.
warnings.filterwarnings("ignore", message="No application metrics to publish")

JSON = "application/json"
MAX_BODY_BYTES = 16 * 1024  # every request of the contract fits in far less

FlowId = Annotated[
    str,
    Field(
        min_length=20,
        max_length=128,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="Opaque id of a pending verification, as returned when it was started.",
    ),
]
Code = Annotated[
    str,
    Field(
        min_length=4,
        max_length=10,
        pattern=r"^[0-9]+$",
        description="The code from the SMS: ASCII digits only.",
    ),
]


class RequestModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class LoginRequest(RequestModel):
    email: Annotated[str, Field(min_length=3, max_length=254)]
    password: Annotated[str, Field(min_length=1, max_length=1024)]


class RegisterStartRequest(RequestModel):
    """Fields may be missing or empty here: the registration flow answers "All fields
    required" naming the first one missing, then validates each. The caps bound the input."""

    name: Annotated[str | None, Field(max_length=200)] = None
    email: Annotated[str | None, Field(max_length=320)] = None
    phone_number: Annotated[str | None, Field(max_length=64)] = None
    password: Annotated[str | None, Field(max_length=1024)] = None


class PasswordResetStartRequest(RequestModel):
    email: Annotated[str, Field(min_length=3, max_length=320)]


class PasswordResetVerifyRequest(RequestModel):
    flow_id: FlowId
    code: Code
    new_password: Annotated[str, Field(min_length=1, max_length=1024)]


class VerifyCodeRequest(RequestModel):
    flow_id: FlowId
    code: Code


class FlowRequest(RequestModel):
    flow_id: FlowId


# The same flow id, as a query string parameter (GET /verify/status?flow_id=...).
FlowIdQuery = Annotated[
    str,
    Query(
        min_length=20,
        max_length=128,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="Opaque id of a verification, as returned when it was started.",
    ),
]


def _no_control_characters(value: str | None) -> str | None:
    """Refuse control and format characters (newlines, NUL, bidi overrides) in free text."""
    if value is not None and any(
        unicodedata.category(char) in ("Cc", "Cf", "Zl", "Zp") for char in value
    ):
        raise PydanticCustomError("control_characters", "must not contain control characters")
    return value


PaymentId = Annotated[
    str,
    Field(
        min_length=8,
        max_length=64,
        pattern=r"^[A-Za-z0-9_-]+$",
        description="The payment id returned by /payments/initiate.",
    ),
]


class PaymentInitiateRequest(RequestModel):
    """Shapes only; amount and currency are checked against ISO 4217 by `domain.money`."""

    amount: Annotated[
        str | int | float,
        Field(description='Decimal string ("250.00") or a JSON number, in major units.'),
    ]
    currency: Annotated[str, Field(max_length=16, description="ISO 4217 code, e.g. USD.")]
    recipient: Annotated[
        str, Field(min_length=1, max_length=128), AfterValidator(_no_control_characters)
    ]
    description: Annotated[
        str | None, Field(max_length=256), AfterValidator(_no_control_characters)
    ] = None

    @field_validator("amount", mode="before")
    @classmethod
    def _number_or_string(cls, value: object) -> object:
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise PydanticCustomError(
                "amount_type", 'must be a decimal string such as "250.00" or a number'
            )
        return value


class PaymentConfirmRequest(RequestModel):
    payment_id: PaymentId
    code: Code


class PaymentRequest(RequestModel):
    payment_id: PaymentId


class CancelRequest(RequestModel):
    """Either a flow id, or a payment id (with the payer's bearer token)."""

    flow_id: FlowId | None = None
    payment_id: PaymentId | None = None

    def target(self) -> tuple[str, str]:
        """("flow_id" | "payment_id", value); exactly one of the two must be given."""
        if self.flow_id is not None and self.payment_id is not None:
            raise InvalidRequest("Give flow_id or payment_id, not both", field="payment_id")
        if self.payment_id is not None:
            return "payment_id", self.payment_id
        if self.flow_id is None:
            raise InvalidRequest("flow_id is required", field="flow_id")
        return "flow_id", self.flow_id


class LogoutRequest(RequestModel):
    """`{}` ends the token that came with the request; `{"all": true}` every token of its
    account."""

    all: Annotated[
        StrictBool,
        Field(description="true: end every token of the account, not only this one."),
    ] = False


def error_response(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> Response[str]:
    return Response(status_code=status, content_type=JSON, body=json.dumps(body), headers=headers)


def _field_of(error: dict[str, Any]) -> str:
    loc = [str(part) for part in error.get("loc", ()) if part not in ("body", "query")]
    return ".".join(loc)


def _describe(error: dict[str, Any]) -> tuple[str, str | None]:
    kind = error.get("type", "")
    field = _field_of(error)
    if kind == "json_invalid":
        return "Request body is not valid JSON", None
    if kind == "missing" and not field:
        return "Request body is required", None
    if kind == "missing":
        return f"{field} is required", field
    if kind == "extra_forbidden":
        return f"{field} is not an allowed field", field
    if kind == "model_attributes_type":
        return "Request body must be a JSON object", None
    return f"{field}: {error.get('msg', 'is invalid')}", field or None


def _unreadable_body(event: dict[str, Any]) -> tuple[int, dict[str, str]] | None:
    """Refusal of a body that is not JSON or too large, decided before anything parses it."""
    method = event.get("httpMethod") or event.get("requestContext", {}).get("http", {}).get(
        "method"
    )
    if method not in ("POST", "PUT", "PATCH"):
        return None
    headers = {k.lower(): v for k, v in (event.get("headers") or {}).items()}
    content_type = (headers.get("content-type") or "").split(";")[0].strip().lower()
    if content_type != JSON:
        return 415, {
            "error": "Content-Type must be application/json",
            "code": "unsupported_media_type",
        }
    raw = event.get("body") or ""
    size = len(raw) * 3 // 4 if event.get("isBase64Encoded") else len(raw.encode("utf-8"))
    if size > MAX_BODY_BYTES:
        message = f"Request body is too large (at most {MAX_BODY_BYTES} bytes)"
        return 400, {"error": message, "code": "body_too_large"}
    if event.get("isBase64Encoded"):
        try:
            base64.b64decode(raw, validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return 400, {"error": "Request body is not valid UTF-8 JSON", "code": "invalid_request"}
    return None


# OpenAPI: the bearer scheme, and the `security` of routes that check the token themselves
# (devtools/openapi.py marks those behind the authorizer).
BEARER_SCHEME = "bearerAuth"
BEARER_REQUIRED: list[dict[str, list[str]]] = [{BEARER_SCHEME: []}]


def http_app(allowed_origin: str) -> APIGatewayRestResolver:
    """A resolver with validation, CORS and the domain-error mapping registered."""
    app = APIGatewayRestResolver(
        enable_validation=True,
        cors=CORSConfig(
            allow_origin=allowed_origin,
            allow_headers=["Content-Type", "Authorization", "Idempotency-Key"],
            max_age=600,
        ),
    )
    app.configure_openapi(security_schemes={BEARER_SCHEME: HTTPBearer()})
    _map_errors(app)
    return app


def function_url_app() -> LambdaFunctionUrlResolver:
    """A resolver for a Lambda function URL (payload 2.0, server to server: no CORS) with the
    same validation and domain-error mapping."""
    app = LambdaFunctionUrlResolver(enable_validation=True)
    _map_errors(app)
    return app


def _map_errors(app: ApiGatewayResolver) -> None:
    """Register the one mapping from domain (and validation) errors to HTTP responses."""

    @app.exception_handler(DomainError)  # type: ignore[untyped-decorator]
    def domain_error(exc: DomainError) -> Response[str]:
        return error_response(status_of(exc), error_body(exc), error_headers(exc))

    @app.exception_handler(RequestValidationError)  # type: ignore[untyped-decorator]
    def invalid_request(exc: RequestValidationError) -> Response[str]:
        errors = list(exc.errors())
        message, field = _describe(errors[0]) if errors else ("Invalid request", None)
        body: dict[str, Any] = {"error": message, "code": "invalid_request"}
        if field:
            body["field"] = field
        return error_response(400, body)

    @app.exception_handler(RequestUnsupportedContentType)  # type: ignore[untyped-decorator]
    def unsupported_media_type(exc: RequestUnsupportedContentType) -> Response[str]:
        return error_response(
            415,
            {"error": "Content-Type must be application/json", "code": "unsupported_media_type"},
        )

    @app.exception_handler(Exception)  # type: ignore[untyped-decorator]
    def unexpected(exc: Exception) -> Response[str]:
        logger.exception("unhandled error")
        return error_response(500, {"error": "Internal error", "code": "internal_error"})


def raw_body(app: ApiGatewayResolver) -> bytes:
    """The request body exactly as the client sent it (function URLs and API Gateway
    base64-encode bodies that are not text)."""
    event = app.current_event
    body = event.body or ""
    if event.is_base64_encoded:
        return base64.b64decode(body)
    return body.encode("utf-8")


def request_origin(app: APIGatewayRestResolver) -> RequestOrigin:
    """The caller's address (as API Gateway saw it) and user agent, bounded in size."""
    event = app.current_event
    return _origin(event.request_context.identity.source_ip, event.headers.get("user-agent"))


def function_url_origin(app: LambdaFunctionUrlResolver) -> RequestOrigin:
    """As request_origin, for a function URL (payload 2.0)."""
    event = app.current_event
    return _origin(event.request_context.http.source_ip, event.headers.get("user-agent"))


def _origin(source_ip: str | None, user_agent: str | None) -> RequestOrigin:
    return RequestOrigin(source_ip=source_ip or "unknown", user_agent=(user_agent or "")[:256])


def bearer_claims(app: APIGatewayRestResolver, sessions: Sessions) -> TokenClaims:
    """The claims of the request's `Authorization: Bearer` token, on a route without the
    authorizer: valid and not ended (one DynamoDB read), else 401; 503 when that read fails."""
    scheme, _, token = (app.current_event.headers.get("authorization") or "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthenticated()
    return sessions.authenticate(token.strip(), request_origin(app))


def bearer_user(app: APIGatewayRestResolver, sessions: Sessions) -> str:
    """The user of the request's valid, not ended bearer token (see bearer_claims)."""
    return bearer_claims(app, sessions).subject


def authenticated_user(app: APIGatewayRestResolver) -> str:
    """The user id the Lambda authorizer put in the request context, never one from the body.

    Without it (a route deployed without its authorizer) the answer is 401.
    """
    context = (app.current_event.raw_event.get("requestContext") or {}).get("authorizer") or {}
    principal = context.get("principalId")
    if not isinstance(principal, str) or not principal:
        raise NotAuthenticated()
    if context.get("user_id", principal) != principal:
        raise NotAuthenticated()
    return principal


IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")  # visible ASCII, as Stripe's keys


def idempotency_key(app: APIGatewayRestResolver) -> str | None:
    """The request's Idempotency-Key header, if it has one; 400 naming it when malformed."""
    value = app.current_event.headers.get(IDEMPOTENCY_KEY_HEADER)
    if value is None:
        return None
    if not _IDEMPOTENCY_KEY.fullmatch(value.strip()):
        raise InvalidRequest(
            f"{IDEMPOTENCY_KEY_HEADER} must be 1 to 255 visible ASCII characters",
            field=IDEMPOTENCY_KEY_HEADER,
        )
    return value.strip()


LambdaHandler = Callable[[dict[str, Any], LambdaContext], dict[str, Any]]


def lambda_handler_for(app: ApiGatewayResolver, metrics: Metrics) -> LambdaHandler:
    """The Lambda entry point: logging context and metrics around `app.resolve`."""

    # REST proxy and function URL events both carry requestContext.requestId.
    @logger.inject_lambda_context(
        correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True
    )
    @metrics.log_metrics
    def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
        refusal = _unreadable_body(event)
        if refusal is not None:
            status, body = refusal
            return {
                "statusCode": status,
                "headers": {"Content-Type": JSON},
                "body": json.dumps(body),
            }
        return app.resolve(event, context)

    return handler
