"""In-memory pieces of the lost phone (docs/phone-lifecycle.md#a-lost-phone): an email outbox,
the swaps on InMemoryUsers decided by domain/lifecycle/phone_swap.py, and a world over them."""

from __future__ import annotations

from dataclasses import dataclass, replace

from phoneverify.domain.email_messages import CodePurpose
from phoneverify.domain.errors import (
    NoPendingPhoneSwap,
    PhoneAlreadyRegistered,
    PhoneSuperseded,
    PhoneSwapPending,
)
from phoneverify.domain.lifecycle.phone_swap import (
    CANCEL,
    COMPLETE,
    RECORD,
    PhoneSwap,
    PhoneSwapRule,
    SwapAsk,
    after,
)
from phoneverify.domain.models import FlowKind
from phoneverify.flows import lost_phone
from phoneverify.flows.engine.challenges import Challenges
from phoneverify.flows.engine.email_codes import EmailCodeSender
from phoneverify.flows.engine.email_proof import EmailSendGuard
from phoneverify.flows.lost_phone import LostPhoneFlow
from tests.support.builders import PEPPER, LoginWorld, login_world, policy
from tests.support.emails import InMemoryEmailLimits, RecordingEmails
from tests.support.fakes import InMemoryUsers

WAIT = 72 * 3600
GRACE = 7 * 86_400


class InMemoryPhoneSwaps:
    """PhoneSwaps over InMemoryUsers, each write decided by the lifecycle's transitions."""

    def __init__(self, users: InMemoryUsers) -> None:
        self.users = users
        self.pointers: dict[str, tuple[str, float]] = {}

    def record(
        self, user_id: str, swap: PhoneSwap, old_phone: str, phone_generation: int, now: float
    ) -> None:
        with self.users._lock:
            user = self.users.get(user_id)
            if (
                user is None
                or user.phone_number != old_phone
                or user.phone_generation != phone_generation
            ):
                raise PhoneSuperseded()
            if not RECORD.applies(user.phone_swap, SwapAsk(now)) or swap.swap_id in self.pointers:
                raise PhoneSwapPending()
            self.pointers[swap.swap_id] = (user_id, swap.expires_at)
            self.users.replace(replace(user, phone_swap=swap))

    def owner(self, swap_id: str, now: float) -> str | None:
        found = self.pointers.get(swap_id)
        return found[0] if found is not None and found[1] > now else None

    def cancel(self, user_id: str, now: float) -> PhoneSwap:
        with self.users._lock:
            user = self.users.get(user_id)
            swap = user.phone_swap if user is not None else None
            if user is None or swap is None or not CANCEL.applies(swap, SwapAsk(now)):
                raise NoPendingPhoneSwap()
            self.users.replace(replace(user, phone_swap=after(swap, CANCEL)))
            return swap

    def complete(
        self,
        user_id: str,
        swap: PhoneSwap,
        old_phone: str | None,
        password_hash: str,
        now: float,
    ) -> None:
        with self.users._lock:
            user = self.users.get(user_id)
            current = user.phone_swap if user is not None else None
            if (
                user is None
                or current is None
                or user.phone_number != old_phone
                or not COMPLETE.applies(current, SwapAsk(now, swap.swap_id))
            ):
                raise NoPendingPhoneSwap()
            if swap.new_phone in self.users.by_phone:
                raise PhoneAlreadyRegistered()
            if old_phone:
                del self.users.by_phone[old_phone]
            self.pointers.pop(swap.swap_id, None)
            self.users.replace(
                replace(
                    user,
                    phone_number=swap.new_phone,
                    password_hash=password_hash,
                    phone_generation=user.phone_generation + 1,
                    token_generation=user.token_generation + 1,
                    password_generation=user.password_generation + 1,
                    phone_swap=after(current, COMPLETE),
                )
            )


@dataclass
class LostPhoneWorld:
    world: LoginWorld
    flow: LostPhoneFlow
    emails: RecordingEmails
    swaps: InMemoryPhoneSwaps
    email_limits: InMemoryEmailLimits


def lost_phone_world(*, proven: bool = True) -> LostPhoneWorld:
    """A login world (u-phone: demo@example.com with PHONE, its email proven when `proven`;
    u-plain without a phone) and the lost phone's flow over it."""
    world = login_world()
    users = world.users
    demo = users.get("u-phone")
    assert demo is not None
    users.replace(replace(demo, email_proven_at=world.clock.now() if proven else None))
    plain = users.get("u-plain")
    assert plain is not None
    users.replace(replace(plain, email_proven_at=world.clock.now()))
    emails = RecordingEmails()
    email_limits = InMemoryEmailLimits(world.clock)
    email_policy = policy(
        FlowKind.LOST_PHONE_EMAIL,
        timeout_secs=900,
        restart_hint=lost_phone.RESTART_HINT,
        too_many_attempts_message=lost_phone.TOO_MANY_ATTEMPTS,
        account_lock_applies=False,
        counts_toward_lock=True,
        conceals_account=True,
        by_email=True,
    )
    email_challenges = Challenges(
        email_policy,
        store=world.store,
        sender=EmailCodeSender(
            emails,
            code_length=6,
            timeout_secs=900,
            pepper=lambda: PEPPER,
            service_name="Demo",
            purpose=CodePurpose.LOST_PHONE,
        ),
        flows=world.any_flow,
        audit=world.audit,
        clock=world.clock,
        # As the runtime: a code by email counts in the email limits, not an SMS tier.
        guard=EmailSendGuard(email_limits, lambda: PEPPER),
        failures=world.failures,
        pause=world.pauses.append,
        account_tokens=world.users,
        notices=world.notices,
        pepper=lambda: PEPPER,
        timer=world.timer,
    )
    phone_policy = policy(
        FlowKind.LOST_PHONE,
        restart_hint=lost_phone.RESTART_HINT,
        too_many_attempts_message=lost_phone.TOO_MANY_ATTEMPTS,
        account_lock_applies=False,
        counts_toward_lock=True,
    )
    swaps = InMemoryPhoneSwaps(users)
    flow = LostPhoneFlow(
        users=users,
        swaps=swaps,
        passwords=world.passwords,
        email_challenges=email_challenges,
        phone_challenges=world.challenges(phone_policy),
        audit=world.audit,
        throttle=world.throttle,
        notices=world.notices,
        emails=emails,
        clock=world.clock,
        pepper=lambda: PEPPER,
        rule=PhoneSwapRule(WAIT, GRACE),
        service_name="Demo",
    )
    return LostPhoneWorld(world, flow, emails, swaps, email_limits)
