"""POST /password/reset/verify: check the code (and, for an account with a stronger factor, the
app's code, a passkey's assertion or a recovery code), set the new password, end every token.
POST /password/reset/passkey/options: WebAuthn request options for a pending reset, naming no
credential and answered alike for a decoy, served by the function that checks their answer."""

from __future__ import annotations

from phoneverify import snapstart
from phoneverify.domain.errors import (
    NoPendingVerification,
    TooManyAttempts,
    VerificationExpired,
    WeakPassword,
)
from phoneverify.domain.factor_errors import FactorRequired
from phoneverify.http.app import http_app, lambda_handler_for
from phoneverify.http.factor_requests import FlowPasskeyOptionsRequest
from phoneverify.http.operations import CHECKS_A_CODE, documented
from phoneverify.http.passkeys import WebAuthnOptionsResponse, options_response
from phoneverify.http.requests import PasswordResetVerifyRequest, request_origin
from phoneverify.http.responses import PasswordResetResponse, password_reset_response
from phoneverify.passkey_config import SecondStepSettings
from phoneverify.runtime import Runtime

runtime = Runtime.from_environment(SecondStepSettings)
snapstart.register(runtime, "password_reset_flow")  # SnapStart: built before the snapshot
app = http_app(*runtime.settings.cors_origins)


@app.post(
    "/password/reset/verify",
    **documented(
        "passwordResetVerify", "Password reset", *CHECKS_A_CODE, WeakPassword, FactorRequired
    ),
)
def password_reset_verify(body: PasswordResetVerifyRequest) -> PasswordResetResponse:
    done = runtime.password_reset_flow.verify(
        body.flow_id,
        body.code,
        body.new_password,
        request_origin(app),
        totp_code=body.totp_code,
        recovery_code=body.recovery_code,
        credential=None if body.credential is None else body.credential.as_json(),
    )
    return password_reset_response(done)


@app.post(
    "/password/reset/passkey/options",
    **documented(
        "passwordResetPasskeyOptions",
        "Password reset",
        NoPendingVerification,
        VerificationExpired,
        TooManyAttempts,
    ),
)
def password_reset_passkey_options(body: FlowPasskeyOptionsRequest) -> WebAuthnOptionsResponse:
    options = runtime.password_reset_flow.passkey_options(body.flow_id, request_origin(app))
    return options_response(options)


lambda_handler = lambda_handler_for(app, runtime)
