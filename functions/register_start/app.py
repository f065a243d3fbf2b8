"""POST /register/start: validate the sign-up form, send a code to its phone and one to its
email (or, for an email that has an account, its owner the "someone tried" notice)."""

from __future__ import annotations

from phoneverify import snapstart
from phoneverify.domain.errors import (
    ChallengeInvalid,
    ChallengeRequired,
    InvalidPhoneNumber,
    PhoneNotAllowed,
    WeakPassword,
)
from phoneverify.email_config import RegistrationSettings
from phoneverify.http.app import http_app, lambda_handler_for
from phoneverify.http.operations import OPENS_A_CHALLENGE, SENDS_AN_EMAIL, documented
from phoneverify.http.requests import RegisterStartRequest, request_origin
from phoneverify.http.responses import RegistrationStartedResponse, registration_started_response
from phoneverify.runtime import Runtime

runtime = Runtime.from_environment(RegistrationSettings)
snapstart.register(runtime, "registration_flow")  # SnapStart: built before the snapshot
app = http_app(*runtime.settings.cors_origins)


@app.post(
    "/register/start",
    **documented(
        "registerStart",
        "Registration",
        InvalidPhoneNumber,
        PhoneNotAllowed,
        WeakPassword,
        ChallengeRequired,
        ChallengeInvalid,
        *SENDS_AN_EMAIL,
        *OPENS_A_CHALLENGE,
    ),
)
def register_start(body: RegisterStartRequest) -> RegistrationStartedResponse:
    started = runtime.registration_flow.start(
        body.name,
        body.email,
        body.phone_number,
        body.password,
        request_origin(app),
        body.channel,
        proof=body.altcha,
    )
    return registration_started_response(started)


lambda_handler = lambda_handler_for(app, runtime)
