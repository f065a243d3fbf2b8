"""POST /payments/resend: send a fresh code for a pending payment."""

from __future__ import annotations

from phoneverify import snapstart
from phoneverify.domain.errors import NotAuthenticated
from phoneverify.domain.payment_errors import PaymentNotFound, PaymentNotPending
from phoneverify.http.app import http_app, lambda_handler_for
from phoneverify.http.auth import authenticated_user
from phoneverify.http.operations import RESENDS_A_CODE, documented
from phoneverify.http.requests import PaymentResendRequest, request_origin
from phoneverify.http.responses import ResentResponse, resent_response
from phoneverify.live_status_config import PaymentCodeSettings
from phoneverify.runtime import Runtime

runtime = Runtime.from_environment(PaymentCodeSettings)
snapstart.register(runtime, "payment_flow")  # SnapStart: built before the snapshot
app = http_app(*runtime.settings.cors_origins)


@app.post(
    "/payments/resend",
    **documented(
        "paymentsResend",
        "Payments",
        NotAuthenticated,
        PaymentNotFound,
        PaymentNotPending,
        *RESENDS_A_CODE,
    ),
)
def payments_resend(body: PaymentResendRequest) -> ResentResponse:
    resent = runtime.payment_flow.resend(
        authenticated_user(app), body.payment_id, request_origin(app), body.channel
    )
    return resent_response(resent)


lambda_handler = lambda_handler_for(app, runtime)
