"""POST /verify/cancel: end a pending verification the person walked away from.

`{flow_id}` for a login or registration; `{payment_id}` with the payer's bearer token for a
payment (this route is open, so the token is checked here rather than by the authorizer).
"""

from __future__ import annotations

from phoneverify.domain.errors import NotAuthenticated
from phoneverify.domain.payment_errors import PaymentNotFound
from phoneverify.http.app import http_app, lambda_handler_for
from phoneverify.http.auth import OPTIONAL_BEARER_NOTE, bearer_user
from phoneverify.http.operations import documented
from phoneverify.http.requests import CancelRequest, request_origin
from phoneverify.http.responses import CancelledResponse
from phoneverify.live_status_config import CancelSettings
from phoneverify.runtime import Runtime

runtime = Runtime.from_environment(CancelSettings)
app = http_app(*runtime.settings.cors_origins)


@app.post(
    "/verify/cancel",
    description=OPTIONAL_BEARER_NOTE,
    **documented("verifyCancel", "Verifications", NotAuthenticated, PaymentNotFound),
)
def verify_cancel(body: CancelRequest) -> CancelledResponse:
    origin = request_origin(app)
    kind, target = body.target()
    if kind == "payment_id":
        user_id = bearer_user(app, runtime.sessions)
        return CancelledResponse(cancelled=runtime.payment_flow.cancel(user_id, target, origin))
    return CancelledResponse(cancelled=runtime.any_flow.cancel(target, origin))


lambda_handler = lambda_handler_for(app, runtime)
