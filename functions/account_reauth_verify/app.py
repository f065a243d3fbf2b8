"""POST /account/reauth/verify: the code sent by /account/reauth/start, for a reauth token."""

from __future__ import annotations

from phoneverify import snapstart
from phoneverify.domain.errors import NotAuthenticated
from phoneverify.http.app import http_app, lambda_handler_for
from phoneverify.http.auth import signed_in_caller
from phoneverify.http.operations import CHECKS_A_CODE, documented
from phoneverify.http.requests import VerifyCodeRequest, request_origin
from phoneverify.http.responses import ReauthTokenResponse, reauth_token_response
from phoneverify.live_status_config import AccountCodeSettings
from phoneverify.runtime import Runtime

runtime = Runtime.from_environment(AccountCodeSettings)
snapstart.register(runtime, "reauth_flow")  # SnapStart: built before the snapshot
app = http_app(*runtime.settings.cors_origins)


@app.post(
    "/account/reauth/verify",
    **documented(
        "accountReauthVerify",
        "Fresh authentication",
        NotAuthenticated,
        *CHECKS_A_CODE,
    ),
)
def account_reauth_verify(body: VerifyCodeRequest) -> ReauthTokenResponse:
    granted = runtime.reauth_flow.verify(
        signed_in_caller(app), body.flow_id, body.code, request_origin(app)
    )
    return reauth_token_response(granted)


lambda_handler = lambda_handler_for(app, runtime)
