"""POST /password/reset/lost-phone/complete: after the waiting period, bind the new number and
set the new password; every session of the account ends. Before it: lost_phone_waiting with
`retry_after`."""

from __future__ import annotations

from phoneverify.domain.errors import (
    LostPhoneWaiting,
    NoPendingPhoneSwap,
    PhoneAlreadyRegistered,
)
from phoneverify.http.app import http_app, lambda_handler_for
from phoneverify.http.operations import documented
from phoneverify.http.requests import LostPhoneCompleteRequest, request_origin
from phoneverify.http.responses import PhoneSwapResponse, phone_swap_response
from phoneverify.lost_phone_config import LostPhoneSettings
from phoneverify.runtime import Runtime

runtime = Runtime.from_environment(LostPhoneSettings)
app = http_app(*runtime.settings.cors_origins)


@app.post(
    "/password/reset/lost-phone/complete",
    **documented(
        "lostPhoneComplete",
        "Password reset",
        NoPendingPhoneSwap,
        LostPhoneWaiting,
        PhoneAlreadyRegistered,
    ),
)
def lost_phone_complete(body: LostPhoneCompleteRequest) -> PhoneSwapResponse:
    state = runtime.lost_phone_flow.complete(body.flow_id, body.new_password, request_origin(app))
    return phone_swap_response(state)


lambda_handler = lambda_handler_for(app, runtime)
