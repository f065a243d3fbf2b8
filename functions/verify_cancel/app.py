"""POST /verify/cancel: end a pending verification (of any kind) the person walked away from."""

from __future__ import annotations

from typing import Any

from phoneverify.api import FlowRequest, http_app, lambda_handler_for, request_origin
from phoneverify.runtime import Runtime

runtime = Runtime.from_environment()
app = http_app(runtime.settings.allowed_origin)


@app.post("/verify/cancel")
def verify_cancel(body: FlowRequest) -> dict[str, Any]:
    return {"cancelled": runtime.any_flow.cancel(body.flow_id, request_origin(app))}


lambda_handler = lambda_handler_for(app, runtime.metrics)
