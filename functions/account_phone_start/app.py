"""POST /account/phone/start: with the current password, send a code to a new phone number."""

from __future__ import annotations

from phoneverify.config import CodeSettings
from phoneverify.domain.errors import InvalidCredentials, LoginThrottled, NotAuthenticated
from phoneverify.http.app import http_app, lambda_handler_for
from phoneverify.http.auth import authenticated_user
from phoneverify.http.operations import OPENS_A_CHALLENGE, documented
from phoneverify.http.requests import PhoneChangeStartRequest, request_origin
from phoneverify.http.responses import ChallengeResponse, challenge_response
from phoneverify.runtime import Runtime

runtime = Runtime.from_environment(CodeSettings)
app = http_app(runtime.settings.allowed_origin)


@app.post(
    "/account/phone/start",
    **documented(
        "accountPhoneStart",
        "Account phone",
        NotAuthenticated,
        InvalidCredentials,
        LoginThrottled,
        *OPENS_A_CHALLENGE,
    ),
)
def account_phone_start(body: PhoneChangeStartRequest) -> ChallengeResponse:
    challenge = runtime.phone_change_flow.start(
        authenticated_user(app),
        body.phone_number,
        body.password,
        request_origin(app),
        body.channel,
    )
    return challenge_response(challenge)


lambda_handler = lambda_handler_for(app, runtime)
