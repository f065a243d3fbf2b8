"""What a request brings: the body models (validated by the resolver, 400 naming the field),
and the caller's address, raw body and Idempotency-Key."""

from __future__ import annotations

import base64
import re
from typing import Annotated, Self, TypeVar

from aws_lambda_powertools.event_handler import (
    APIGatewayRestResolver,
    LambdaFunctionUrlResolver,
)
from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    ModelWrapValidatorHandler,
    StrictBool,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from phoneverify.domain.errors import InvalidRequest
from phoneverify.domain.models import Channel, RequestOrigin
from phoneverify.domain.validation import (
    ALL_FIELDS_REQUIRED,
    ALL_FIELDS_REQUIRED_TYPE,
    has_control_characters,
)
from phoneverify.http.fields import FlowId, PaymentId, default_in_words
from phoneverify.http.webauthn_json import AssertionCredential

Code = Annotated[
    str,
    Field(
        min_length=4,
        max_length=10,
        pattern=r"^[0-9]+$",
        description="The code from the SMS: ASCII digits only.",
    ),
]


# How the code goes; absent: SMS (a resend may fall back to a call, docs/channels.md).
ChannelField = Annotated[
    Channel | None,
    Field(description="How to send the code: sms (the default), call or whatsapp."),
]


# A solved proof-of-work challenge from GET /challenge, as ALTCHA sends it: base64 of its JSON
# ({algorithm, challenge, number, salt, signature}); docs/api.md. Absent: none was solved.
AltchaField = Annotated[
    str | None,
    Field(
        min_length=1,
        max_length=1024,
        pattern=r"^[A-Za-z0-9+/]+={0,2}$",
        description="The solved challenge of GET /challenge (base64 JSON), where the "
        "proof-of-work gate asks for one: challenge_required / challenge_invalid otherwise.",
    ),
]


def _no_control_characters(value: _T) -> _T:
    """Refuse control and format characters (newlines, NUL, bidi overrides) in free text."""
    if isinstance(value, str) and has_control_characters(value):
        raise PydanticCustomError("control_characters", "must not contain control characters")
    return value


_T = TypeVar("_T")

# Every free-text field (a name, a recipient, a description: text that is shown to people and
# written to logs): no control or format characters, a 400 naming the field
# (tests/unit/test_request_models.py checks that every string field has a pattern, is
# FreeText or is a password).
FreeText = AfterValidator(_no_control_characters)


class RequestModel(BaseModel):
    # defer_build: a handler builds the validators of its own bodies only.
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, defer_build=True)


def _example(**fields: str) -> ConfigDict:
    """The model's config with one example request (the demo data of `make run`)."""
    example: dict[str, JsonValue] = dict(fields)
    return ConfigDict(
        extra="forbid", str_strip_whitespace=True, json_schema_extra={"examples": [example]}
    )


# The sign-up form's required fields, in the order its refusals name them.
REGISTRATION_FIELDS = ("name", "email", "phone_number", "password")

DEMO_EMAIL = "demo@example.com"
DEMO_PASSWORD = "correct horse battery staple"  # noqa: S105 - the documented demo account


class LoginRequest(RequestModel):
    model_config = _example(email=DEMO_EMAIL, password=DEMO_PASSWORD)

    email: Annotated[str, Field(min_length=3, max_length=254), FreeText]
    password: Annotated[str, Field(min_length=1, max_length=1024)]
    channel: ChannelField = None
    # Asked for only from a source over its cap of wrong passwords (challenge_required).
    altcha: AltchaField = None


