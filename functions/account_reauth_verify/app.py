"""POST /account/reauth/verify: the step-up's second step (the SMS code, the authenticator
app's code, or a passkey's assertion), for a reauth token. POST /account/reauth/passkey/options:
WebAuthn request options for the caller's passkeys, their challenge bound to the pending
step-up, served by the function that checks their answer (it carries the `webauthn` library;
the password-checking /account/reauth/start does not)."""

from __future__ import annotations

from phoneverify import snapstart
from phoneverify.domain.errors import (
    NoPendingVerification,
    NotAuthenticated,
    TooManyAttempts,
    VerificationExpired,
)
from phoneverify.domain.factors import FactorKind
from phoneverify.domain.passkeys import PasskeyRejected
from phoneverify.http.app import http_app, lambda_handler_for
from phoneverify.http.auth import signed_in_caller
from phoneverify.http.factor_requests import FlowPasskeyOptionsRequest, ReauthVerifyRequest
from phoneverify.http.operations import CHECKS_A_CODE, documented
from phoneverify.http.passkeys import WebAuthnOptionsResponse, options_response
from phoneverify.http.requests import request_origin
from phoneverify.http.responses import ReauthTokenResponse, reauth_token_response
from phoneverify.passkey_config import SecondStepSettings
from phoneverify.runtime import Runtime

runtime = Runtime.from_environment(SecondStepSettings)
snapstart.register(runtime, "reauth_flow")  # SnapStart: built before the snapshot
app = http_app(*runtime.settings.cors_origins)


@app.post(
    "/account/reauth/verify",
    **documented(
        "accountReauthVerify",
        "Fresh authentication",
        NotAuthenticated,
        *CHECKS_A_CODE,
    ),
)
def account_reauth_verify(body: ReauthVerifyRequest) -> ReauthTokenResponse:
    granted = runtime.reauth_flow.verify(
        signed_in_caller(app),
        body.flow_id,
        body.code,
        request_origin(app),
        factor=FactorKind(body.factor),
        credential=body.assertion(),
    )
    return reauth_token_response(granted)


@app.post(
    "/account/reauth/passkey/options",
    **documented(
        "accountReauthPasskeyOptions",
        "Fresh authentication",
        NotAuthenticated,
        NoPendingVerification,
        VerificationExpired,
        TooManyAttempts,
        PasskeyRejected,
    ),
)
def account_reauth_passkey_options(body: FlowPasskeyOptionsRequest) -> WebAuthnOptionsResponse:
    options = runtime.reauth_flow.passkey_options(
        signed_in_caller(app), body.flow_id, request_origin(app)
    )
    return options_response(options)


lambda_handler = lambda_handler_for(app, runtime)
