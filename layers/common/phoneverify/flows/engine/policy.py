"""What one kind of flow's challenges obey (ChallengePolicy: lifetimes, caps, whether the
account lock holds it) and what opening or resending one answers."""

from __future__ import annotations

from dataclasses import dataclass

from phoneverify.domain.models import Channel, FlowKind
from phoneverify.domain.tiers import TIER_OF_KIND, SendTier

FLOW_ID_BYTES = 32  # 256 random bits, URL-safe base64
CHECK_LEASE_SECS = 20  # longer than a Telnyx check can take; frees a flow whose checker died


@dataclass(frozen=True)
class ChallengePolicy:
    kind: FlowKind
    timeout_secs: int
    code_length: int
    max_attempts: int
    resend_cooldown_secs: int
    max_sends: int
    send_window_secs: int
    retention_secs: int
    restart_hint: str  # what the person should do once this flow is over: "Start login again."
    too_many_attempts_message: str
    # Wrong codes count towards the account's lock, and a locked account gets no code. Off
    # for the password reset: it is how the owner of a locked account gets back in. Off for
    # a registration too: its subject is a fresh random id with this one flow, whose own
    # attempt cap closes it long before an account's cap could count anything.
    account_lock_applies: bool = True
    # Wrong codes count towards the account's lock even where the lock does not hold the
    # flow (the password reset: its wrong codes count, its right code still resets and
    # clears the lock; docs/abuse-controls.md#the-decoy-password-reset).
    counts_toward_lock: bool = False
    # A flow that must answer like its decoys (the password reset): a channel the account's
    # phone may not use is answered as a decoy would (nothing sent); no resend falls back to
    # a call on its own (a decoy's SMS never fails); and the hint shows the last four digits
    # only (`last_four_hint`), one shape for every country.
    conceals_account: bool = False
    # The code goes to an email address (flows/engine/email_codes.py), not a phone: no phone
    # policy applies to it, and the hint is the masked address.
    by_email: bool = False

    @property
    def tier(self) -> SendTier:
        """Whose budget and caps the flow's codes count in (docs/abuse-controls.md#tiers)."""
        return TIER_OF_KIND[self.kind]

    @property
    def no_pending_message(self) -> str:
        return "No pending verification. " + self.restart_hint


@dataclass(frozen=True)
class OpenedChallenge:
    flow_id: str
    phone_hint: str
    timeout_secs: int
    code_length: int
    resend_after_secs: int
    channel: Channel = Channel.SMS  # how the code went
    channels: tuple[Channel, ...] = (Channel.SMS,)  # what a resend may ask for


@dataclass(frozen=True)
class Resent:
    timeout_secs: int
    resend_after_secs: int
    channel: Channel = Channel.SMS
