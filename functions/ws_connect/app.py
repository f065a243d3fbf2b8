"""WebSocket $connect?flow_id=...: a page subscribes to its flow's live status
(docs/realtime.md). Refused (403) for a flow that is unknown, ended or expired."""

from __future__ import annotations

from typing import Any

from phoneverify.http.websocket import websocket_connect
from phoneverify.live_status_config import LiveStatusSettings
from phoneverify.runtime import Runtime
from phoneverify.tracing import traced

runtime = Runtime.from_environment(LiveStatusSettings)


@traced
def lambda_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    return websocket_connect(event, runtime.live_status, runtime.settings.cors_origins)
