"""POST /payments/confirm: check the code of a pending payment, then process it once."""

from __future__ import annotations

from phoneverify import snapstart
from phoneverify.domain.errors import (
    NotAuthenticated,
)
from phoneverify.domain.payment_errors import (
    ConfirmationInProgress,
    PaymentDeclined,
    PaymentDetailsChanged,
    PaymentNotFound,
    PaymentNotPending,
)
from phoneverify.http.app import http_app, lambda_handler_for
from phoneverify.http.auth import authenticated_user
from phoneverify.http.operations import CHECKS_A_CODE, documented
from phoneverify.http.requests import PaymentConfirmRequest, request_origin
from phoneverify.http.responses import PaymentCompletedResponse
from phoneverify.live_status_config import PaymentCodeSettings
from phoneverify.runtime import Runtime

runtime = Runtime.from_environment(PaymentCodeSettings)
snapstart.register(runtime, "payment_flow")  # SnapStart: built before the snapshot
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
        *CHECKS_A_CODE,
    ),
)
def payments_confirm(body: PaymentConfirmRequest) -> PaymentCompletedResponse:
    completed = runtime.payment_flow.confirm(
        authenticated_user(app), body.payment_id, body.code, request_origin(app)
    )
    return PaymentCompletedResponse(
        payment_id=completed.payment_id,
        transaction_id=completed.transaction_id,
        amount=completed.amount,
        currency=completed.currency,
    )


lambda_handler = lambda_handler_for(app, runtime)
