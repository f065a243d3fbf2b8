"""POST /login/verify: check the second step of a pending login (the SMS code, the
authenticator app's code, or a recovery code in its place) and issue an access token."""

from __future__ import annotations

from phoneverify import snapstart
from phoneverify.domain.factors import FactorKind
from phoneverify.factor_config import AccountFactorSettings
from phoneverify.http.app import http_app, lambda_handler_for
from phoneverify.http.factor_requests import LoginVerifyRequest
from phoneverify.http.operations import CHECKS_A_CODE, documented
from phoneverify.http.requests import request_origin
from phoneverify.http.responses import TokenResponse, token_response
from phoneverify.runtime import Runtime

runtime = Runtime.from_environment(AccountFactorSettings)
snapstart.register(runtime, "login_flow")  # SnapStart: built before the snapshot
app = http_app(*runtime.settings.cors_origins)


@app.post("/login/verify", **documented("loginVerify", "Login", *CHECKS_A_CODE))
def login_verify(body: LoginVerifyRequest) -> TokenResponse:
    token = runtime.login_flow.verify(
        body.flow_id,
        body.code,
        request_origin(app),
        factor=FactorKind(body.factor),
        recovery_code=body.recovery_code,
    )
    return token_response(token)


lambda_handler = lambda_handler_for(app, runtime)
