"""POST /register/verify: check both codes of a pending registration (SMS and email), create
the account."""

from __future__ import annotations

from phoneverify import snapstart
from phoneverify.domain.errors import EmailAlreadyRegistered, PhoneAlreadyRegistered
from phoneverify.email_config import EmailSettings
from phoneverify.http.app import http_app, lambda_handler_for
from phoneverify.http.operations import CHECKS_A_CODE, documented
from phoneverify.http.requests import RegisterVerifyRequest, request_origin
from phoneverify.http.responses import RegisteredResponse, registered_response
from phoneverify.runtime import Runtime

runtime = Runtime.from_environment(EmailSettings)
snapstart.register(runtime, "registration_flow")  # SnapStart: built before the snapshot
app = http_app(*runtime.settings.cors_origins)


@app.post(
    "/register/verify",
    **documented(
        "registerVerify",
        "Registration",
        *CHECKS_A_CODE,
        EmailAlreadyRegistered,
        PhoneAlreadyRegistered,
        status=201,
        description="The account is created",
    ),
)
def register_verify(body: RegisterVerifyRequest) -> tuple[RegisteredResponse, int]:
    registered = runtime.registration_flow.verify(
        body.flow_id, body.code, body.email_code, request_origin(app)
    )
    return registered_response(registered), 201


lambda_handler = lambda_handler_for(app, runtime)
