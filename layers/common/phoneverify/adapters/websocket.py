"""Pushes to open WebSocket connections through the API Gateway Management API
(`POST {stage endpoint}/@connections/{id}`); locally the local gateway serves the same route.

Errors become the port's outcomes here: GoneException (the connection closed) -> False, any
other failure -> PushUnavailable.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from phoneverify.domain.models import ChallengeState
from phoneverify.ports.verifications import PushUnavailable

GONE = "GoneException"


class ApiGatewayStatusPush:
    def __init__(self, client: Callable[[], Any]) -> None:
        """`client` builds boto3's "apigatewaymanagementapi" client, bound to the stage's
        endpoint: on the first push only, so a function that finds no one watching (or only
        forgets connections) never loads its service model at cold start."""
        self._make_client = client
        self._client: Any = None

    def post(self, connection_id: str, state: ChallengeState) -> bool:
        # The very body GET /verify/status answers: the state's public fields, compact JSON.
        data = json.dumps(state.public_fields(), separators=(",", ":")).encode("utf-8")
        try:
            if self._client is None:
                self._client = self._make_client()
            self._client.post_to_connection(ConnectionId=connection_id, Data=data)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == GONE:
                return False
            raise PushUnavailable() from exc
        except BotoCoreError as exc:  # connection errors, timeouts
            raise PushUnavailable() from exc
        return True
