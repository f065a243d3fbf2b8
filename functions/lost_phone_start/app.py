"""POST /password/reset/lost-phone/start: "I no longer have this phone": a code to the
account's proven email (the same answer for every email, whether it may use this path or
not), to replace the phone with `new_phone` (docs/phone-lifecycle.md#a-lost-phone)."""

from __future__ import annotations

from phoneverify.http.app import http_app, lambda_handler_for
from phoneverify.http.operations import SENDS_AN_EMAIL, documented
from phoneverify.http.requests import LostPhoneStartRequest, request_origin
from phoneverify.http.responses import EmailCodeSentResponse, email_code_response
from phoneverify.lost_phone_config import LostPhoneSettings
from phoneverify.runtime import Runtime

runtime = Runtime.from_environment(LostPhoneSettings)
app = http_app(*runtime.settings.cors_origins)


@app.post(
    "/password/reset/lost-phone/start",
    **documented("lostPhoneStart", "Password reset", *SENDS_AN_EMAIL),
)
def lost_phone_start(body: LostPhoneStartRequest) -> EmailCodeSentResponse:
    started = runtime.lost_phone_flow.start(body.email, body.new_phone, request_origin(app))
    return email_code_response(started)


lambda_handler = lambda_handler_for(app, runtime)
