"""POST /account/reauth/start: the password again, then a code to the account's phone (or, for
an account without one, the reauth token at once)."""

from __future__ import annotations

from phoneverify import snapstart
from phoneverify.config import CodeSettings
from phoneverify.domain.errors import InvalidCredentials, LoginThrottled, NotAuthenticated
from phoneverify.http.app import http_app, lambda_handler_for
from phoneverify.http.auth import signed_in_caller
from phoneverify.http.operations import SENDS_TO_AN_ACCOUNT_PHONE, documented
from phoneverify.http.requests import ReauthStartRequest, request_origin
from phoneverify.http.responses import (
    ReauthChallengeResponse,
    ReauthTokenResponse,
    reauth_response,
)
from phoneverify.runtime import Runtime

runtime = Runtime.from_environment(CodeSettings)
snapstart.register(runtime, "reauth_flow")  # SnapStart: built before the snapshot
app = http_app(*runtime.settings.cors_origins)


@app.post(
    "/account/reauth/start",
    **documented(
        "accountReauthStart",
        "Fresh authentication",
        NotAuthenticated,
        InvalidCredentials,
        LoginThrottled,
        *SENDS_TO_AN_ACCOUNT_PHONE,
    ),
)
def account_reauth_start(body: ReauthStartRequest) -> ReauthChallengeResponse | ReauthTokenResponse:
    started = runtime.reauth_flow.start(
        signed_in_caller(app), body.password, request_origin(app), body.channel
    )
    return reauth_response(started)


lambda_handler = lambda_handler_for(app, runtime)
