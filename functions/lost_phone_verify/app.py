"""POST /password/reset/lost-phone/verify: the email's code; then a code to the new number
(its flow id is the one the next steps take)."""

from __future__ import annotations

from phoneverify.domain.errors import PrefixHeld
from phoneverify.http.app import http_app, lambda_handler_for
from phoneverify.http.operations import CHECKS_A_CODE, OPENS_A_CHALLENGE, documented
from phoneverify.http.requests import VerifyCodeRequest, request_origin
from phoneverify.http.responses import ChallengeResponse, challenge_response
from phoneverify.lost_phone_config import LostPhoneSettings
from phoneverify.runtime import Runtime

runtime = Runtime.from_environment(LostPhoneSettings)
app = http_app(*runtime.settings.cors_origins)


@app.post(
    "/password/reset/lost-phone/verify",
    **documented(
        "lostPhoneVerify", "Password reset", *CHECKS_A_CODE, *OPENS_A_CHALLENGE, PrefixHeld
    ),
)
def lost_phone_verify(body: VerifyCodeRequest) -> ChallengeResponse:
    opened = runtime.lost_phone_flow.verify(body.flow_id, body.code, request_origin(app))
    return challenge_response(opened)


lambda_handler = lambda_handler_for(app, runtime)
