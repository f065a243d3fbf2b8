"""Code challenges of one kind of flow: open one, check a code against it, resend it.

The mechanics every flow shares. A challenge is stored under a hash of its `flow_id`, so the
table never holds a usable flow id. Each state change is a conditional write in the store that
answers with the record as it was, so no read comes before it; when a condition fails, that
record tells the client why.
"""

from __future__ import annotations

import hmac
import logging
import math
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from phoneverify.domain.channels import DEFAULT_CHANNEL_POLICY, ChannelPolicy
from phoneverify.domain.clock import Clock
from phoneverify.domain.errors import (
    AccountLocked,
    AccountPhoneNotAllowed,
    ChallengeRequired,
    CheckInProgress,
    CodeCheckFailed,
    CodeDeliveryFailed,
    InvalidCode,
    InvalidPhoneNumber,
    InvalidRequest,
    NoPendingVerification,
    PhoneSuperseded,
    PrefixHeld,
    ResendTooSoon,
    SendLimitReached,
    StorageUnavailable,
    TooManyAttempts,
    VerificationExpired,
)
from phoneverify.domain.fraud import PrefixTripped
from phoneverify.domain.keyed import keyed_digest
from phoneverify.domain.models import (
    Channel,
    FlowKind,
    FlowStatus,
    NoticeEvent,
    PendingVerification,
    PhoneBinding,
    RequestOrigin,
    SendPermit,
    VerificationEventType,
)
from phoneverify.domain.phones import (
    DEFAULT_PHONE_POLICY,
    PhonePolicy,
    last_four_hint,
    mask_phone,
)
from phoneverify.domain.tiers import TIER_OF_KIND, SendTier
from phoneverify.flows.any_flow import AnyFlow, flow_key
from phoneverify.flows.challenge_records import (
    COUNTED_AS,
    DECOY,
    PHONE_GENERATION,
    PROVEN,
    ProviderTimings,
    counted_as,
    is_decoy,
    phone_binding,
)
from phoneverify.ports.abuse import FailureCounter, PrefixGuard, SendGuard
from phoneverify.ports.accounts import AccountTokens
from phoneverify.ports.messaging import AccountNotices, CodeSender
from phoneverify.ports.verifications import VerificationEvents, VerificationStore

logger = logging.getLogger(__name__)

FLOW_ID_BYTES = 32  # 256 random bits, URL-safe base64
CHECK_LEASE_SECS = 20  # longer than a Telnyx check can take; frees a flow whose checker died
# Flows whose code goes to the account's own (proven) number: the lock's notice goes there.
# A registration has no account yet, and a number being added is not proven.
LOCK_NOTICE_KINDS = frozenset({FlowKind.LOGIN, FlowKind.PAYMENT})


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

    @property
    def tier(self) -> SendTier:
        """Whose budget and caps the flow's codes count in (docs/abuse-controls.md#tiers)."""
        return TIER_OF_KIND[self.kind]


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


