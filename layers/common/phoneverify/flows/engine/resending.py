"""Resending a challenge's code: the flow's own cooldown and send cap in one conditional write
that answers with the flow as it was, then the limits across flows (admission.py) and the
channel (docs/channels.md); a flow whose number the account has left ends as superseded."""

from __future__ import annotations

import logging
import math
import secrets

from phoneverify.domain.audit_events import VerificationEventType
from phoneverify.domain.channels import DEFAULT_CHANNEL_POLICY, ChannelPolicy
from phoneverify.domain.clock import Clock
from phoneverify.domain.errors import (
    CodeDeliveryFailed,
    PhoneSuperseded,
    ResendTooSoon,
    SendLimitReached,
)
from phoneverify.domain.models import Channel, PendingVerification, RequestOrigin
from phoneverify.flows.engine.admission import SendAdmission
from phoneverify.flows.engine.any_flow import AnyFlow, flow_key
from phoneverify.flows.engine.audit import FlowAudit
from phoneverify.flows.engine.challenge_records import counted_as, is_decoy, phone_binding
from phoneverify.flows.engine.pending import PendingChallenges
from phoneverify.flows.engine.policy import ChallengePolicy, Resent
from phoneverify.flows.engine.provider_calls import ProviderCalls
from phoneverify.ports.verifications import VerificationStore

logger = logging.getLogger(__name__)


class CodeResend:
    def __init__(
        self,
        policy: ChallengePolicy,
        *,
        store: VerificationStore,
        clock: Clock,
        pending: PendingChallenges,
        admission: SendAdmission,
        provider: ProviderCalls,
        flows: AnyFlow,
        audit: FlowAudit,
        channels: ChannelPolicy = DEFAULT_CHANNEL_POLICY,
    ) -> None:
        self._policy = policy
        self._store = store
        self._clock = clock
        self._pending = pending
        self._admission = admission
        self._provider = provider
        self._flows = flows
        self._audit = audit
        self._channels = channels

    def resend(
        self,
        flow_id: str,
        origin: RequestOrigin,
        channel: Channel | None = None,
        *,
        owner: str | None = None,
    ) -> Resent:
        """See Challenges.resend."""
        policy = self._policy
        key = flow_key(flow_id)
        now = self._clock.now()
        token = secrets.token_hex(16)
        # The flow's own limits, in one conditional write that answers with the flow as it was.
        write = self._store.reserve_send(
            key,
            policy.kind,
            token,
            now,
            cooldown_secs=policy.resend_cooldown_secs,
            max_sends=policy.max_sends,
            retention_secs=policy.retention_secs,
            owner=owner,
        )
        record = write.record
        if not write.done or record is None:
            raise self._refusal(record, origin, now, owner)
        admission = self._admission
        try:
            try:
                decoy = is_decoy(record)
                if not decoy:
                    admission.ensure_phone_allowed(record.phone_number)
                channel, concealed = self._channel(record, channel, decoy=decoy)
                # Then the account lock, those across flows, and the account phone the flow
                # is bound to.
                permit = admission.admit(
                    counted_as(record), record.subject, origin, channel, phone_binding(record)
                )
            except BaseException:
                self._store.release_send(key, token, record.last_sent_at)
                raise
        except PhoneSuperseded as superseded:
            self._flows.end_superseded(record, origin)
            kind = type(superseded)
            raise kind(f"{kind.message} {policy.restart_hint}") from None
        try:
            verification_id = self._provider.send(
                record.phone_number, channel, decoy=decoy or concealed
            )
        except CodeDeliveryFailed:
            self._store.release_send(key, token, record.last_sent_at)
            admission.release(permit)
            raise
        if concealed:
            # Nothing was sent: the code on its way before stays the one that counts.
            logger.warning("reset resend by a channel the account's phone may not use")
            verification_id = record.verification_id
        expires_at = self._clock.now() + policy.timeout_secs
        if not self._store.complete_send(
            key, token, verification_id, expires_at, self._pending.ttl(expires_at), channel
        ):
            # The flow ended (verified, cancelled, locked) while the code was on its way.
            raise self._pending.none()
        self._audit.emit(VerificationEventType.RESENT, record, origin, channel=channel.value)
        return Resent(
            timeout_secs=policy.timeout_secs,
            resend_after_secs=policy.resend_cooldown_secs,
            channel=channel,
        )

    def _refusal(
        self,
        record: PendingVerification | None,
        origin: RequestOrigin,
        now: float,
        owner: str | None,
    ) -> Exception:
        """Why no send could be reserved on `record` (the flow as the write found it)."""
        # raises if it ended (another owner's: as if there were none)
        current = self._pending.explain(record, origin, allow_expired=True, owner=owner)
        policy = self._policy
        if current.send_count >= policy.max_sends:
            window_left = current.created_at + policy.send_window_secs - now
            return SendLimitReached(math.ceil(max(window_left, 1)))
        wait = current.last_sent_at + policy.resend_cooldown_secs - now
        return ResendTooSoon(math.ceil(max(wait, 1)))

    def _channel(
        self, record: PendingVerification, asked: Channel | None, *, decoy: bool
    ) -> tuple[Channel, bool]:
        """The channel of a resend (docs/channels.md), and whether to send nothing because
        it is concealed: a flow that answers like its decoys (a reset) answers a channel its
        phone may not use as a decoy does. Raises ChannelNotAllowed otherwise."""
        conceals = self._policy.conceals_account
        channel = asked
        if channel is None:
            # No automatic call where a decoy could be told apart (its SMS never fails).
            automatic = decoy or conceals
            channel = Channel.SMS if automatic else self._channels.fallback(record)
        self._channels.ensure_allowed(channel, None)
        if decoy or self._channels.refusal(channel, record.phone_number) is None:
            return channel, False
        if not conceals:
            self._channels.ensure_allowed(channel, record.phone_number)
        return channel, True
