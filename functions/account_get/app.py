"""GET /account: the signed-in account (its name, email and whether it is proven, the masked
phone, the factors): what the page asks at sign-in to offer to prove an unproven email."""

from __future__ import annotations

from phoneverify.config import Settings
from phoneverify.domain.errors import NotAuthenticated
from phoneverify.http.account_responses import AccountResponse, account_response
from phoneverify.http.app import http_app, lambda_handler_for
from phoneverify.http.auth import authenticated_user
from phoneverify.http.operations import documented
from phoneverify.runtime import Runtime

runtime = Runtime.from_environment(Settings)
app = http_app(*runtime.settings.cors_origins)


@app.get("/account", **documented("accountGet", "Account", NotAuthenticated))
def account_get() -> AccountResponse:
    return account_response(runtime.account_view.of(authenticated_user(app)))


lambda_handler = lambda_handler_for(app, runtime)
