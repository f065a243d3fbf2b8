"""Status pushed, not polled: the page opens a WebSocket for its flow, and each delivery
report (and cancel) of that flow is pushed to it in the shape of GET /verify/status's body.

- `connect` admits a connection for a flow that is pending and unexpired only (expiry checked
  on read), at most `max_connections_per_flow` at a time; it watches that one flow, until
  the flow's current code expires at the latest (docs/realtime.md).
- `disconnect` forgets it.
- `changed` (the AnyFlow observer) pushes the flow's state to its connections; a connection
  found gone is forgotten, unless it may still be in its $connect (CONNECT_GRACE_SECS). A push
  never fails what caused it. What the change's own write told (the watchers at a webhook's
  commit, a cancel's item as written) is not read again.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass

from phoneverify.domain.clock import Clock
from phoneverify.domain.errors import StorageUnavailable, TooManyWatchers, WatchRefused
from phoneverify.domain.models import FlowKind, FlowStatus, PendingVerification
from phoneverify.flows.engine.any_flow import challenge_state, flow_key
from phoneverify.ports.verifications import (
    PushUnavailable,
    StatusPush,
    VerificationStore,
    WatcherRegistry,
)

logger = logging.getLogger(__name__)


# How long a connection may be in its $connect: registered here, not open yet at API Gateway
# (whose WebSocket integrations time out after 29 seconds). A push to it meanwhile is answered
# Gone as to a closed one; forgetting it then would let one more in than the cap while it
# opens (seen on a loaded machine: a delivery report pushed to a connection between its
# registration and its handshake). So a push forgets only connections older than this.
CONNECT_GRACE_SECS = 30


@dataclass(frozen=True)
class WatchPolicy:
    # Connections watching one flow at a time: a page, a reload, a second tab (docs/realtime.md).
    max_connections_per_flow: int = 5


class LiveStatus:
    def __init__(
        self,
        *,
        store: VerificationStore,
        registry: WatcherRegistry,
        push: StatusPush,
        clock: Clock,
        policy: WatchPolicy | None = None,
    ) -> None:
        self._store = store
        self._registry = registry
        self._push = push
        self._clock = clock
        self._policy = policy or WatchPolicy()

    # -- the WebSocket's own routes ----------------------------------------------------------
    def connect(self, flow_id: str, connection_id: str) -> None:
        """Let `connection_id` watch the flow of `flow_id`. Raises WatchRefused (unknown,
        ended or expired: one answer for all), TooManyWatchers, or StorageUnavailable."""
        key = flow_key(flow_id)
        record = self._store.get(key)
        now = self._clock.now()
        if record is None or challenge_state(record, now).status != FlowStatus.PENDING.value:
            raise WatchRefused()
        # Watched no longer than the code it was opened for is accepted: a resend's page
        # opens a new connection (the flow item itself outlives the code by its retention).
        ttl = math.ceil(record.expires_at)
        cap = self._policy.max_connections_per_flow
        if self._registry.add(key, connection_id, ttl=ttl, cap=cap, now=now):
            return
        # At the cap: some of those may be gone without a $disconnect (a dropped network).
        # Pushing the current state finds and forgets them; then one more try.
        self._publish(key, delivery=False)
        if not self._registry.add(key, connection_id, ttl=ttl, cap=cap, now=now):
            raise TooManyWatchers(retry_after=max(1, math.ceil(record.expires_at - now)))

    def disconnect(self, connection_id: str) -> None:
        """The connection closed. Raises StorageUnavailable (TTL forgets it then)."""
        self._registry.remove(connection_id, self._clock.now())

    # -- AnyFlow's observer ------------------------------------------------------------------
    def changed(
        self,
        flow_key: str,
        *,
        delivery: bool,
        watchers: Sequence[str] | None = None,
        record: PendingVerification | None = None,
    ) -> None:
        try:
            self._publish(flow_key, delivery=delivery, watchers=watchers, record=record)
        except StorageUnavailable:
            logger.warning("live status: storage unavailable, nothing pushed")
        except Exception:
            # Whatever went wrong (a policy missing, a bug), what changed stays recorded and
            # GET /verify/status still tells it: the news alone is lost.
            logger.exception("live status: nothing pushed")

    def _publish(
        self,
        key: str,
        *,
        delivery: bool,
        watchers: Sequence[str] | None = None,
        record: PendingVerification | None = None,
    ) -> int:
        """Push the flow's state to each of its watchers; the number it reached. The
        `watchers` and the `record` the change's own write told are not read again."""
        now = self._clock.now()
        if watchers is None:
            watchers = self._registry.watchers(key, now)
        if not watchers:
            return 0  # the usual case: nothing else
        if record is None:
            record = self._store.get(key)
        if record is None:
            return 0
        if delivery and record.kind == FlowKind.PASSWORD_RESET:
            # A decoy reset sends no SMS and gets no report: a push on a real one's report
            # would tell the two apart (GET /verify/status says "unknown" for both).
            return 0
        state = challenge_state(record, now)
        reached = 0
        for connection_id in watchers:
            try:
                if self._push.post(connection_id, state):
                    reached += 1
                else:
                    self._registry.drop(
                        key, connection_id, connected_before=now - CONNECT_GRACE_SECS
                    )
            except PushUnavailable:
                logger.warning("live status: push failed", extra={"flow_key": key[:12]})
        return reached
