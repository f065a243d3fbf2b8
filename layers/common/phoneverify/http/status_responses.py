"""What GET /verify/status answers (a module of its own: responses.py is full): a flow's
state, and for a payment the payment's own status besides."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from phoneverify.domain.models import Channel, DeliveryStatus
from phoneverify.http.responses import ResponseModel

if TYPE_CHECKING:
    from phoneverify.flows.engine.any_flow import ChallengeState


class StatusResponse(ResponseModel):
    status: Literal["pending", "verified", "expired", "cancelled", "locked"]
    delivery_status: DeliveryStatus
    expires_in: int
    channel: Channel


class PaymentStatusResponse(StatusResponse):
    """?payment_id=: the code's status, and the payment's own (completed or failed once
    settled, by its confirmation or by the reconciler)."""

    payment_status: Literal["pending", "processing", "completed", "failed", "expired", "cancelled"]


def status_response(state: ChallengeState) -> StatusResponse:
    """The body of GET /verify/status: the state's public fields (the live-status push sends
    the same, adapters/websocket.py); a payment's with its `payment_status`."""
    fields = state.public_fields()
    model = PaymentStatusResponse if "payment_status" in fields else StatusResponse
    return model.model_validate(fields)
