"""WebSocket $disconnect: the connection no longer watches its flow (docs/realtime.md)."""

from __future__ import annotations

from typing import Any

from phoneverify.http.websocket import websocket_disconnect
from phoneverify.live_status_config import LiveStatusSettings
from phoneverify.runtime import Runtime
from phoneverify.tracing import traced

runtime = Runtime.from_environment(LiveStatusSettings)


@traced
def lambda_handler(event: dict[str, Any], context: object) -> dict[str, Any]:
    return websocket_disconnect(event, runtime.live_status)