class Challenges:
    def __init__(
        self,
        policy: ChallengePolicy,
        *,
        store: VerificationStore,
        sender: CodeSender,
        events: VerificationEvents,
        clock: Clock,
        guard: SendGuard | None = None,
        failures: FailureCounter | None = None,
        phone_policy: PhonePolicy = DEFAULT_PHONE_POLICY,
        pause: Callable[[float], None] = time.sleep,
        account_tokens: AccountTokens | None = None,
        notices: AccountNotices | None = None,
        channels: ChannelPolicy = DEFAULT_CHANNEL_POLICY,
        prefixes: PrefixGuard | None = None,
        pepper: Callable[[], bytes] | None = None,
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        """`guard` (send limits beyond the flow's) and `failures` (wrong codes per account)
        are optional for tests of other mechanics; the runtime always passes both, and
        `notices` (the lock's notice to the owner) and `prefixes` (the fraud guard's holds
        and verified counts, for codes to unproven numbers), and `pepper` (the key of a
        proven code's digest; without one, an empty key: tests only). `pause` and `timer`:
        how a decoy waits and how provider calls are timed (tests count them)."""
        self.policy = policy
        self.phone_policy = phone_policy
        self.channels = channels
        self._store = store
        self._sender = sender
        self._clock = clock
        self.flows = AnyFlow(store=store, events=events, clock=clock)
        self._guard = guard
        counts = policy.account_lock_applies or policy.counts_toward_lock
        self._failures = failures if counts else None
        self._unlocker = failures
        self._pause = pause
        self._account_tokens = account_tokens
        self._notices = notices
        self._prefixes = prefixes
        self._pepper = pepper
        self._timer = timer
        self.send_timings = ProviderTimings()
        self.check_timings = ProviderTimings()

    # -- open ------------------------------------------------------------------------------
    def open(
        self,
        subject: str,
        phone_number: str,
        origin: RequestOrigin,
        data: dict[str, Any] | Callable[[], dict[str, Any]] | None = None,
        *,
        decoy: bool = False,
        channel: Channel | None = None,
        phone_generation: int | None = None,
        gated: bool = False,
        vouched: bool = False,
        counted_as: str | None = None,
    ) -> OpenedChallenge:
        """Send a code to `phone_number` by `channel` (SMS when None) and store the pending
        challenge.

        The number must pass the phone policy and the channel policy (ChannelNotAllowed),
        the account must not be locked and the send limits must admit the send (a call
        counts in the call caps too), both in the guard's one transaction; then the code is
        sent, and only then is the challenge written: if Telnyx fails, nothing has been
        written (and the send limits get their count back).

        A `decoy` answers like a real challenge, after the same send limits and about as long
        as a send takes, but sends nothing and accepts no code: what an unknown email gets, so
        the answer does not tell who has an account. `phone_number` is then a stand-in.

        `phone_generation` (User.phone_generation, read with the account): the flow's code is
        accepted only while the account's phone is still that one, so a phone change ends
        every flow sent under the old number without finding them.

        `data` may be a function, called once the send is admitted: what costs work (a
        password's hash) is not done for a request the limits or the fraud guard refuse.
        `gated`: the proof-of-work gate is on for this request, so a source at risk or a held
        prefix asks for a solved challenge (ChallengeRequired); `vouched`: one came and was
        accepted, so neither asks (docs/abuse-controls.md#the-proof-of-work-gate).
        `counted_as`: the number the send limits count the code under, when not
        `phone_number` (a real reset counts under its decoy's stand-in number, so that both
        kinds meet the very same caps; docs/abuse-controls.md#the-decoy-password-reset);
        kept with the flow for its resends.
        """
        policy = self.policy
        channel = channel or Channel.SMS
        if not decoy:
            self._ensure_phone_allowed(phone_number)
        # A decoy's number is a stand-in: only the settings can refuse its channel.
        self.channels.ensure_allowed(channel, None if decoy else phone_number)
        permit = self._admit(
            counted_as or phone_number, subject, origin, channel, gated=gated, vouched=vouched
        )
        try:
            if callable(data):
                data = data()
            verification_id = self._send(phone_number, channel, decoy=decoy)
        except BaseException:
            self._release(permit)
            raise
        if decoy:
            data = {**(data or {}), DECOY: "1"}
        if phone_generation is not None:
            data = {**(data or {}), PHONE_GENERATION: str(phone_generation)}
        if counted_as is not None:
            data = {**(data or {}), COUNTED_AS: counted_as}
        now = self._clock.now()
        flow_id = secrets.token_urlsafe(FLOW_ID_BYTES)
        expires_at = now + policy.timeout_secs
        record = PendingVerification(
            flow_key=flow_key(flow_id),
            kind=policy.kind,
            subject=subject,
            phone_number=phone_number,
            verification_id=verification_id,
            status=FlowStatus.PENDING,
            attempts=0,
            max_attempts=policy.max_attempts,
            send_count=1,
            last_sent_at=now,
            expires_at=expires_at,
            created_at=now,
            data=data or {},
            channel=channel,
        )
        self._store.create(record, ttl=self._ttl(expires_at))
        self._emit(VerificationEventType.SENT, record, origin, channel=channel.value)
        return OpenedChallenge(
            flow_id=flow_id,
            phone_hint=self.hint(phone_number),
            timeout_secs=policy.timeout_secs,
            code_length=policy.code_length,
            resend_after_secs=policy.resend_cooldown_secs,
            channel=channel,
            channels=self.channels.enabled,
        )

    def hint(self, phone_number: str) -> str:
        """What the answer shows of the number: a flow that answers like its decoys shows
        the last four digits only, one shape for every country (`last_four_hint`)."""
        if self.policy.conceals_account:
            return last_four_hint(phone_number)
        return mask_phone(phone_number)

    # -- check -----------------------------------------------------------------------------
    def check(
        self,
        flow_id: str,
        code: str,
        origin: RequestOrigin,
        *,
        owner: str | None = None,
        before_consume: Callable[[PendingVerification], None] | None = None,
    ) -> PendingVerification:
        """Consume the challenge if `code` is right; return it (as it was, its data with it).
        Otherwise raise why not.

        `owner`: the flow is only this subject's (a signed-in flow); anyone else's is
        answered like a flow that does not exist, and costs it no attempt.

        `before_consume`: run once the code is known to be right, before the flow is
        consumed; an InvalidRequest it raises leaves the flow pending and proven (its right
        code accepted again without the provider, its attempt given back) and is raised, so
        the person retries with the same code (a reset's new password refused by a rule
        that must not be checked before the code)."""
        if len(code) != self.policy.code_length:
            raise InvalidRequest(f"code must be {self.policy.code_length} digits", field="code")
        # One conditional write reserves the attempt and answers with the flow as it was: its
        # verification id is the code this attempt is checked against. No read before it.
        now = self._clock.now()
        # One check at a time per flow: Telnyx accepts a code once, so a second concurrent
        # check of the right code would read as a wrong one.
        lease_until = now + CHECK_LEASE_SECS
        write = self._store.reserve_attempt(
            flow_key(flow_id), self.policy.kind, now, lease_until, owner=owner
        )
        record = write.record
        if not write.done or record is None:
            raise self._check_refusal(record, origin, now, owner)
        attempts = record.attempts + 1
        failures_left = self._reserve_failure(record)
        return self._check_reserved(
            record, code, attempts, origin, lease_until, failures_left, before_consume
        )

    def _check_refusal(
        self,
        record: PendingVerification | None,
        origin: RequestOrigin,
        now: float,
        owner: str | None,
    ) -> Exception:
        """Why no attempt could be reserved on `record` (the flow as the write found it)."""
        # raises why the flow can no longer be checked (another owner's: as if none)
        current = self._explain(record, origin, owner=owner)
        if current.check_lease_until > now:
            return CheckInProgress(math.ceil(current.check_lease_until - now))
        return NoPendingVerification(self._no_pending_message)

    def _check_reserved(
        self,
        record: PendingVerification,
        code: str,
        attempts: int,
        origin: RequestOrigin,
        lease_until: float,
        failures_left: int | None = None,
        before_consume: Callable[[PendingVerification], None] | None = None,
    ) -> PendingVerification:
        """`failures_left`: wrong codes the account may still take after this one, when
        this check was counted as one in advance (None without a failure counter)."""
        key = record.flow_key
        try:
            accepted = self._code_is_right(record, code)
        except CodeCheckFailed:
            self._store.refund_attempt(key, record.verification_id)
            self._refund_failure(record.subject)
            raise
        if accepted and before_consume is not None:
            try:
                before_consume(record)
            except InvalidRequest:
                # The code was right: it counts as no wrong one, and stays usable.
                self._refund_failure(record.subject)
                self._store.prove(key, record.verification_id, self._proven_id(record, code))
                raise
        if accepted:
            binding = phone_binding(record)
            try:
                verified = self._store.mark_verified(
                    key, record.verification_id, self._clock.now(), binding
                )
            except PhoneSuperseded as superseded:
                self._refund_failure(record.subject)  # a right code counts as no wrong one
                self._end_superseded(record, origin)
                kind = type(superseded)
                raise kind(f"{kind.message} {self.policy.restart_hint}") from None
            if not verified:
                # Another request consumed the flow first (or a resend replaced this code).
                self._refund_failure(record.subject)
                raise NoPendingVerification(self._no_pending_message)
            if self._failures is not None:
                self._failures.reset(record.subject)
            if self._prefixes is not None and self.policy.tier is SendTier.UNPROVEN:
                # Real people enter their codes; pumping never does (the prefix's conversion).
                self._prefixes.count_verified(record.phone_number, record.last_sent_at)
            self._emit(VerificationEventType.ACCEPTED, record, origin, attempts=attempts)
            return record
        remaining = record.max_attempts - attempts
        self._emit(
            VerificationEventType.REJECTED, record, origin, attempts=attempts, remaining=remaining
        )
        locked = False
        if remaining <= 0:
            locked = self._store.lock(key, self._clock.now())
            if locked:
                self._emit(VerificationEventType.LOCKED, record, origin, attempts=attempts)
        else:
            self._store.release_check(key, lease_until)
        if failures_left == 0 and self._failures is not None:
            # This wrong code reached the account's cap: every flow of it is closed now.
            self._emit(VerificationEventType.ACCOUNT_LOCKED, record, origin)
            self._end_tokens_of_locked(record.subject)
            self._notify_locked(record)
            if self.policy.account_lock_applies:
                self._failures.ensure_unlocked(record.subject)  # raises AccountLocked
        if remaining <= 0:
            raise TooManyAttempts(self.policy.too_many_attempts_message, locked=locked)
        raise InvalidCode(attempts_remaining=remaining)

    def _code_is_right(self, record: PendingVerification, code: str) -> bool:
        """The provider's answer; a decoy's is no, after a pause as long as one of the
        provider's recent checks took; a proven flow's is checked here."""
        if is_decoy(record):
            self._sender.ready(sending=False)
            self._pause_like(self.check_timings)
            return False
        if record.verification_id.startswith(PROVEN):
            return hmac.compare_digest(record.verification_id, self._proven_id(record, code))
        started = self._timer()
        accepted = self._sender.check(record.verification_id, code)
        self.check_timings.add(self._timer() - started)
        return accepted

    def _proven_id(self, record: PendingVerification, code: str) -> str:
        """A keyed digest of the right code of this flow: the table never holds the code."""
        pepper = self._pepper() if self._pepper is not None else b""
        return PROVEN + keyed_digest(pepper, f"proven:{record.flow_key}:{code}")

    def _pause_like(self, timings: ProviderTimings) -> None:
        """Wait as long as one of the provider's recent calls of this kind took (not at all
        before this worker made any)."""
        seconds = timings.draw()
        if seconds is not None:
            self._pause(seconds)

    # -- resend ----------------------------------------------------------------------------
    def resend(
        self,
        flow_id: str,
        origin: RequestOrigin,
        channel: Channel | None = None,
        *,
        owner: str | None = None,
    ) -> Resent:
        """Send a fresh code by `channel`, replacing the old one, and restart the expiry.

        Allowed after expiry (the person asked for a new code), never after the flow ended.
        Every channel shares the flow's cooldown and send cap. Without a `channel`, SMS, or
        a call when the fallback setting is on and the current code's SMS failed
        (ChannelPolicy.fallback). `owner`: as for `check`.

        A flow sent under the account's phone (phone_binding) gets a code only while the
        account's phone is still that one: checked in the send limits' transaction, after
        the reservation; a flow whose number the account has left ends (PhoneSuperseded).
        """
        policy = self.policy
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
            raise self._resend_refusal(record, origin, now, owner)
        try:
            try:
                decoy = is_decoy(record)
                if not decoy:
                    self._ensure_phone_allowed(record.phone_number)
                channel, concealed = self._resend_channel(record, channel, decoy=decoy)
                # Then the account lock, those across flows, and the account phone the flow
                # is bound to.
                permit = self._admit(
                    counted_as(record),
                    record.subject,
                    origin,
                    channel,
                    phone_binding(record),
                )
            except BaseException:
                self._store.release_send(key, token, record.last_sent_at)
                raise
        except PhoneSuperseded as superseded:
            self._end_superseded(record, origin)
            kind = type(superseded)
            raise kind(f"{kind.message} {policy.restart_hint}") from None
        try:
            verification_id = self._send(record.phone_number, channel, decoy=decoy or concealed)
        except CodeDeliveryFailed:
            self._store.release_send(key, token, record.last_sent_at)
            self._release(permit)
            raise
        if concealed:
            # Nothing was sent: the code on its way before stays the one that counts.
            logger.warning("reset resend by a channel the account's phone may not use")
            verification_id = record.verification_id
        expires_at = self._clock.now() + policy.timeout_secs
        if not self._store.complete_send(
            key, token, verification_id, expires_at, self._ttl(expires_at), channel
        ):
            # The flow ended (verified, cancelled, locked) while the code was on its way.
            raise NoPendingVerification(self._no_pending_message)
        self._emit(VerificationEventType.RESENT, record, origin, channel=channel.value)
        return Resent(
            timeout_secs=policy.timeout_secs,
            resend_after_secs=policy.resend_cooldown_secs,
            channel=channel,
        )

    def _resend_refusal(
        self,
        record: PendingVerification | None,
        origin: RequestOrigin,
        now: float,
        owner: str | None,
    ) -> Exception:
        """Why no send could be reserved on `record` (the flow as the write found it)."""
        # raises if it ended (another owner's: as if there were none)
        current = self._explain(record, origin, allow_expired=True, owner=owner)
        policy = self.policy
        if current.send_count >= policy.max_sends:
            window_left = current.created_at + policy.send_window_secs - now
            return SendLimitReached(math.ceil(max(window_left, 1)))
        wait = current.last_sent_at + policy.resend_cooldown_secs - now
        return ResendTooSoon(math.ceil(max(wait, 1)))

    # -- cancel: any kind of flow (see AnyFlow) ------------------------------------------
    def cancel(self, flow_id: str, origin: RequestOrigin) -> bool:
        """End the flow if it is pending (AnyFlow.cancel)."""
        return self.flows.cancel(flow_id, origin)

    def peek(self, flow_id: str, origin: RequestOrigin) -> PendingVerification:
        """The pending challenge, unchanged; or the domain error that says why there is none."""
        return self._pending(flow_key(flow_id), origin)

    def unlock_account(self, subject: str) -> None:
        """Clear the account's wrong-code count and any lock (after a password reset)."""
        if self._unlocker is not None:
            self._unlocker.reset(subject)

    def record(
        self,
        event_type: VerificationEventType,
        subject: str,
        origin: RequestOrigin,
        *,
        kind: FlowKind | None = None,
        **detail: Any,
    ) -> None:
        """An event that no challenge carries (a password decision), of this kind of flow
        unless `kind` says otherwise."""
        self.flows.record(event_type, subject, origin, kind=kind or self.policy.kind, **detail)

    def _send(self, phone_number: str, channel: Channel, *, decoy: bool) -> str:
        """The provider's verification id of a fresh code; a decoy takes about as long as the
        provider's recent sends did, and sends nothing."""
        if decoy:
            self._sender.ready(sending=True)
            self._pause_like(self.send_timings)
            return f"{DECOY}_{secrets.token_hex(16)}"
        started = self._timer()
        verification_id = self._sender.send(phone_number, channel)
        self.send_timings.add(self._timer() - started)
        return verification_id

    def _resend_channel(
        self, record: PendingVerification, asked: Channel | None, *, decoy: bool
    ) -> tuple[Channel, bool]:
        """The channel of a resend (docs/channels.md), and whether to send nothing because
        it is concealed: a flow that answers like its decoys (a reset) answers a channel its
        phone may not use as a decoy does. Raises ChannelNotAllowed otherwise."""
        conceals = self.policy.conceals_account
        channel = asked
        if channel is None:
            # No automatic call where a decoy could be told apart (its SMS never fails).
            automatic = decoy or conceals
            channel = Channel.SMS if automatic else self.channels.fallback(record)
        self.channels.ensure_allowed(channel, None)
        if decoy or self.channels.refusal(channel, record.phone_number) is None:
            return channel, False
        if not conceals:
            self.channels.ensure_allowed(channel, record.phone_number)
        return channel, True

    # -- abuse controls (docs/abuse-controls.md) ------------------------------------------
    def _ensure_phone_allowed(self, phone_number: str) -> None:
        """The phone policy, at every send: a number stored on an account before the policy
        changed gets no code either. A registration's or a phone change's number came with the
        request (InvalidPhoneNumber naming the field); an account's did not
        (AccountPhoneNotAllowed)."""
        try:
            self.phone_policy.ensure_allowed(phone_number)
        except InvalidPhoneNumber:
            if self.policy.kind in (FlowKind.REGISTRATION, FlowKind.PHONE_CHANGE):
                raise
            raise AccountPhoneNotAllowed() from None

    def _admit(
        self,
        phone_number: str,
        subject: str,
        origin: RequestOrigin,
        channel: Channel,
        binding: PhoneBinding | None = None,
        *,
        gated: bool = False,
        vouched: bool = False,
    ) -> SendPermit | None:
        """The account lock (where it applies), the send limits of the flow's tier and, for
        codes to unproven numbers, the fraud guard, in the guard's one transaction; without a
        guard, the lock on its own. A prefix that trips is held here (and audited)."""
        account_lock = self._failures is not None and self.policy.account_lock_applies
        if self._guard is None:
            if account_lock and self._failures is not None:
                self._failures.ensure_unlocked(subject)
            return None
        try:
            return self._guard.admit(
                phone_number,
                subject,
                origin,
                channel,
                binding,
                account_lock=account_lock,
                tier=self.policy.tier,
                gated=gated,
                vouched=vouched,
            )
        except PrefixHeld as refused:
            if isinstance(refused, PrefixTripped):
                self._hold(refused, origin)
            if gated and not vouched:
                raise ChallengeRequired() from None
            raise PrefixHeld(refused.retry_after) from None

    def _hold(self, tripped: PrefixTripped, origin: RequestOrigin) -> None:
        """Hold the prefix that tripped (and maybe its country): each hold placed is an
        audited event (and the metric Verification_hold_placed, which an alarm watches)."""
        if self._prefixes is None:
            return
        for hold in self._prefixes.hold(tripped):
            self.flows.record(
                VerificationEventType.HOLD_PLACED,
                f"{hold.scope}#{hold.target}",
                origin,
                kind=FlowKind.FRAUD_GUARD,
                scope=hold.scope,
                target=hold.target,
                until=hold.until,
                reason="pumping",
            )

    def _release(self, permit: SendPermit | None) -> None:
        """A send Telnyx refused (or never answered) counts against no limit."""
        if permit is not None and self._guard is not None:
            self._guard.release(permit)

    def _reserve_failure(self, record: PendingVerification) -> int | None:
        """Count this check as a wrong code on the account in advance (an accepted code
        resets the count): concurrent checks across flows cannot exceed the account's cap.
        At the cap, the flow's attempt is given back and AccountLocked raised."""
        if self._failures is None:
            return None
        try:
            return self._failures.reserve(record.subject)
        except AccountLocked:
            if not self.policy.account_lock_applies:
                # The lock does not hold this flow (the reset, the way out of it): the
                # account is at its cap already, so there is nothing more to count.
                return None
            self._store.refund_attempt(record.flow_key, record.verification_id)
            raise
        except BaseException:
            self._store.refund_attempt(record.flow_key, record.verification_id)
            raise

    def _end_tokens_of_locked(self, subject: str) -> None:
        """Whoever typed a hundred wrong codes may hold a token (payments): a lock ends every
        token of the account. Best effort: the lock holds whatever happens here."""
        if self._account_tokens is None:
            return
        try:
            self._account_tokens.end_all_tokens(subject)
        except StorageUnavailable:
            logger.error("tokens of a locked account not ended", extra={"subject": subject})

    def _notify_locked(self, record: PendingVerification) -> None:
        """Tell the owner at the account's number (never raises: AccountNotices)."""
        if self._notices is not None and record.kind in LOCK_NOTICE_KINDS:
            self._notices.notify(record.phone_number, NoticeEvent.ACCOUNT_LOCKED)

    def _end_superseded(self, record: PendingVerification, origin: RequestOrigin) -> None:
        """A flow whose code went to a number the account has left since: it ends."""
        self.flows.end_superseded(record, origin)

    def _refund_failure(self, subject: str) -> None:
        if self._failures is not None:
            self._failures.refund(subject)

    # -- helpers ---------------------------------------------------------------------------
    @property
    def _no_pending_message(self) -> str:
        return "No pending verification. " + self.policy.restart_hint

    def _pending(
        self,
        key: str,
        origin: RequestOrigin,
        *,
        allow_expired: bool = False,
        owner: str | None = None,
    ) -> PendingVerification:
        """The pending challenge under `key`, or the domain error that says why there is none.
        With an `owner`, another subject's flow is answered as no flow at all."""
        return self._explain(self._store.get(key), origin, allow_expired=allow_expired, owner=owner)

    def _explain(
        self,
        record: PendingVerification | None,
        origin: RequestOrigin,
        *,
        allow_expired: bool = False,
        owner: str | None = None,
    ) -> PendingVerification:
        """`record` if it is a pending challenge of this kind (and `owner`'s, with one), or
        the domain error that says why it is not: another subject's flow is answered as no
        flow at all."""
        now = self._clock.now()
        if record is None or record.kind != self.policy.kind:
            raise NoPendingVerification(self._no_pending_message)
        if owner is not None and record.subject != owner:
            raise NoPendingVerification(self._no_pending_message)
        if record.status == FlowStatus.LOCKED:
            raise TooManyAttempts(self.policy.too_many_attempts_message, locked=True)
        if record.status != FlowStatus.PENDING:
            raise NoPendingVerification(self._no_pending_message)
        if record.attempts >= record.max_attempts:
            raise TooManyAttempts(self.policy.too_many_attempts_message)
        if record.is_expired(now):
            # Expiry is checked here, not left to TTL, whose deletion can lag by days. Within
            # the retention window a resend may revive the flow; after it, nothing can.
            revivable = now < record.expires_at + self.policy.retention_secs
            if allow_expired and revivable:
                return record
            if allow_expired:
                raise NoPendingVerification(self._no_pending_message)
            self._emit(VerificationEventType.EXPIRED, record, origin)
            raise VerificationExpired("Verification expired. " + self.policy.restart_hint)
        return record

    def _ttl(self, expires_at: float) -> int:
        return math.ceil(expires_at + self.policy.retention_secs)

    def _emit(
        self,
        event_type: VerificationEventType,
        record: PendingVerification,
        origin: RequestOrigin,
        **detail: Any,
    ) -> None:
        self.flows.emit(event_type, record, origin, **detail)
