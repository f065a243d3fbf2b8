"""POST /password/reset/verify: check the code (and, for an account with an authenticator app,
its code or a recovery code), set the new password, end every token."""

from __future__ import annotations

from phoneverify import snapstart
from phoneverify.domain.errors import WeakPassword
from phoneverify.domain.factor_errors import FactorRequired
from phoneverify.factor_config import AccountFactorSettings
from phoneverify.http.app import http_app, lambda_handler_for
from phoneverify.http.operations import CHECKS_A_CODE, documented
from phoneverify.http.requests import PasswordResetVerifyRequest, request_origin
from phoneverify.http.responses import PasswordResetResponse, password_reset_response
from phoneverify.runtime import Runtime

runtime = Runtime.from_environment(AccountFactorSettings)
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
    )
    return password_reset_response(done)


lambda_handler = lambda_handler_for(app, runtime)