def _absent(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


class RegisterStartRequest(RequestModel):
    """The sign-up form: four required strings, as the document says. A missing, null or blank
    one is a 400 "All fields required" naming the first in the form's order (docs/contract.md),
    once every field given is valid: a wrong type, an unknown field or an oversized value is
    named first, as pydantic words it. The caps bound the input; the flow validates each."""

    model_config = _example(
        name="Ada Lovelace",
        email="ada@example.com",
        phone_number="+14155550187",
        password="analytical engine 1843",  # noqa: S106 - the example form
    )

    name: Annotated[str, Field(max_length=200), FreeText]
    email: Annotated[str, Field(max_length=320), FreeText]
    phone_number: Annotated[str, Field(max_length=64), FreeText]
    password: Annotated[str, Field(max_length=1024)]
    channel: ChannelField = None
    altcha: AltchaField = None

    @model_validator(mode="wrap")
    @classmethod
    def _all_fields_required(cls, data: object, handler: ModelWrapValidatorHandler[Self]) -> Self:
        try:
            return handler(data)
        except ValidationError as refused:
            absent = [
                name
                for name in REGISTRATION_FIELDS
                if isinstance(data, dict) and data.get(name) is None
            ]
            if not absent or not isinstance(data, dict):
                raise
            # The fields given are checked first, as if the absent ones were blank: their
            # complaint, if any, is the answer.
            handler({**data, **dict.fromkeys(absent, "")})
            first = next(name for name in REGISTRATION_FIELDS if _absent(data.get(name)))
            missing = PydanticCustomError(ALL_FIELDS_REQUIRED_TYPE, ALL_FIELDS_REQUIRED)
            raise ValidationError.from_exception_data(
                refused.title, [InitErrorDetails(type=missing, loc=(first,), input=data)]
            ) from None


class PhoneChangeStartRequest(RequestModel):
    """POST /account/phone/start: the new number, with the `Reauth-Token` header (fresh
    authentication); an account without a phone may give its current password instead. The
    number's form is checked by the flow, naming `phone_number`."""

    phone_number: Annotated[str, Field(min_length=1, max_length=64), FreeText]
    password: Annotated[str | None, Field(min_length=1, max_length=1024)] = None
    channel: ChannelField = None


class EmailChangeStartRequest(RequestModel):
    """POST /account/email/start: the address the account is to take (with the `Reauth-Token`
    header), or its own, to prove it (no step-up)."""

    model_config = _example(email="ada@example.com")

    email: Annotated[str, Field(min_length=3, max_length=320), FreeText]


class ReauthStartRequest(RequestModel):
    """POST /account/reauth/start: the current password."""

    model_config = _example(password=DEMO_PASSWORD)

    password: Annotated[str, Field(min_length=1, max_length=1024)]
    channel: ChannelField = None


class PasswordResetStartRequest(RequestModel):
    model_config = _example(email=DEMO_EMAIL)

    email: Annotated[str, Field(min_length=3, max_length=320), FreeText]
    channel: ChannelField = None
    altcha: AltchaField = None


class PasswordResetVerifyRequest(RequestModel):
    """An account with an authenticator app also sends its code, or a recovery code."""

    flow_id: FlowId
    code: Code
    new_password: Annotated[str, Field(min_length=1, max_length=1024)]
    totp_code: Code | None = None
    recovery_code: Annotated[str, Field(min_length=10, max_length=24)] | None = None
    credential: AssertionCredential | None = None  # a passkey's (/password/reset/passkey/options)


class LostPhoneStartRequest(RequestModel):
    """The password reset's "I no longer have this phone": the account's email and the
    number that is to replace the lost one."""

    model_config = _example(email=DEMO_EMAIL, new_phone="+14155550199")

    email: Annotated[str, Field(min_length=3, max_length=320), FreeText]
    new_phone: Annotated[str, Field(min_length=1, max_length=64), FreeText]


class LostPhoneCompleteRequest(RequestModel):
    flow_id: FlowId
    new_password: Annotated[str, Field(min_length=1, max_length=1024)]


class PhoneSwapCancelRequest(RequestModel):
    """POST /account/phone/pending/cancel: an empty object (the account is the caller's)."""


class VerifyCodeRequest(RequestModel):
    flow_id: FlowId
    code: Code


class RegisterVerifyRequest(VerifyCodeRequest):
    """A sign-up's two codes: `code` came by SMS, `email_code` by email."""

    email_code: Code


class FlowRequest(RequestModel):
    flow_id: FlowId


class ResendRequest(FlowRequest):
    channel: ChannelField = None


# The same ids as optional query string parameters (GET /verify/status?flow_id=... or
# ?payment_id=..., the latter with the payer's bearer token).
FlowIdQuery = Annotated[
    FlowId | None,
    Query(description="Opaque id of a verification, as returned when it was started."),
]
PaymentIdQuery = Annotated[
    PaymentId | None,
    Query(description="The payment id returned by /payments/initiate (with the payer's token)."),
]


def one_target(flow_id: str | None, payment_id: str | None) -> tuple[str, str]:
    """("flow_id" | "payment_id", value): exactly one of the two must be given, else a 400
    naming the field."""
    if flow_id is not None and payment_id is not None:
        raise InvalidRequest("Give flow_id or payment_id, not both", field="payment_id")
    if payment_id is not None:
        return "payment_id", payment_id
    if flow_id is None:
        raise InvalidRequest("flow_id is required", field="flow_id")
    return "flow_id", flow_id


class PaymentInitiateRequest(RequestModel):
    """Shapes only; amount and currency are checked against ISO 4217 by `domain.money`."""

    model_config = _example(
        amount="250.00", currency="USD", recipient="acct_7731", description="Rent"
    )

    amount: Annotated[
        str | int | float,
        Field(description='Decimal string ("250.00") or a JSON number, in major units.'),
        FreeText,
    ]
    currency: Annotated[str, Field(max_length=16, description="ISO 4217 code, e.g. USD."), FreeText]
    recipient: Annotated[str, Field(min_length=1, max_length=128), FreeText]
    description: Annotated[str | None, Field(max_length=256), FreeText] = None
    channel: ChannelField = None

    @field_validator("amount", mode="before")
    @classmethod
    def _number_or_string(cls, value: object) -> object:
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise PydanticCustomError(
                "amount_type", 'must be a decimal string such as "250.00" or a number'
            )
        return value


class PaymentRequest(RequestModel):
    payment_id: PaymentId


class PaymentResendRequest(PaymentRequest):
    channel: ChannelField = None


class CancelRequest(RequestModel):
    """Either a flow id, or a payment id (with the payer's bearer token)."""

    flow_id: FlowId | None = None
    payment_id: PaymentId | None = None

    def target(self) -> tuple[str, str]:
        """("flow_id" | "payment_id", value); exactly one of the two must be given."""
        return one_target(self.flow_id, self.payment_id)


class LogoutRequest(RequestModel):
    """`{}` ends the token that came with the request; `{"all": true}` every token of its
    account."""

    all: Annotated[
        StrictBool,
        Field(
            description="true: end every token of the account, not only this one; false "
            "when absent.",
            json_schema_extra=default_in_words,
        ),
    ] = False


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


IDEMPOTENCY_KEY_HEADER = "Idempotency-Key"
_IDEMPOTENCY_KEY = re.compile(r"[\x21-\x7e]{1,255}")  # visible ASCII, as Stripe's keys


# The header in the OpenAPI document (http/operations.py `documented(headers=...)`).
IDEMPOTENCY_KEY_PARAMETER = {
    "name": IDEMPOTENCY_KEY_HEADER,
    "in": "header",
    "required": False,
    "description": "Any unique string (1 to 255 visible ASCII characters): a repeated request "
    "with the same key and body answers the first response instead of paying twice.",
    "schema": {"type": "string", "pattern": f"^{_IDEMPOTENCY_KEY.pattern}$"},
}


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
