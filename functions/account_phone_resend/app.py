"""POST /account/phone/resend: send a fresh code to the number a phone change proves."""

from __future__ import annotations

from phoneverify.domain.errors import NotAuthenticated
from phoneverify.http.app import http_app, lambda_handler_for
from phoneverify.http.auth import authenticated_user
from phoneverify.http.operations import RESENDS_A_CODE, documented
from phoneverify.http.requests import ResendRequest, request_origin
from phoneverify.http.responses import ResentResponse, resent_response
from phoneverify.live_status_config import AccountCodeSettings
from phoneverify.runtime import Runtime

runtime = Runtime.from_environment(AccountCodeSettings)
app = http_app(*runtime.settings.cors_origins)


@app.post(
    "/account/phone/resend",
    **documented(
        "accountPhoneResend",
        "Account phone",
        NotAuthenticated,
        *RESENDS_A_CODE,
    ),
)
def account_phone_resend(body: ResendRequest) -> ResentResponse:
    resent = runtime.phone_change_flow.resend(
        authenticated_user(app), body.flow_id, request_origin(app), body.channel
    )
    return resent_response(resent)


lambda_handler = lambda_handler_for(app, runtime)
