"""POST /payments/resend: send a fresh code for a pending payment."""

from __future__ import annotations

from typing import Any

from phoneverify.http.app import http_app, lambda_handler_for
from phoneverify.http.auth import authenticated_user
from phoneverify.http.requests import PaymentRequest, request_origin
from phoneverify.runtime import Runtime

runtime = Runtime.from_environment(*Runtime.PAYMENT_TABLES)
app = http_app(runtime.settings.allowed_origin)


@app.post("/payments/resend")
def payments_resend(body: PaymentRequest) -> dict[str, Any]:
    return runtime.payment_flow.resend(
        authenticated_user(app), body.payment_id, request_origin(app)
    ).body()


lambda_handler = lambda_handler_for(app, runtime.metrics)
