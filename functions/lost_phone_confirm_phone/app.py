"""POST /password/reset/lost-phone/confirm-phone: the new number's code; the swap is recorded
and binds once the waiting period is over (the owner is told at the old number and the
email, and may cancel it from a signed-in session)."""

from __future__ import annotations

from phoneverify.domain.errors import PhoneSwapPending
from phoneverify.http.app import http_app, lambda_handler_for
from phoneverify.http.operations import CHECKS_A_CODE, documented
from phoneverify.http.requests import VerifyCodeRequest, request_origin
from phoneverify.http.responses import PhoneSwapResponse, phone_swap_response
from phoneverify.lost_phone_config import LostPhoneSettings
from phoneverify.runtime import Runtime

runtime = Runtime.from_environment(LostPhoneSettings)
app = http_app(*runtime.settings.cors_origins)


@app.post(
    "/password/reset/lost-phone/confirm-phone",
    **documented("lostPhoneConfirmPhone", "Password reset", *CHECKS_A_CODE, PhoneSwapPending),
)
def lost_phone_confirm_phone(body: VerifyCodeRequest) -> PhoneSwapResponse:
    state = runtime.lost_phone_flow.confirm_phone(body.flow_id, body.code, request_origin(app))
    return phone_swap_response(state)


lambda_handler = lambda_handler_for(app, runtime)
