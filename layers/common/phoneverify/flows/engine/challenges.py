"""Code challenges of one kind of flow: open one, check a code against it, resend it.

The mechanics every flow shares, one responsibility a module: whether a code may go out
(admission.py), the provider's calls and a decoy's pauses (provider_calls.py), checking a code
(checking.py), resending one (resending.py), the account lock's side of a wrong code
(account_lock.py) and why a flow is no longer there to use (pending.py). A challenge is stored
under a hash of its `flow_id`, so the table never holds a usable flow id. Each state change is
a conditional write in the store that answers with the record as it was, so no read comes
before it; when a condition fails, that record tells the client why.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any

from phoneverify.domain.audit_events import VerificationEventType
from phoneverify.domain.channels import DEFAULT_CHANNEL_POLICY, ChannelPolicy
from phoneverify.domain.clock import Clock
from phoneverify.domain.emails import mask_email
from phoneverify.domain.factors import has_stronger_factor
from phoneverify.domain.models import (
    Channel,
    FlowStatus,
    PendingVerification,
    RequestOrigin,
    User,
)
from phoneverify.domain.phones import DEFAULT_PHONE_POLICY, PhonePolicy, last_four_hint, mask_phone
from phoneverify.flows.engine.account_lock import WrongCodeLock
from phoneverify.flows.engine.admission import SendAdmission
from phoneverify.flows.engine.any_flow import AnyFlow, flow_key
from phoneverify.flows.engine.audit import FlowAudit
from phoneverify.flows.engine.challenge_records import COUNTED_AS, DECOY, PHONE_GENERATION
from phoneverify.flows.engine.checking import CodeCheck
from phoneverify.flows.engine.pending import PendingChallenges
from phoneverify.flows.engine.policy import (
    FLOW_ID_BYTES,
    ChallengePolicy,
    OpenedChallenge,
    Resent,
)
from phoneverify.flows.engine.provider_calls import ProviderCalls
from phoneverify.flows.engine.resending import CodeResend
from phoneverify.ports.abuse import AccountLock, PrefixGuard, SendGuard
from phoneverify.ports.accounts import AccountTokens
from phoneverify.ports.messaging import AccountNotices, CodeSender
from phoneverify.ports.verifications import VerificationStore

# The verification id of a challenge no provider sent a code for (open_unsent).
UNSENT = "unsent:"


class Challenges:
    def __init__(
        self,
        policy: ChallengePolicy,
        *,
        store: VerificationStore,
        sender: CodeSender,
        flows: AnyFlow,
        audit: FlowAudit,
        clock: Clock,
        guard: SendGuard | None = None,
        failures: AccountLock | None = None,
        phone_policy: PhonePolicy = DEFAULT_PHONE_POLICY,
        pause: Callable[[float], None] = time.sleep,
        account_tokens: AccountTokens | None = None,
        notices: AccountNotices | None = None,
        channels: ChannelPolicy = DEFAULT_CHANNEL_POLICY,
        prefixes: PrefixGuard | None = None,
        pepper: Callable[[], bytes] | None = None,
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        """`flows`: the function's one AnyFlow (a flow ended here tells its watchers through
        its observer); `audit`: where the events go. `guard` (send limits beyond the flow's)
        and `failures` (wrong codes per account) are optional for tests of other mechanics;
        the runtime always passes both, and `notices` (the lock's notice to the owner) and
        `prefixes` (the fraud guard's holds and verified counts, for codes to unproven
        numbers), and `pepper` (the key of a proven code's digest; without one, an empty
        key: tests only). `pause` and `timer`: how a decoy waits and how provider calls are
        timed (tests count them)."""
        self.policy = policy
        self.channels = channels
        self._store = store
        self._clock = clock
        self._flows = flows
        self._audit = audit
        self._pending = PendingChallenges(policy, store=store, clock=clock, audit=audit)
        self._lock = WrongCodeLock(
            policy,
            failures,
            store=store,
            audit=audit,
            account_tokens=account_tokens,
            notices=notices,
        )
        self._admission = SendAdmission(
            policy,
            lock=self._lock,
            audit=audit,
            guard=guard,
            phone_policy=phone_policy,
            prefixes=prefixes,
        )
        self._provider = ProviderCalls(sender, pause=pause, timer=timer, pepper=pepper)
        self._check = CodeCheck(
            policy,
            store=store,
            clock=clock,
            pending=self._pending,
            provider=self._provider,
            lock=self._lock,
            flows=flows,
            audit=audit,
            prefixes=prefixes,
        )
        self._resend = CodeResend(
            policy,
            store=store,
            clock=clock,
            pending=self._pending,
            admission=self._admission,
            provider=self._provider,
            flows=flows,
            audit=audit,
            channels=channels,
        )

    @property
    def phone_policy(self) -> PhonePolicy:
        return self._admission.phone_policy

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
        channel = channel or Channel.SMS
        admission = self._admission
        if not decoy:
            admission.ensure_phone_allowed(phone_number)
        # A decoy's number is a stand-in: only the settings can refuse its channel.
        self.channels.ensure_allowed(channel, None if decoy else phone_number)
        permit = admission.admit(
            counted_as or phone_number, subject, origin, channel, gated=gated, vouched=vouched
        )
        try:
            if callable(data):
                data = data()
            verification_id = self._provider.send(phone_number, channel, decoy=decoy)
        except BaseException:
            admission.release(permit)
            raise
        if decoy:
            data = {**(data or {}), DECOY: "1"}
        if phone_generation is not None:
            data = {**(data or {}), PHONE_GENERATION: str(phone_generation)}
        if counted_as is not None:
            data = {**(data or {}), COUNTED_AS: counted_as}
        return self._store_new(
            subject, phone_number, origin, data, verification_id=verification_id, channel=channel
        )

    def open_unsent(
        self,
        subject: str,
        phone_number: str,
        origin: RequestOrigin,
        data: dict[str, Any] | None = None,
        *,
        phone_generation: int | None = None,
    ) -> OpenedChallenge:
        """Store a pending challenge whose code is not sent by the provider: it is answered
        through a `verifier` (an authenticator app's code, a recovery code) at `check`. No
        send limit is spent (nothing is sent), but a locked account gets none
        (AccountLocked). `phone_number`: the account's, where a code may later be sent
        (empty when it has none); a resend sends its first code at once (never sent: no
        cooldown), bound to `phone_generation` as `open` binds it."""
        self._lock.ensure_unlocked(subject)
        if phone_generation is not None:
            data = {**(data or {}), PHONE_GENERATION: str(phone_generation)}
        return self._store_new(
            subject, phone_number, origin, data, verification_id=UNSENT + secrets.token_hex(8)
        )

    def open_second_step(
        self,
        user: User,
        origin: RequestOrigin,
        data: dict[str, Any],
        channel: Channel | None = None,
    ) -> OpenedChallenge:
        """The second step of a sign-in or a step-up: an account holding a factor stronger
        than SMS is offered it first, so no code goes until one is asked for (a resend sends
        the first at once); any other gets a code at its phone, bound to its generation."""
        if has_stronger_factor(user):
            return self.open_unsent(
                user.user_id,
                user.phone_number or "",
                origin,
                data=data,
                phone_generation=user.phone_generation if user.phone_number else None,
            )
        assert user.phone_number
        return self.open(
            user.user_id,
            user.phone_number,
            origin,
            data=data,
            channel=channel,
            phone_generation=user.phone_generation,
        )

    def _store_new(
        self,
        subject: str,
        phone_number: str,
        origin: RequestOrigin,
        data: dict[str, Any] | None,
        *,
        verification_id: str,
        channel: Channel | None = None,
    ) -> OpenedChallenge:
        """Store a pending challenge under a fresh flow id and answer it: its code sent by
        `channel`, or (None) not sent, so no send is counted and a resend has no cooldown."""
        policy = self.policy
        sent = channel is not None
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
            send_count=1 if sent else 0,
            last_sent_at=now if sent else 0.0,  # never sent: a resend's cooldown is over
            expires_at=expires_at,
            created_at=now,
            data=data or {},
            channel=channel or Channel.SMS,
        )
        self._store.create(record, ttl=self._pending.ttl(expires_at))
        if channel is not None:
            self._audit.emit(VerificationEventType.SENT, record, origin, channel=channel.value)
        else:
            self._audit.emit(VerificationEventType.OPENED, record, origin)
        return OpenedChallenge(
            flow_id=flow_id,
            phone_hint=self.hint(phone_number) if phone_number else "",
            timeout_secs=policy.timeout_secs,
            code_length=policy.code_length,
            resend_after_secs=policy.resend_cooldown_secs if sent else 0,
            channel=record.channel,
            channels=self.channels.enabled,
        )

    def hint(self, phone_number: str) -> str:
        """What the answer shows of the number: a flow that answers like its decoys shows
        the last four digits only, one shape for every country (`last_four_hint`); a code
        by email shows the masked address."""
        if self.policy.by_email:
            return mask_email(phone_number)
        if self.policy.conceals_account:
            return last_four_hint(phone_number)
        return mask_phone(phone_number)

    # -- check and resend (checking.py, resending.py) --------------------------------------
    def check(
        self,
        flow_id: str,
        code: str,
        origin: RequestOrigin,
        *,
        owner: str | None = None,
        before_consume: Callable[[PendingVerification], None] | None = None,
        also_right: Callable[[PendingVerification], bool] | None = None,
        verifier: Callable[[PendingVerification, str], bool] | None = None,
    ) -> PendingVerification:
        """Consume the challenge if `code` is right; return it (as it was, its data with it).
        Otherwise raise why not.

        `also_right`: a second code the flow needs (a sign-up's email code), told right or
        wrong from the flow's record; checked first, and a wrong one is a wrong code like any
        (one attempt, the same answer), so no answer says which of the two was wrong.

        `owner`: the flow is only this subject's (a signed-in flow); anyone else's is
        answered like a flow that does not exist, and costs it no attempt.

        `before_consume`: run once the code is known to be right, before the flow is
        consumed; an InvalidRequest it raises leaves the flow pending and proven (its right
        code accepted again without the provider, its attempt given back) and is raised, so
        the person retries with the same code (a reset's new password refused by a rule
        that must not be checked before the code).

        `verifier`: what tells the code right instead of the provider (an authenticator
        app's code, a recovery code: flows/factor_checks.py); it judges the code's shape
        too, and a code it refuses is a wrong code like any (one attempt, the account's
        count), so its caps and lock are the SMS code's."""
        return self._check.check(
            flow_id,
            code,
            origin,
            owner=owner,
            before_consume=before_consume,
            also_right=also_right,
            verifier=verifier,
        )

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
        the reservation; a flow whose number the account has left ends (PhoneSuperseded), and
        its watchers are told (AnyFlow.end_superseded).
        """
        return self._resend.resend(flow_id, origin, channel, owner=owner)

    def pending(
        self, flow_id: str, origin: RequestOrigin, *, owner: str | None = None
    ) -> PendingVerification:
        """The pending challenge of `flow_id`, read and left as it is (no attempt spent), or
        the domain error that says why there is none: what a passkey's options are bound to."""
        return self._pending.get(flow_key(flow_id), origin, owner=owner)

    # -- cancel: any kind of flow (see AnyFlow) ------------------------------------------
    def cancel(self, flow_id: str, origin: RequestOrigin) -> bool:
        """End the flow if it is pending (AnyFlow.cancel)."""
        return self._flows.cancel(flow_id, origin)

    def unlock_account(self, subject: str) -> None:
        """Clear the account's wrong-code count and any lock (after a password reset)."""
        self._lock.unlock(subject)
