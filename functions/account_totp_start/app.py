"""POST /account/totp/start: with the step-up's `Reauth-Token`, a fresh authenticator-app
secret for the account, shown once as an `otpauth://` URI and its QR code (docs/factors.md)."""

from __future__ import annotations

from phoneverify.domain.errors import AccountLocked, NotAuthenticated, ReauthRequired
from phoneverify.domain.factor_errors import FactorAlreadyEnrolled
from phoneverify.factor_config import FactorSettings
from phoneverify.http.app import http_app, lambda_handler_for
from phoneverify.http.auth import REAUTH_TOKEN_PARAMETER, signed_in_caller
from phoneverify.http.factor_requests import TotpStartRequest
from phoneverify.http.factor_responses import TotpStartedResponse, totp_started_response
from phoneverify.http.operations import documented
from phoneverify.http.requests import request_origin
from phoneverify.runtime import Runtime

runtime = Runtime.from_environment(FactorSettings)
app = http_app(*runtime.settings.cors_origins)


@app.post(
    "/account/totp/start",
    **documented(
        "accountTotpStart",
        "Authenticator app",
        NotAuthenticated,
        ReauthRequired,
        FactorAlreadyEnrolled,
        AccountLocked,
        headers=(REAUTH_TOKEN_PARAMETER,),
    ),
)
def account_totp_start(body: TotpStartRequest) -> TotpStartedResponse:
    started = runtime.totp_factor.start(signed_in_caller(app), request_origin(app))
    return totp_started_response(started)


lambda_handler = lambda_handler_for(app, runtime)
