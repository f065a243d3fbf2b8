"""POST /account/phone/start: with the step-up's `Reauth-Token` (or, for an account without a
phone, the current password), send a code to a new phone number."""

from __future__ import annotations

from phoneverify.config import CodeSettings
from phoneverify.domain.errors import (
    InvalidCredentials,
    LoginThrottled,
    NotAuthenticated,
    ReauthRequired,
)
from phoneverify.http.app import http_app, lambda_handler_for
from phoneverify.http.auth import REAUTH_TOKEN_PARAMETER, signed_in_caller
from phoneverify.http.operations import OPENS_A_CHALLENGE, documented
from phoneverify.http.requests import PhoneChangeStartRequest, request_origin
from phoneverify.http.responses import ChallengeResponse, challenge_response
from phoneverify.runtime import Runtime

runtime = Runtime.from_environment(CodeSettings)
app = http_app(*runtime.settings.cors_origins)


@app.post(
    "/account/phone/start",
    **documented(
        "accountPhoneStart",
        "Account phone",
        NotAuthenticated,
        ReauthRequired,
        InvalidCredentials,
        LoginThrottled,
        *OPENS_A_CHALLENGE,
        headers=(REAUTH_TOKEN_PARAMETER,),
    ),
)
def account_phone_start(body: PhoneChangeStartRequest) -> ChallengeResponse:
    challenge = runtime.phone_change_flow.start(
        signed_in_caller(app),
        body.phone_number,
        body.password,
        request_origin(app),
        body.channel,
    )
    return challenge_response(challenge)


lambda_handler = lambda_handler_for(app, runtime)
