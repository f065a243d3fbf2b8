"""GET /verify/status: where a verification stands, and what became of its SMS."""

from __future__ import annotations

from phoneverify.http.app import http_app, lambda_handler_for
from phoneverify.http.requests import FlowIdQuery
from phoneverify.http.responses import StatusResponse, status_response
from phoneverify.runtime import Runtime

runtime = Runtime.from_environment()
app = http_app(runtime.settings.allowed_origin)


@app.get("/verify/status")
def verify_status(flow_id: FlowIdQuery) -> StatusResponse:
    return status_response(runtime.any_flow.status(flow_id))


lambda_handler = lambda_handler_for(app, runtime.metrics)
