"""What the flows need of pending verifications: the store of flows and its conditional writes,
their events, the live-status watchers and pushes, and Telnyx's signed delivery reports."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from phoneverify.domain.audit_events import VerificationEvent
from phoneverify.domain.models import (
    ChallengeState,
    Channel,
    DeliveryStatus,
    FlowKind,
    PendingVerification,
    PhoneBinding,
    WebhookEvent,
)


@dataclass(frozen=True)
class FlowWrite:
    """A conditional write on a flow that answers with the flow as it was just before it, so
    no read is needed first: `done` when the write happened; `record` the flow before the
    write either way (None when there is no such flow). A refusal's `record` tells why."""

    done: bool
    record: PendingVerification | None


class VerificationStore(Protocol):
    """Pending verifications. Every state change is a conditional write: the `bool` methods
    answer False when their condition did not hold, and change nothing then."""

    def create(self, record: PendingVerification, ttl: int) -> None: ...

    def get(self, flow_key: str) -> PendingVerification | None: ...

    def reserve_attempt(
        self,
        flow_key: str,
        kind: FlowKind,
        now: float,
        lease_until: float,
        *,
        owner: str | None = None,
    ) -> FlowWrite:
        """Count one attempt if the flow is of `kind`, pending, unexpired, below its cap and
        not held by another check (and, with an `owner`, that subject's); hold it until
        `lease_until`. The record is the flow before the attempt was counted: its
        verification id is the code the attempt is for."""
        ...

    def release_check(self, flow_key: str, lease_until: float) -> bool:
        """Let the next check in, after a rejected code (refund_attempt releases too)."""
        ...

    def refund_attempt(self, flow_key: str, verification_id: str) -> bool: ...

    def prove(self, flow_key: str, verification_id: str, proven_id: str) -> bool:
        """The flow's code was right but something after it refused the request (a password
        reset's new password): the flow stays pending with `proven_id` as its verification
        id (a keyed digest of the right code, checked without the provider, who accepts a
        code once), its attempt given back and its check lease released; only while it is
        pending on `verification_id` with an attempt counted."""
        ...

    def mark_verified(
        self,
        flow_key: str,
        verification_id: str,
        now: float,
        binding: PhoneBinding | None = None,
    ) -> bool:
        """pending -> verified, on this verification id. With a `binding`, only while the
        account's phone generation is still the bound one, in the same write: else raises
        PhoneSuperseded and changes nothing."""
        ...

    def lock(self, flow_key: str, now: float) -> bool: ...

    def reserve_send(
        self,
        flow_key: str,
        kind: FlowKind,
        token: str,
        now: float,
        *,
        cooldown_secs: int,
        max_sends: int,
        retention_secs: int,
        owner: str | None = None,
    ) -> FlowWrite:
        """Claim the right to send a code: a flow of `kind`, pending, below its attempt cap,
        past the cooldown, below the send cap, and expired less than `retention_secs` ago;
        with an `owner`, only a flow of that subject. The record is the flow before the claim
        (its `last_sent_at` is what release_send puts back). The account phone a bound flow
        was sent under is checked by SendGuard.admit, in the send limits' transaction."""
        ...

    def release_send(self, flow_key: str, token: str, previous_sent_at: float) -> bool:
        """Undo reserve_send after the provider failed to send."""
        ...

    def complete_send(
        self,
        flow_key: str,
        token: str,
        verification_id: str,
        expires_at: float,
        ttl: int,
        channel: Channel = Channel.SMS,
    ) -> bool:
        """Switch the flow to the new code, sent by `channel` (its delivery status starts
        over at unknown)."""
        ...

    def cancel(self, flow_key: str, now: float) -> PendingVerification | None:
        """pending -> cancelled, unless the record outlived its TTL (gone, only not deleted):
        the flow as it is now, cancelled, or None when nothing was pending."""
        ...

    def find_by_verification_id(self, verification_id: str) -> list[str]:
        """Keys of the flows whose current code is (or, read from an index that lags, was)
        `verification_id`; usually one, none when no flow holds it (yet)."""
        ...

    def record_delivery(
        self, flow_key: str, verification_id: str, delivery: DeliveryStatus, now: float
    ) -> bool:
        """Move the flow's delivery status forward to `delivery`, only while the flow is
        pending on this verification id and its status ranks below `delivery`. (A webhook
        moves it with its event's claim instead: DeliveryLedger.record.)"""
        ...


