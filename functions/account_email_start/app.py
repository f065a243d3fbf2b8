"""POST /account/email/start: with the step-up's `Reauth-Token`, send a code to the address the
account is to take (an address another account holds gets its owner's notice instead, after
the same work); the account's own unproven address is proven without one (docs/email.md)."""

from __future__ import annotations

from phoneverify.domain.errors import NotAuthenticated, ReauthRequired
from phoneverify.email_config import EmailSettings
from phoneverify.http.app import http_app, lambda_handler_for
from phoneverify.http.auth import REAUTH_TOKEN_PARAMETER, signed_in_caller
from phoneverify.http.operations import SENDS_AN_EMAIL, documented
from phoneverify.http.requests import EmailChangeStartRequest, request_origin
from phoneverify.http.responses import EmailCodeSentResponse, email_code_response
from phoneverify.runtime import Runtime

runtime = Runtime.from_environment(EmailSettings)
app = http_app(*runtime.settings.cors_origins)


@app.post(
    "/account/email/start",
    **documented(
        "accountEmailStart",
        "Account email",
        NotAuthenticated,
        ReauthRequired,
        *SENDS_AN_EMAIL,
        headers=(REAUTH_TOKEN_PARAMETER,),
    ),
)
def account_email_start(body: EmailChangeStartRequest) -> EmailCodeSentResponse:
    started = runtime.email_change_flow.start(
        signed_in_caller(app), body.email, request_origin(app)
    )
    return email_code_response(started)


lambda_handler = lambda_handler_for(app, runtime)
