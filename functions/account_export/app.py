"""GET /account/export: with the step-up's `Reauth-Token`, every datum held about the person in
one JSON answer: profile, phone and email, factors (never their secrets), sessions, payments,
audit events (docs/privacy.md#what-an-export-holds)."""

from __future__ import annotations

from phoneverify import snapstart
from phoneverify.account_data_config import AccountDataSettings
from phoneverify.domain.errors import NotAuthenticated, ReauthRequired
from phoneverify.http.account_data import AccountExportResponse, export_response
from phoneverify.http.app import http_app, lambda_handler_for
from phoneverify.http.auth import REAUTH_TOKEN_PARAMETER, signed_in_caller
from phoneverify.http.operations import documented
from phoneverify.http.requests import request_origin
from phoneverify.runtime import Runtime

runtime = Runtime.from_environment(AccountDataSettings)
snapstart.register(runtime, "account_data")  # SnapStart: built before the snapshot
app = http_app(*runtime.settings.cors_origins)


@app.get(
    "/account/export",
    **documented(
        "accountExport",
        "Account",
        NotAuthenticated,
        ReauthRequired,
        headers=(REAUTH_TOKEN_PARAMETER,),
    ),
)
def account_export() -> AccountExportResponse:
    export = runtime.account_data.export(signed_in_caller(app), request_origin(app))
    return export_response(export, runtime.clock.now())


lambda_handler = lambda_handler_for(app, runtime)
