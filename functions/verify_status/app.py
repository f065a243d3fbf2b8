"""GET /verify/status: where a verification stands, and what became of its SMS.

`?flow_id=` for a login, registration or password reset (one DynamoDB read); `?payment_id=`
with the payer's bearer token for a payment, whose flow id never leaves the server (this route
is open, so the token is checked here, as /verify/cancel does).
"""

from __future__ import annotations

from phoneverify.config import StatusSettings
from phoneverify.domain.errors import (
    NotAuthenticated,
    VerificationNotFound,
)
from phoneverify.domain.payment_errors import (
    PaymentNotFound,
)
from phoneverify.http.app import http_app, lambda_handler_for
from phoneverify.http.auth import OPTIONAL_BEARER_NOTE, bearer_user
from phoneverify.http.operations import documented
from phoneverify.http.requests import FlowIdQuery, PaymentIdQuery, one_target
from phoneverify.http.status_responses import (
    PaymentStatusResponse,
    StatusResponse,
    status_response,
)
from phoneverify.runtime import Runtime

runtime = Runtime.from_environment(StatusSettings)
app = http_app(*runtime.settings.cors_origins)


@app.get(
    "/verify/status",
    description=OPTIONAL_BEARER_NOTE,
    **documented(
        "verifyStatus", "Verifications", NotAuthenticated, VerificationNotFound, PaymentNotFound
    ),
)
def verify_status(
    flow_id: FlowIdQuery = None, payment_id: PaymentIdQuery = None
) -> PaymentStatusResponse | StatusResponse:
    kind, target = one_target(flow_id, payment_id)
    if kind == "payment_id":
        user_id = bearer_user(app, runtime.sessions)
        return status_response(runtime.payment_status.status(user_id, target))
    return status_response(runtime.any_flow.status(target))


lambda_handler = lambda_handler_for(app, runtime)
