"""POST /login/verify: check the second step of a pending login (the SMS code, the
authenticator app's code, a passkey's assertion, or a recovery code in their place) and issue
an access token (after a recovery code, with a reauth token for the new session). POST
/login/passkey/options: WebAuthn request options for the login's account, their challenge
bound to the pending login, served by the function that checks their answer (it carries the
`webauthn` library, its SnapStart snapshot and its sign-in concurrency reservation: no new
function)."""

from __future__ import annotations

from phoneverify import snapstart
from phoneverify.domain.errors import NoPendingVerification, TooManyAttempts, VerificationExpired
from phoneverify.domain.factors import FactorKind
from phoneverify.domain.passkeys import PasskeyRejected
from phoneverify.http.app import http_app, lambda_handler_for
from phoneverify.http.factor_requests import FlowPasskeyOptionsRequest, LoginVerifyRequest
from phoneverify.http.factor_responses import LoginVerifiedResponse, login_verified_response
from phoneverify.http.operations import CHECKS_A_CODE, documented
from phoneverify.http.passkeys import WebAuthnOptionsResponse, options_response
from phoneverify.http.requests import request_origin
from phoneverify.passkey_config import SecondStepSettings
from phoneverify.runtime import Runtime

runtime = Runtime.from_environment(SecondStepSettings)
snapstart.register(runtime, "login_flow")  # SnapStart: built before the snapshot
app = http_app(*runtime.settings.cors_origins)


@app.post("/login/verify", **documented("loginVerify", "Login", *CHECKS_A_CODE))
def login_verify(body: LoginVerifyRequest) -> LoginVerifiedResponse:
    token = runtime.login_flow.verify(
        body.flow_id,
        body.code,
        request_origin(app),
        factor=FactorKind(body.factor),
        recovery_code=body.recovery_code,
        credential=body.assertion(),
    )
    return login_verified_response(token)


@app.post(
    "/login/passkey/options",
    **documented(
        "loginPasskeyOptions",
        "Login",
        NoPendingVerification,
        VerificationExpired,
        TooManyAttempts,
        PasskeyRejected,
    ),
)
def login_passkey_options(body: FlowPasskeyOptionsRequest) -> WebAuthnOptionsResponse:
    options = runtime.login_flow.passkey_options(body.flow_id, request_origin(app))
    return options_response(options)


lambda_handler = lambda_handler_for(app, runtime)
