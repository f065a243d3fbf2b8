"""GET /account/phone/pending: the account's lost-phone swap, if one is waiting (or what
became of the last one)."""

from __future__ import annotations

from phoneverify.domain.errors import NotAuthenticated
from phoneverify.http.app import http_app, lambda_handler_for
from phoneverify.http.auth import authenticated_user
from phoneverify.http.operations import documented
from phoneverify.http.responses import PhoneSwapResponse, phone_swap_response
from phoneverify.lost_phone_config import PhoneSwapSettings
from phoneverify.runtime import Runtime

runtime = Runtime.from_environment(PhoneSwapSettings)
app = http_app(*runtime.settings.cors_origins)


@app.get(
    "/account/phone/pending",
    **documented("accountPhonePending", "Account phone", NotAuthenticated),
)
def account_phone_pending() -> PhoneSwapResponse:
    return phone_swap_response(runtime.lost_phone_flow.pending(authenticated_user(app)))


lambda_handler = lambda_handler_for(app, runtime)
