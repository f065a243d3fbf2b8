"""The password reset's "I no longer have this phone" (docs/phone-lifecycle.md#a-lost-phone).

`start` takes the email and the new number and sends a code to the email, for an account whose
email is proven and that has a phone; for any other email (unknown, unproven, phoneless) the
flow is a decoy that answers alike, after the same reads, send limits and pause, and accepts no
code (docs/abuse-controls.md#the-decoy-password-reset). `verify` proves the email and sends a
code to the new number; `confirm_phone` proves it and records the swap on the account, binding
`wait_secs` later, with notices to the old phone and the email. The owner may `cancel` it from
any signed-in session. `complete`, from whoever holds the flow id, once the wait is over and
before its grace window ends, binds the number, sets the new password and ends every session
of the account in one transaction.

Each step answers the flow id the next one takes: `verify` the new number's flow, which
`confirm_phone` and `complete` take.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from phoneverify.domain.audit_events import VerificationEventType
from phoneverify.domain.clock import Clock
from phoneverify.domain.email_messages import EmailNotice
from phoneverify.domain.emails import parse_email, unknown_subject
from phoneverify.domain.errors import (
    InvalidPhoneNumber,
    LostPhoneWaiting,
    NoPendingPhoneSwap,
    PhoneAlreadyRegistered,
    PhoneSuperseded,
    PhoneSwapPending,
)
from phoneverify.domain.keyed import keyed_digest
from phoneverify.domain.lifecycle.phone_swap import PhoneSwap, PhoneSwapRule
from phoneverify.domain.models import FlowKind, NoticeEvent, RequestOrigin, User
from phoneverify.domain.passwords import PasswordHasher, check_password
from phoneverify.domain.phones import DEFAULT_PHONE_POLICY, PhonePolicy, mask_phone, normalise_phone
from phoneverify.domain.throttling import account_key
from phoneverify.flows.engine.audit import FlowAudit
from phoneverify.flows.engine.challenge_records import PHONE_GENERATION
from phoneverify.flows.engine.challenges import Challenges
from phoneverify.flows.engine.email_notices import EmailNotices
from phoneverify.flows.engine.policy import OpenedChallenge
from phoneverify.flows.password_reset import NEW_PASSWORD
from phoneverify.ports.abuse import PasswordThrottle
from phoneverify.ports.accounts import AccountRecovery, PhoneSwaps
from phoneverify.ports.messaging import AccountNotices, EmailSender

logger = logging.getLogger(__name__)

RESTART_HINT = "Start again from the password reset."
TOO_MANY_ATTEMPTS = "Too many attempts. Please start again from the password reset."
NEW_PHONE = "new_phone"  # data key (and request field): the number that is to replace the lost one
OLD_PHONE = "old_phone"  # data key: the account's number when the flow began
EMAIL = "email"


@dataclass(frozen=True)
class SwapState:
    """What GET /account/phone/pending and the steps answer of a swap."""

    status: str  # "none", "pending", "cancelled", "completed"
    new_phone_hint: str | None = None
    binds_at: int | None = None
    retry_after: int | None = None  # seconds before it may bind (pending only)


def swap_state(swap: PhoneSwap | None, now: float) -> SwapState:
    """A swap past its grace window is none: expiry checked on read."""
    if swap is None or (swap.status == "pending" and not swap.live(now)):
        return SwapState("none")
    pending = swap.live(now)
    return SwapState(
        swap.status.value,
        new_phone_hint=mask_phone(swap.new_phone),
        binds_at=int(swap.binds_at),
        retry_after=swap.waits_for(now) if pending else None,
    )


class LostPhoneFlow:
    def __init__(
        self,
        *,
        users: AccountRecovery,
        swaps: PhoneSwaps,
        passwords: PasswordHasher,
        email_challenges: Challenges,
        phone_challenges: Challenges,
        audit: FlowAudit,
        throttle: PasswordThrottle,
        notices: AccountNotices,
        emails: EmailSender,
        clock: Clock,
        pepper: Callable[[], bytes],
        rule: PhoneSwapRule,
        service_name: str,
        default_phone_region: str = "US",
        phone_policy: PhonePolicy = DEFAULT_PHONE_POLICY,
    ) -> None:
        """`email_challenges`: a Challenges whose policy is `by_email` over an
        EmailCodeSender; `phone_challenges`: the new number's, over the provider."""
        self._users = users
        self._swaps = swaps
        self._passwords = passwords
        self._email = email_challenges
        self._phone = phone_challenges
        self._audit = audit
        self._throttle = throttle
        self._notices = notices
        self._emails = emails
        self._clock = clock
        self._pepper = pepper
        self._rule = rule
        self._service = service_name
        self._region = default_phone_region
        self._phone_policy = phone_policy

    # -- 1. the email -----------------------------------------------------------------------
    def start(self, email: str, new_phone: str, origin: RequestOrigin) -> OpenedChallenge:
        """A code to the email of an eligible account, or a decoy that answers alike. What
        is refused before (a malformed address, a number the policy refuses) is refused for
        every email alike."""
        address = parse_email(email)
        try:
            phone = normalise_phone(new_phone.strip(), self._region, self._phone_policy)
        except InvalidPhoneNumber as refused:
            refused.extra["field"] = NEW_PHONE  # the request's name of the number
            raise
        # Two reads whether the email has an account or not (UserLookup.find_by_email).
        user = self._users.find_by_email(address)
        # Both count in the address's email limits (the Challenges' guard), alike.
        if user is not None and user.phone_number and eligible(user):
            return self._email.open(
                user.user_id,
                address,
                origin,
                data={
                    EMAIL: address,
                    NEW_PHONE: phone,
                    OLD_PHONE: user.phone_number,
                },
                phone_generation=user.phone_generation,
            )
        return self._email.open(
            unknown_subject(account_key(address)),
            address,
            origin,
            data={EMAIL: address, NEW_PHONE: phone, OLD_PHONE: ""},
            decoy=True,
        )

    # -- 2. the new number ------------------------------------------------------------------
    def verify(self, flow_id: str, code: str, origin: RequestOrigin) -> OpenedChallenge:
        """The email's code (a decoy's is never right); then a code to the new number."""
        record = self._email.check(flow_id, code, origin)
        self._audit.emit(VerificationEventType.LOST_PHONE_EMAIL_PROVEN, record, origin)
        return self._phone.open(
            record.subject,
            record.data[NEW_PHONE],
            origin,
            data={EMAIL: record.data[EMAIL], OLD_PHONE: record.data[OLD_PHONE]},
            phone_generation=int(record.data[PHONE_GENERATION]),
        )

    # -- 3. the swap recorded, and the wait --------------------------------------------------
    def confirm_phone(self, flow_id: str, code: str, origin: RequestOrigin) -> SwapState:
        """The new number's code; then the swap is recorded on the account (one at a time,
        only while its phone is the one the flow began with) and the owner is told at the old
        number and the email."""
        record = self._phone.check(flow_id, code, origin)
        now = self._clock.now()
        swap = self._rule.opened(self.swap_id(flow_id), record.phone_number, now)
        old_phone = record.data[OLD_PHONE]
        try:
            self._swaps.record(
                record.subject, swap, old_phone, int(record.data[PHONE_GENERATION]), now
            )
        except (PhoneSwapPending, PhoneSuperseded) as refused:
            self._audit.emit(
                VerificationEventType.PHONE_SWAP_REFUSED, record, origin, reason=refused.code
            )
            raise
        self._audit.emit(
            VerificationEventType.PHONE_SWAP_PENDING, record, origin, binds_at=int(swap.binds_at)
        )
        self._notices.notify(old_phone, NoticeEvent.PHONE_SWAP_PENDING)
        self._email_notice(record.data[EMAIL], EmailNotice.PHONE_SWAP_PENDING)
        return swap_state(swap, now)

    # -- 4. after the wait: bound, with a new password ---------------------------------------
    def complete(self, flow_id: str, new_password: str, origin: RequestOrigin) -> SwapState:
        """Before `binds_at`: LostPhoneWaiting with the seconds left. After it (and before
        the grace window ends): the number and the password, every session ended."""
        check_password(new_password, field=NEW_PASSWORD)
        now = self._clock.now()
        swap_id = self.swap_id(flow_id)
        user_id = self._swaps.owner(swap_id, now)
        user = self._users.get(user_id) if user_id is not None else None
        swap = user.phone_swap if user is not None else None
        if user is None or swap is None or swap.swap_id != swap_id or not swap.live(now):
            raise NoPendingPhoneSwap()
        if swap.binds_at > now:
            raise LostPhoneWaiting(swap.waits_for(now))
        check_password(
            new_password,
            context=(user.email, user.email.partition("@")[0], user.name or ""),
            field=NEW_PASSWORD,
        )
        old_phone = user.phone_number
        subject = user.user_id
        try:
            self._swaps.complete(subject, swap, old_phone, self._passwords.hash(new_password), now)
        except (NoPendingPhoneSwap, PhoneAlreadyRegistered) as refused:
            self._audit.record(
                VerificationEventType.PHONE_SWAP_REFUSED,
                subject,
                origin,
                kind=FlowKind.LOST_PHONE,
                reason=refused.code,
            )
            raise
        self._email.unlock_account(subject)
        self._throttle.clear(account_key(user.email))
        self._audit.record(
            VerificationEventType.PHONE_SWAP_DONE,
            subject,
            origin,
            kind=FlowKind.LOST_PHONE,
            old_phone=mask_phone(old_phone) if old_phone else "",
        )
        if old_phone:
            self._notices.notify(old_phone, NoticeEvent.PHONE_SWAP_DONE)
        self._notices.notify(swap.new_phone, NoticeEvent.PHONE_SWAP_DONE)
        self._email_notice(user.email, EmailNotice.PHONE_SWAP_DONE)
        return SwapState("completed", new_phone_hint=mask_phone(swap.new_phone))

    # -- the owner, signed in ---------------------------------------------------------------
    def pending(self, user_id: str) -> SwapState:
        user = self._users.get(user_id)
        return swap_state(user.phone_swap if user is not None else None, self._clock.now())

    def cancel(self, user_id: str, origin: RequestOrigin) -> SwapState:
        """End the account's live swap: a session is enough (no step-up), so an owner whose
        email or old number was taken can stop it from any device still signed in."""
        now = self._clock.now()
        user = self._users.get(user_id)
        if user is None:
            raise NoPendingPhoneSwap()
        swap = self._swaps.cancel(user_id, now)
        self._audit.record(
            VerificationEventType.PHONE_SWAP_CANCELLED,
            user_id,
            origin,
            kind=FlowKind.LOST_PHONE,
            new_phone=mask_phone(swap.new_phone),
        )
        if user.phone_number:
            self._notices.notify(user.phone_number, NoticeEvent.PHONE_SWAP_CANCELLED)
        self._email_notice(user.email, EmailNotice.PHONE_SWAP_CANCELLED)
        return SwapState("cancelled", new_phone_hint=mask_phone(swap.new_phone))

    # -- the swap id and the email notices ------------------------------------------------
    def swap_id(self, flow_id: str) -> str:
        """What the account keeps of the flow that may complete its swap."""
        return keyed_digest(self._pepper(), f"phone-swap:{flow_id}")

    def _email_notice(self, address: str, notice: EmailNotice) -> None:
        EmailNotices(self._emails, self._service).tell(
            address, notice, wait_hours=self._rule.wait_secs // 3600
        )


def eligible(user: User | None) -> bool:
    """Who may replace a lost phone through the email: an account with a phone (it has one
    to lose) whose email is proven (issue 21 proves it at sign-up)."""
    return user is not None and bool(user.phone_number) and user.email_proven_at is not None
