"""What the flows need from the outside world. Adapters implement these; tests use fakes."""

from __future__ import annotations

from typing import Protocol

from phoneverify.models import PendingVerification, User, VerificationEvent


class CodeSender(Protocol):
    """Sends codes and checks them (Telnyx Verify in production)."""

    def send(self, phone_number: str) -> str:
        """Send a fresh code; return the provider's verification id.

        Raises CodeDeliveryFailed when the provider cannot be reached or refuses.
        """
        ...

    def check(self, verification_id: str, code: str) -> bool:
        """True when `code` is the code of that verification.

        Raises CodeCheckFailed when the provider cannot answer.
        """
        ...


class UserRepository(Protocol):
    def find_by_email(self, email: str) -> User | None: ...


class VerificationStore(Protocol):
    """Pending verifications. Every state change is a conditional write: the `bool` methods
    answer False when their condition did not hold, and change nothing then."""

    def create(self, record: PendingVerification, ttl: int) -> None: ...

    def get(self, flow_key: str) -> PendingVerification | None: ...

    def reserve_attempt(self, flow_key: str, verification_id: str, now: float) -> int | None:
        """Count one attempt if the flow is pending, unexpired, on this verification id and
        below its cap; return the new count, or None."""
        ...

    def refund_attempt(self, flow_key: str, verification_id: str) -> bool: ...

    def mark_verified(self, flow_key: str, verification_id: str, now: float) -> bool: ...

    def lock(self, flow_key: str, now: float) -> bool: ...

    def reserve_send(
        self, flow_key: str, token: str, now: float, cooldown_secs: int, max_sends: int
    ) -> bool:
        """Claim the right to send a code: pending, past the cooldown, below the send cap."""
        ...

    def release_send(self, flow_key: str, token: str, previous_sent_at: float) -> bool:
        """Undo reserve_send after the provider failed to send."""
        ...

    def complete_send(
        self, flow_key: str, token: str, verification_id: str, expires_at: float, ttl: int
    ) -> bool: ...


class VerificationEvents(Protocol):
    def record(self, event: VerificationEvent) -> None: ...
