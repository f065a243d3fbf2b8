"""POST /account/phone/pending/cancel: the owner, from any signed-in session (no step-up),
cancels the lost-phone swap waiting on the account."""

from __future__ import annotations

from phoneverify.domain.errors import NoPendingPhoneSwap, NotAuthenticated
from phoneverify.http.app import http_app, lambda_handler_for
from phoneverify.http.auth import authenticated_user
from phoneverify.http.operations import documented
from phoneverify.http.requests import PhoneSwapCancelRequest, request_origin
from phoneverify.http.responses import PhoneSwapResponse, phone_swap_response
from phoneverify.lost_phone_config import PhoneSwapSettings
from phoneverify.runtime import Runtime

runtime = Runtime.from_environment(PhoneSwapSettings)
app = http_app(*runtime.settings.cors_origins)


@app.post(
    "/account/phone/pending/cancel",
    **documented(
        "accountPhonePendingCancel", "Account phone", NotAuthenticated, NoPendingPhoneSwap
    ),
)
def account_phone_pending_cancel(body: PhoneSwapCancelRequest) -> PhoneSwapResponse:
    state = runtime.lost_phone_flow.cancel(authenticated_user(app), request_origin(app))
    return phone_swap_response(state)


lambda_handler = lambda_handler_for(app, runtime)
