"""POST /register/verify: check the code of a pending registration, create the account."""

from __future__ import annotations

from phoneverify.config import CodeSettings
from phoneverify.domain.errors import EmailAlreadyRegistered, PhoneAlreadyRegistered
from phoneverify.http.app import http_app, lambda_handler_for
from phoneverify.http.operations import CHECKS_A_CODE, documented
from phoneverify.http.requests import VerifyCodeRequest, request_origin
from phoneverify.http.responses import RegisteredResponse, registered_response
from phoneverify.runtime import Runtime

runtime = Runtime.from_environment(CodeSettings)
app = http_app(runtime.settings.allowed_origin)


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
def register_verify(body: VerifyCodeRequest) -> tuple[RegisteredResponse, int]:
    registered = runtime.registration_flow.verify(body.flow_id, body.code, request_origin(app))
    return registered_response(registered), 201


lambda_handler = lambda_handler_for(app, runtime)
