"""GET /challenge: a fresh proof-of-work challenge (ALTCHA) for the sign-up and the password
reset to carry, solved, as `altcha` where the gate asks for one. Never cached: each is good
for one solution."""

from __future__ import annotations

from aws_lambda_powertools.event_handler import Response

from phoneverify import snapstart
from phoneverify.config import GateSettings
from phoneverify.http.app import http_app, lambda_handler_for
from phoneverify.http.errors import JSON
from phoneverify.http.operations import documented
from phoneverify.http.responses import AltchaChallengeResponse, altcha_challenge_response
from phoneverify.runtime import Runtime

runtime = Runtime.from_environment(GateSettings)
snapstart.register(runtime, "human_check")  # SnapStart: built before the snapshot
app = http_app(*runtime.settings.cors_origins)


@app.get("/challenge", **documented("challengeIssue", "Proof of work"))
def challenge() -> Response[AltchaChallengeResponse]:
    issued = altcha_challenge_response(runtime.human_check.issue())
    return Response(
        status_code=200,
        content_type=JSON,
        body=issued,
        headers={"Cache-Control": "no-store"},
    )


lambda_handler = lambda_handler_for(app, runtime)
