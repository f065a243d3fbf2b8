"""POST /login: check the password; send a code when the account has a phone."""

from __future__ import annotations

from phoneverify import snapstart
from phoneverify.config import GateSettings
from phoneverify.domain.errors import (
    ChallengeInvalid,
    ChallengeRequired,
    InvalidCredentials,
    LoginThrottled,
)
from phoneverify.http.app import http_app, lambda_handler_for
from phoneverify.http.operations import SENDS_TO_AN_ACCOUNT_PHONE, documented
from phoneverify.http.requests import LoginRequest, request_origin
from phoneverify.http.responses import SecondFactorResponse, TokenResponse, login_response
from phoneverify.runtime import Runtime

runtime = Runtime.from_environment(GateSettings)
snapstart.register(runtime, "login_flow")  # SnapStart: built before the snapshot
app = http_app(*runtime.settings.cors_origins)


@app.post(
    "/login",
    **documented(
        "loginStart",
        "Login",
        InvalidCredentials,
        LoginThrottled,
        ChallengeRequired,
        ChallengeInvalid,
        *SENDS_TO_AN_ACCOUNT_PHONE,
    ),
)
def login(body: LoginRequest) -> TokenResponse | SecondFactorResponse:
    started = runtime.login_flow.start(
        body.email, body.password, request_origin(app), body.channel, body.altcha
    )
    return login_response(started)


lambda_handler = lambda_handler_for(app, runtime)
