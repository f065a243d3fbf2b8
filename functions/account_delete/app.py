"""POST /account/delete: with the step-up's `Reauth-Token`, the account is deleted: every token
ends, its email and phone are free, its pending payments are cancelled, and its phone and
email are told (docs/privacy.md#deleting-an-account)."""

from __future__ import annotations

from phoneverify import snapstart
from phoneverify.account_data_config import AccountDataSettings
from phoneverify.domain.errors import NotAuthenticated, ReauthRequired
from phoneverify.http.account_data import AccountDeletedResponse, AccountDeleteRequest
from phoneverify.http.app import http_app, lambda_handler_for
from phoneverify.http.auth import REAUTH_TOKEN_PARAMETER, signed_in_caller
from phoneverify.http.operations import documented
from phoneverify.http.requests import request_origin
from phoneverify.runtime import Runtime

runtime = Runtime.from_environment(AccountDataSettings)
snapstart.register(runtime, "account_data")  # SnapStart: built before the snapshot
app = http_app(*runtime.settings.cors_origins)


@app.post(
    "/account/delete",
    **documented(
        "accountDelete",
        "Account",
        NotAuthenticated,
        ReauthRequired,
        headers=(REAUTH_TOKEN_PARAMETER,),
    ),
)
def account_delete(body: AccountDeleteRequest) -> AccountDeletedResponse:
    runtime.account_data.delete(signed_in_caller(app), request_origin(app))
    return AccountDeletedResponse()


lambda_handler = lambda_handler_for(app, runtime)
