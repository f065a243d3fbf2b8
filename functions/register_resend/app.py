"""POST /register/resend: send a fresh code for a pending registration."""

from __future__ import annotations

from phoneverify import snapstart
from phoneverify.email_config import EmailSettings
from phoneverify.http.app import http_app, lambda_handler_for
from phoneverify.http.operations import RESENDS_A_CODE, documented
from phoneverify.http.requests import ResendRequest, request_origin
from phoneverify.http.responses import ResentResponse, resent_response
from phoneverify.runtime import Runtime

runtime = Runtime.from_environment(EmailSettings)
snapstart.register(runtime, "registration_flow")  # SnapStart: built before the snapshot
app = http_app(*runtime.settings.cors_origins)


@app.post("/register/resend", **documented("registerResend", "Registration", *RESENDS_A_CODE))
def register_resend(body: ResendRequest) -> ResentResponse:
    return resent_response(
        runtime.registration_flow.resend(body.flow_id, request_origin(app), body.channel)
    )


lambda_handler = lambda_handler_for(app, runtime)