class VerificationEvents(Protocol):
    def record(self, event: VerificationEvent) -> None: ...


class PushUnavailable(Exception):
    """A push could not be handed to the connection (the push endpoint failed or timed out);
    the connection may still be there. Never a reason to fail what caused the push."""


class WatcherRegistry(Protocol):
    """The live-status connections (WebSocket) watching each flow, by the flow's key (a hash
    of its flow id, never the id). Every change is a conditional write."""

    def add(self, flow_key: str, connection_id: str, *, ttl: int, cap: int, now: float) -> bool:
        """Register the connection as a watcher of the flow, unless the flow already has
        `cap` watchers (False then, nothing written). Both live until `ttl` (epoch seconds)."""
        ...

    def remove(self, connection_id: str, now: float) -> None:
        """The connection closed ($disconnect): forget it, whichever flow it watched.
        Forgetting an unknown connection is no error. Raises StorageUnavailable."""
        ...

    def drop(
        self, flow_key: str, connection_id: str, *, connected_before: float | None = None
    ) -> None:
        """Forget a watcher of the flow that is gone (its push found no connection); with
        `connected_before`, only if it was added before then (epoch seconds): a younger one
        may still be in its $connect, not open yet, which a push finds "gone" just the same
        (it stays counted: docs/realtime.md)."""
        ...

    def watchers(self, flow_key: str, now: float) -> list[str]:
        """Connection ids watching the flow (none once the registration outlived its ttl)."""
        ...


class StatusPush(Protocol):
    """Messages pushed to one open connection (API Gateway's management API in production)."""

    def post(self, connection_id: str, state: ChallengeState) -> bool:
        """Send `state`, in the shape of GET /verify/status's body; False when the connection
        is gone (closed by the client, its idle timeout or its maximum duration). Raises
        PushUnavailable."""
        ...


class SignedWebhooks(Protocol):
    """A provider's signed webhook deliveries."""

    def open(self, raw_body: bytes, headers: Mapping[str, str]) -> WebhookEvent:
        """The event in a body whose signature checks out over its exact bytes; raises
        InvalidWebhookSignature (nothing read) or InvalidRequest (signed, but not an event)."""
        ...


@dataclass(frozen=True)
class DeliveryWrite:
    """What one delivery report's write did: `recorded` its event id's claim and the flow's
    move forward, together; `duplicate` when the event id was claimed before (nothing
    written); neither when the flow refused the move (nothing written either). `watchers`:
    the flow's live-status connections at that very write, when recorded."""

    duplicate: bool
    recorded: bool
    watchers: tuple[str, ...] = ()


class DeliveryLedger(Protocol):
    """Provider delivery reports taken in, by event id, so a redelivery is processed once.
    A claim is written together with what its report changed, all or nothing."""

    def record(
        self,
        event_id: str,
        flow_key: str,
        verification_id: str,
        delivery: DeliveryStatus,
        now: float,
    ) -> DeliveryWrite:
        """In one write, claim `event_id` and move the flow's delivery status forward to
        `delivery`: only while the flow is pending on `verification_id` and its status ranks
        below `delivery`. Raises StorageUnavailable, with nothing written."""
        ...

    def claim(self, event_id: str, now: float) -> bool:
        """Claim `event_id` alone, for a report that moves no flow (so that its redelivery
        is a duplicate); False when it was claimed before."""
        ...
