"""POST /login/verify: check the code of a pending login and issue an access token."""

from __future__ import annotations

from phoneverify import snapstart
from phoneverify.http.app import http_app, lambda_handler_for
from phoneverify.http.operations import CHECKS_A_CODE, documented
from phoneverify.http.requests import VerifyCodeRequest, request_origin
from phoneverify.http.responses import TokenResponse, token_response
from phoneverify.live_status_config import AccountCodeSettings
from phoneverify.runtime import Runtime

runtime = Runtime.from_environment(AccountCodeSettings)
snapstart.register(runtime, "login_flow")  # SnapStart: built before the snapshot
app = http_app(*runtime.settings.cors_origins)


@app.post("/login/verify", **documented("loginVerify", "Login", *CHECKS_A_CODE))
def login_verify(body: VerifyCodeRequest) -> TokenResponse:
    return token_response(runtime.login_flow.verify(body.flow_id, body.code, request_origin(app)))


lambda_handler = lambda_handler_for(app, runtime)
