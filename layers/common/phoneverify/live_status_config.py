"""The settings of the functions that admit or push to live-status WebSocket connections
(docs/realtime.md): `LiveStatusSettings`, the capability (the connections table, the stage's
management endpoint, `pushes_live_status`), and each function type that mixes it into what it
reads otherwise (config.py): the WebSocket routes, the webhook, the cancel, and every function
that checks or resends a code bound to an account's phone, whose flow may end as superseded
(a phone change since its code was sent) and tells its watchers so.
"""

from __future__ import annotations

from typing import Annotated, ClassVar

from pydantic import Field, field_validator

from phoneverify.config import (
    CodeSettings,
    NonEmpty,
    PaymentSettings,
    Settings,
    SsmName,
    TokenSettings,
)


class LiveStatusSettings(Settings):
    """Functions that admit or push to live-status WebSocket connections (docs/realtime.md):
    the connections table and the WebSocket stage's management endpoint."""

    pushes_live_status: ClassVar[bool] = True
    connections_table: NonEmpty
    # https://<api id>.execute-api.<region>.amazonaws.com/<stage> (locally the local gateway).
    websocket_management_url: Annotated[str, Field(pattern=r"^https?://[^\s/]+(:\d+)?(/[^\s]*)?$")]
    # Connections watching one flow at a time (a page, a reload, a second tab).
    max_connections_per_flow: Annotated[int, Field(ge=1, le=50)] = 5
    # A push waits this long for the management API; a slow one never holds the webhook.
    websocket_push_timeout_secs: Annotated[float, Field(gt=0, le=10)] = 2.0

    @field_validator("websocket_management_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")


class WebhookSettings(LiveStatusSettings):
    """The Telnyx webhook function: the key its deliveries are signed with, and the ledger
    of events taken in; it pushes each delivery report to the flow's live-status connections.
    """

    telnyx_public_key_param: SsmName
    webhook_events_table: NonEmpty


class CancelSettings(PaymentSettings, TokenSettings, LiveStatusSettings):
    """/verify/cancel: any flow by its id, or a payment with the payer's bearer token; a
    cancelled flow's live-status connections are told (docs/realtime.md)."""


class AccountCodeSettings(CodeSettings, LiveStatusSettings):
    """Functions that check or resend a code sent to an account's phone (the login, the
    password reset, the phone change): a flow whose number the account has left since ends
    as superseded, and its live-status connections are told (docs/realtime.md)."""


class PaymentCodeSettings(PaymentSettings, LiveStatusSettings):
    """/payments/confirm and /payments/resend: a payment's code is bound to the payer's phone,
    so its flow may end as superseded too, and its live-status connections are told."""
