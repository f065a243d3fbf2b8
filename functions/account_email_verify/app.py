"""POST /account/email/verify: prove the address with its code; the account takes it (both
addresses are told), or marks its own proven (docs/email.md)."""

from __future__ import annotations

from phoneverify.domain.errors import EmailAlreadyRegistered, NotAuthenticated
from phoneverify.email_config import EmailSettings
from phoneverify.http.app import http_app, lambda_handler_for
from phoneverify.http.auth import authenticated_user
from phoneverify.http.operations import CHECKS_A_CODE, documented
from phoneverify.http.requests import VerifyCodeRequest, request_origin
from phoneverify.http.responses import EmailChangedResponse, email_changed_response
from phoneverify.runtime import Runtime

runtime = Runtime.from_environment(EmailSettings)
app = http_app(*runtime.settings.cors_origins)


@app.post(
    "/account/email/verify",
    **documented(
        "accountEmailVerify",
        "Account email",
        NotAuthenticated,
        EmailAlreadyRegistered,
        *CHECKS_A_CODE,
    ),
)
def account_email_verify(body: VerifyCodeRequest) -> EmailChangedResponse:
    changed = runtime.email_change_flow.verify(
        authenticated_user(app), body.flow_id, body.code, request_origin(app)
    )
    return email_changed_response(changed)


lambda_handler = lambda_handler_for(app, runtime)
