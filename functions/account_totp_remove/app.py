"""POST /account/totp/remove: with the step-up's `Reauth-Token`, remove the account's
authenticator app (its recovery codes with it when no passkey remains); the owner is told
(docs/factors.md)."""

from __future__ import annotations

from phoneverify.domain.errors import NotAuthenticated, ReauthRequired
from phoneverify.domain.factor_errors import FactorNotEnrolled
from phoneverify.factor_config import TotpRemoveSettings
from phoneverify.http.app import http_app, lambda_handler_for
from phoneverify.http.auth import REAUTH_TOKEN_PARAMETER, signed_in_caller
from phoneverify.http.factor_requests import TotpRemoveRequest
from phoneverify.http.factor_responses import TotpRemovedResponse
from phoneverify.http.operations import documented
from phoneverify.http.requests import request_origin
from phoneverify.runtime import Runtime

runtime = Runtime.from_environment(TotpRemoveSettings)
app = http_app(*runtime.settings.cors_origins)


@app.post(
    "/account/totp/remove",
    **documented(
        "accountTotpRemove",
        "Authenticator app",
        NotAuthenticated,
        ReauthRequired,
        FactorNotEnrolled,
        headers=(REAUTH_TOKEN_PARAMETER,),
    ),
)
def account_totp_remove(body: TotpRemoveRequest) -> TotpRemovedResponse:
    runtime.totp_factor.remove(signed_in_caller(app), request_origin(app))
    return TotpRemovedResponse()


lambda_handler = lambda_handler_for(app, runtime)
