"""/account/passkeys: GET lists the account's passkeys (never their keys); POST, with the
step-up's `Reauth-Token`, adds the one the browser made for the creation options
(docs/factors.md#passkeys)."""

from __future__ import annotations

from phoneverify.domain.errors import NotAuthenticated, ReauthRequired
from phoneverify.domain.passkeys import PasskeyAlreadyRegistered, PasskeyRejected, TooManyPasskeys
from phoneverify.http.app import http_app, lambda_handler_for
from phoneverify.http.auth import REAUTH_TOKEN_PARAMETER, signed_in_caller
from phoneverify.http.operations import documented
from phoneverify.http.passkeys import (
    PasskeyAddedResponse,
    PasskeyListResponse,
    PasskeyRegisterRequest,
    passkey_added_response,
    passkey_response,
)
from phoneverify.http.requests import request_origin
from phoneverify.passkey_config import PasskeyAccountSettings
from phoneverify.runtime import Runtime

runtime = Runtime.from_environment(PasskeyAccountSettings)
app = http_app(*runtime.settings.cors_origins)


@app.get("/account/passkeys", **documented("accountPasskeyList", "Passkeys", NotAuthenticated))
def account_passkey_list() -> PasskeyListResponse:
    views = runtime.passkey_registry.list(signed_in_caller(app))
    return PasskeyListResponse(passkeys=[passkey_response(v) for v in views])


@app.post(
    "/account/passkeys",
    **documented(
        "accountPasskeyAdd",
        "Passkeys",
        NotAuthenticated,
        ReauthRequired,
        PasskeyRejected,
        PasskeyAlreadyRegistered,
        TooManyPasskeys,
        status=201,
        description="Added",
        headers=(REAUTH_TOKEN_PARAMETER,),
    ),
)
def account_passkey_add(body: PasskeyRegisterRequest) -> tuple[PasskeyAddedResponse, int]:
    view = runtime.passkey_registry.register(
        signed_in_caller(app), body.credential.as_json(), request_origin(app)
    )
    return passkey_added_response(view), 201


lambda_handler = lambda_handler_for(app, runtime)
