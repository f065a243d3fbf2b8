"""POST /account/phone/verify: prove the new number with its code; the account's phone is
swapped for it."""

from __future__ import annotations

from phoneverify.domain.errors import NotAuthenticated, PhoneAlreadyRegistered
from phoneverify.http.app import http_app, lambda_handler_for
from phoneverify.http.auth import authenticated_user
from phoneverify.http.operations import CHECKS_A_CODE, documented
from phoneverify.http.requests import VerifyCodeRequest, request_origin
from phoneverify.http.responses import PhoneChangedResponse, phone_changed_response
from phoneverify.live_status_config import AccountCodeSettings
from phoneverify.runtime import Runtime

runtime = Runtime.from_environment(AccountCodeSettings)
app = http_app(*runtime.settings.cors_origins)


@app.post(
    "/account/phone/verify",
    **documented(
        "accountPhoneVerify",
        "Account phone",
        NotAuthenticated,
        PhoneAlreadyRegistered,
        *CHECKS_A_CODE,
    ),
)
def account_phone_verify(body: VerifyCodeRequest) -> PhoneChangedResponse:
    changed = runtime.phone_change_flow.verify(
        authenticated_user(app), body.flow_id, body.code, request_origin(app)
    )
    return phone_changed_response(changed)


lambda_handler = lambda_handler_for(app, runtime)
