"""POST /password/reset/start: send a code to the account's phone (the same answer for every
email, whether it has an account or not)."""

from __future__ import annotations

from phoneverify import snapstart
from phoneverify.config import GateSettings
from phoneverify.domain.errors import ChallengeInvalid, ChallengeRequired
from phoneverify.http.app import http_app, lambda_handler_for
from phoneverify.http.operations import SENDS_TO_AN_ACCOUNT_PHONE, documented
from phoneverify.http.requests import PasswordResetStartRequest, request_origin
from phoneverify.http.responses import ChallengeResponse, challenge_response
from phoneverify.runtime import Runtime

runtime = Runtime.from_environment(GateSettings)
snapstart.register(runtime, "password_reset_flow")  # SnapStart: built before the snapshot
app = http_app(*runtime.settings.cors_origins)


@app.post(
    "/password/reset/start",
    **documented(
        "passwordResetStart",
        "Password reset",
        ChallengeRequired,
        ChallengeInvalid,
        *SENDS_TO_AN_ACCOUNT_PHONE,
    ),
)
def password_reset_start(body: PasswordResetStartRequest) -> ChallengeResponse:
    started = runtime.password_reset_flow.start(
        body.email, request_origin(app), body.channel, proof=body.altcha
    )
    return challenge_response(started)


lambda_handler = lambda_handler_for(app, runtime)
