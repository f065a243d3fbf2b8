"""POST /login/resend: send a fresh code for a pending login."""

from __future__ import annotations

from phoneverify import snapstart
from phoneverify.http.app import http_app, lambda_handler_for
from phoneverify.http.operations import RESENDS_A_CODE, documented
from phoneverify.http.requests import ResendRequest, request_origin
from phoneverify.http.responses import ResentResponse, resent_response
from phoneverify.live_status_config import AccountCodeSettings
from phoneverify.runtime import Runtime

runtime = Runtime.from_environment(AccountCodeSettings)
snapstart.register(runtime, "login_flow")  # SnapStart: built before the snapshot
app = http_app(*runtime.settings.cors_origins)


@app.post("/login/resend", **documented("loginResend", "Login", *RESENDS_A_CODE))
def login_resend(body: ResendRequest) -> ResentResponse:
    return resent_response(
        runtime.login_flow.resend(body.flow_id, request_origin(app), body.channel)
    )


lambda_handler = lambda_handler_for(app, runtime)
