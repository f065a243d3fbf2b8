"""POST /payments/initiate: process a payment, or send a code when it is at or above the
threshold. Behind the JWT authorizer; optional Idempotency-Key header."""

from __future__ import annotations

from phoneverify import snapstart
from phoneverify.config import PaymentInitiateSettings
from phoneverify.domain.errors import (
    NotAuthenticated,
)
from phoneverify.domain.money import PaymentOrder
from phoneverify.domain.payment_errors import (
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    PaymentDeclined,
    PhoneRequiredForPayment,
)
from phoneverify.http.app import http_app, lambda_handler_for
from phoneverify.http.auth import authenticated_user
from phoneverify.http.operations import SENDS_TO_AN_ACCOUNT_PHONE, documented
from phoneverify.http.requests import (
    IDEMPOTENCY_KEY_PARAMETER,
    PaymentInitiateRequest,
    idempotency_key,
    request_origin,
)
from phoneverify.http.responses import (
    PaymentCompletedResponse,
    PaymentVerificationResponse,
    payment_response,
)
from phoneverify.runtime import Runtime

runtime = Runtime.from_environment(PaymentInitiateSettings)
snapstart.register(runtime, "idempotency", "payment_flow")  # SnapStart: built before the snapshot
app = http_app(*runtime.settings.cors_origins)


@app.post(
    "/payments/initiate",
    **documented(
        "paymentsInitiate",
        "Payments",
        NotAuthenticated,
        PhoneRequiredForPayment,
        PaymentDeclined,
        IdempotencyKeyReused,
        IdempotencyKeyInUse,
        *SENDS_TO_AN_ACCOUNT_PHONE,
        headers=(IDEMPOTENCY_KEY_PARAMETER,),
    ),
)
def payments_initiate(
    body: PaymentInitiateRequest,
) -> PaymentCompletedResponse | PaymentVerificationResponse:
    runtime.idempotency.register_lambda_context(app.lambda_context)
    order = PaymentOrder.parse(
        body.amount, body.currency, body.recipient, body.description, body.channel
    )
    answer = runtime.payment_flow.initiate(
        authenticated_user(app), order, request_origin(app), idempotency_key(app)
    )
    return payment_response(answer)


lambda_handler = lambda_handler_for(app, runtime)
