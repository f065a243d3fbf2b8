"""POST /account/passkeys/options: with the step-up's `Reauth-Token`, WebAuthn's creation
options for a new passkey, their challenge kept for one answer (docs/factors.md#passkeys)."""

from __future__ import annotations

from phoneverify.domain.errors import NotAuthenticated, ReauthRequired
from phoneverify.domain.passkeys import TooManyPasskeys
from phoneverify.http.app import http_app, lambda_handler_for
from phoneverify.http.auth import REAUTH_TOKEN_PARAMETER, signed_in_caller
from phoneverify.http.operations import documented
from phoneverify.http.passkeys import (
    PasskeyOptionsRequest,
    WebAuthnOptionsResponse,
    options_response,
)
from phoneverify.http.requests import request_origin
from phoneverify.passkey_config import PasskeyAccountSettings
from phoneverify.runtime import Runtime

runtime = Runtime.from_environment(PasskeyAccountSettings)
app = http_app(*runtime.settings.cors_origins)


@app.post(
    "/account/passkeys/options",
    **documented(
        "accountPasskeyOptions",
        "Passkeys",
        NotAuthenticated,
        ReauthRequired,
        TooManyPasskeys,
        headers=(REAUTH_TOKEN_PARAMETER,),
    ),
)
def account_passkey_options(body: PasskeyOptionsRequest) -> WebAuthnOptionsResponse:
    del body  # nothing to read: the request is the step-up's
    options = runtime.passkey_registry.creation_options(signed_in_caller(app), request_origin(app))
    return options_response(options)


lambda_handler = lambda_handler_for(app, runtime)
