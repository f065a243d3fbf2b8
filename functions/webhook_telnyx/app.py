"""POST /webhooks/telnyx (a Lambda function URL): Telnyx Verify delivery events, signed."""

from __future__ import annotations

from phoneverify.domain.errors import InvalidWebhookSignature
from phoneverify.http.app import function_url_app, lambda_handler_for
from phoneverify.http.operations import documented
from phoneverify.http.requests import function_url_origin, raw_body
from phoneverify.http.responses import ReceivedResponse
from phoneverify.live_status_config import WebhookSettings
from phoneverify.runtime import Runtime

runtime = Runtime.from_environment(WebhookSettings)
app = function_url_app()


# The function URL's root; the second path serves a URL configured with the path appended
# (the OpenAPI document shows it under `webhooks`: devtools/openapi.py).
@app.post("/", **documented("telnyxWebhookAtRoot", "Webhooks", InvalidWebhookSignature))
@app.post(
    "/webhooks/telnyx",
    **documented(
        "telnyxWebhook",
        "Webhooks",
        InvalidWebhookSignature,
        description="Accepted (a repeated delivery too)",
    ),
)
def webhook_telnyx() -> ReceivedResponse:
    runtime.telnyx_webhooks.receive(
        raw_body(app), app.current_event.headers, function_url_origin(app)
    )
    return ReceivedResponse()


lambda_handler = lambda_handler_for(app, runtime)
