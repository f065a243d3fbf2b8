"""POST /logout: end the bearer token of the request, or (`{"all": true}`) every token of its
account. The route is open: the token is checked here (as /verify/cancel does), since ending
it needs its own claims (`jti`, `exp`), which the authorizer does not pass on."""

from __future__ import annotations

from phoneverify.config import LogoutSettings
from phoneverify.domain.errors import NotAuthenticated
from phoneverify.http.app import http_app, lambda_handler_for
from phoneverify.http.auth import BEARER_REQUIRED, bearer_claims
from phoneverify.http.operations import documented
from phoneverify.http.requests import LogoutRequest, request_origin
from phoneverify.http.responses import LoggedOutResponse, logged_out_response
from phoneverify.runtime import Runtime

runtime = Runtime.from_environment(LogoutSettings)
app = http_app(*runtime.settings.cors_origins)


@app.post("/logout", security=BEARER_REQUIRED, **documented("logout", "Sessions", NotAuthenticated))
def logout(body: LogoutRequest) -> LoggedOutResponse:
    sessions = runtime.logout_sessions
    claims = bearer_claims(app, sessions)
    return logged_out_response(sessions.logout(claims, body.all, request_origin(app)))


lambda_handler = lambda_handler_for(app, runtime)
