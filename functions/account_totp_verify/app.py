"""POST /account/totp/verify: the app's first code confirms it; the account gets ten recovery
codes, shown once (docs/factors.md)."""

from __future__ import annotations

from phoneverify.domain.errors import NotAuthenticated
from phoneverify.domain.factor_errors import FactorAlreadyEnrolled
from phoneverify.factor_config import FactorSettings
from phoneverify.http.app import http_app, lambda_handler_for
from phoneverify.http.auth import signed_in_caller
from phoneverify.http.factor_requests import TotpVerifyRequest
from phoneverify.http.factor_responses import TotpEnrolledResponse, totp_enrolled_response
from phoneverify.http.operations import CHECKS_A_CODE, documented
from phoneverify.http.requests import request_origin
from phoneverify.runtime import Runtime

runtime = Runtime.from_environment(FactorSettings)
app = http_app(*runtime.settings.cors_origins)


@app.post(
    "/account/totp/verify",
    **documented(
        "accountTotpVerify",
        "Authenticator app",
        NotAuthenticated,
        FactorAlreadyEnrolled,
        *CHECKS_A_CODE,
    ),
)
def account_totp_verify(body: TotpVerifyRequest) -> TotpEnrolledResponse:
    done = runtime.totp_factor.verify(
        signed_in_caller(app), body.flow_id, body.code, request_origin(app)
    )
    return totp_enrolled_response(done)


lambda_handler = lambda_handler_for(app, runtime)
