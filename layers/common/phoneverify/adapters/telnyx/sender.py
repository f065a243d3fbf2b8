"""CodeSender over Telnyx Verify."""

from __future__ import annotations

from collections.abc import Callable

from phoneverify.adapters.telnyx.client import (
    TelnyxError,
    TelnyxInvalidRequest,
    TelnyxNotFound,
    TelnyxVerifyClient,
    TriggerPath,
)
from phoneverify.domain.errors import CodeCheckFailed, CodeDeliveryFailed
from phoneverify.domain.models import Channel

TRIGGER_PATHS: dict[Channel, TriggerPath] = {
    Channel.SMS: "sms",
    Channel.CALL: "call",
    Channel.WHATSAPP: "whatsapp",
}


class TelnyxCodeSender:
    def __init__(
        self, client: TelnyxVerifyClient, verify_profile_id: Callable[[], str], timeout_secs: int
    ) -> None:
        self._client = client
        self._profile_id = verify_profile_id
        self._timeout_secs = timeout_secs

    def send(self, phone_number: str, channel: Channel = Channel.SMS) -> str:
        """One verification by `channel` (sms, call, whatsapp: Telnyx's trigger paths)."""
        try:
            return self._client.trigger(
                TRIGGER_PATHS[channel],
                phone_number,
                self._profile_id(),
                timeout_secs=self._timeout_secs,
            ).id
        except TelnyxError as exc:
            raise CodeDeliveryFailed() from exc

    def ready(self, *, sending: bool) -> None:
        self._client.credentials()
        if sending:
            self._profile_id()

    def check(self, verification_id: str, code: str) -> bool:
        """Checks against this flow's own verification id, never by phone number, so two
        flows for one phone never accept each other's code."""
        try:
            return self._client.verify_by_id(verification_id, code).accepted
        except (TelnyxNotFound, TelnyxInvalidRequest):
            # Telnyx no longer knows this verification or refuses the code: not accepted.
            return False
        except TelnyxError as exc:
            raise CodeCheckFailed() from exc
