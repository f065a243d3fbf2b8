"""POST /payments/confirm: check the code of a pending payment (or the payer's passkey
signature over it: docs/factors.md#passkeys), then process it once. POST
/payments/passkey/options: WebAuthn request options whose challenge is derived from the
payment (its nonce, id, amount, currency and recipient), served by the function that checks
their answer."""

from __future__ import annotations

from phoneverify import snapstart
from phoneverify.domain.errors import (
    NotAuthenticated,
)
from phoneverify.domain.models import Payment
from phoneverify.domain.passkeys import PasskeyRejected
from phoneverify.domain.payment_errors import (
    ConfirmationInProgress,
    PaymentDeclined,
    PaymentDetailsChanged,
    PaymentNotFound,
    PaymentNotPending,
)
from phoneverify.http.app import http_app, lambda_handler_for
from phoneverify.http.auth import authenticated_user
from phoneverify.http.factor_requests import PaymentConfirmRequest
from phoneverify.http.operations import CHECKS_A_CODE, documented
from phoneverify.http.passkeys import WebAuthnOptionsResponse, options_response
from phoneverify.http.requests import PaymentRequest, request_origin
from phoneverify.http.responses import PaymentCompletedResponse
from phoneverify.passkey_config import PaymentConfirmSettings
from phoneverify.runtime import Runtime

runtime = Runtime.from_environment(PaymentConfirmSettings)
snapstart.register(
    runtime, "payment_flow", "payment_passkey"
)  # SnapStart: built before the snapshot
app = http_app(*runtime.settings.cors_origins)


@app.post(
    "/payments/confirm",
    **documented(
        "paymentsConfirm",
        "Payments",
        NotAuthenticated,
        PaymentNotFound,
        PaymentNotPending,
        PaymentDetailsChanged,
        PaymentDeclined,
        ConfirmationInProgress,
        PasskeyRejected,
        *CHECKS_A_CODE,
    ),
)
def payments_confirm(body: PaymentConfirmRequest) -> PaymentCompletedResponse:
    user, origin, proof = authenticated_user(app), request_origin(app), body.proof()
    if isinstance(proof, str):
        completed = runtime.payment_flow.confirm(user, body.payment_id, proof, origin)
    else:
        signed = runtime.payment_passkey

        def check(payment: Payment) -> object:
            return signed.verify(user, payment, proof, origin)

        completed = runtime.payment_flow.confirm(user, body.payment_id, None, origin, passkey=check)
    return PaymentCompletedResponse(
        payment_id=completed.payment_id,
        transaction_id=completed.transaction_id,
        amount=completed.amount,
        currency=completed.currency,
    )


@app.post(
    "/payments/passkey/options",
    **documented(
        "paymentsPasskeyOptions",
        "Payments",
        NotAuthenticated,
        PaymentNotFound,
        PaymentNotPending,
        PasskeyRejected,
    ),
)
def payments_passkey_options(body: PaymentRequest) -> WebAuthnOptionsResponse:
    options = runtime.payment_passkey.options_for(authenticated_user(app), body.payment_id)
    return options_response(options)


lambda_handler = lambda_handler_for(app, runtime)
