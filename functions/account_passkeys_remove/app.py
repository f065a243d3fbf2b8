"""POST /account/passkeys/remove: with the step-up's `Reauth-Token`, the account's passkey is
removed and its owner told through the notices outbox (docs/factors.md#passkeys)."""

from __future__ import annotations

from phoneverify.domain.errors import NotAuthenticated, ReauthRequired
from phoneverify.domain.passkeys import PasskeyNotFound
from phoneverify.http.app import http_app, lambda_handler_for
from phoneverify.http.auth import REAUTH_TOKEN_PARAMETER, signed_in_caller
from phoneverify.http.operations import documented
from phoneverify.http.passkeys import PasskeyRemovedResponse, PasskeyRemoveRequest
from phoneverify.http.requests import request_origin
from phoneverify.passkey_config import PasskeyRemoveSettings
from phoneverify.runtime import Runtime

runtime = Runtime.from_environment(PasskeyRemoveSettings)
app = http_app(*runtime.settings.cors_origins)


@app.post(
    "/account/passkeys/remove",
    **documented(
        "accountPasskeyRemove",
        "Passkeys",
        NotAuthenticated,
        ReauthRequired,
        PasskeyNotFound,
        headers=(REAUTH_TOKEN_PARAMETER,),
    ),
)
def account_passkey_remove(body: PasskeyRemoveRequest) -> PasskeyRemovedResponse:
    runtime.passkey_registry.remove(signed_in_caller(app), body.passkey_id, request_origin(app))
    return PasskeyRemovedResponse()


lambda_handler = lambda_handler_for(app, runtime)
