"""The email change over the phone change's world (its users, step-up and clock): the flow as
the runtime builds it, with an outbox and email limits of its own."""

from __future__ import annotations

from dataclasses import dataclass, replace

from phoneverify.domain.email_messages import CodePurpose
from phoneverify.domain.models import FlowKind
from phoneverify.flows import email_change
from phoneverify.flows.email_change import EmailChangeFlow
from phoneverify.flows.engine.email_codes import EmailCodeSender
from phoneverify.flows.engine.email_proof import EmailSendGuard
from tests.support.builders import (
    PEPPER,
    PhoneChangeWorld,
    email_proof_sender,
    phone_change_world,
    policy,
)
from tests.support.emails import InMemoryEmailLimits, RecordingEmails

TIMEOUT = 900


@dataclass
class EmailChangeWorld:
    base: PhoneChangeWorld
    flow: EmailChangeFlow
    emails: RecordingEmails
    limits: InMemoryEmailLimits


def email_change_world(*, demo_proven: bool = True) -> EmailChangeWorld:
    """u-phone (demo@example.com, PHONE) with its email proven (or not), u-plain beside it."""
    base = phone_change_world()
    world = base.world
    demo = world.users.get("u-phone")
    assert demo is not None
    world.users.replace(replace(demo, email_proven_at=1.0 if demo_proven else None))
    emails = RecordingEmails()
    limits = InMemoryEmailLimits(world.clock)
    change_policy = policy(
        FlowKind.EMAIL_CHANGE,
        timeout_secs=TIMEOUT,
        restart_hint=email_change.RESTART_HINT,
        too_many_attempts_message=email_change.TOO_MANY_ATTEMPTS,
        account_lock_applies=False,
        counts_toward_lock=True,
        by_email=True,
    )
    guard = EmailSendGuard(limits, lambda: PEPPER)
    sender = email_proof_sender(world, emails, limits, CodePurpose.EMAIL_CHANGE, TIMEOUT)
    codes = EmailCodeSender(
        emails,
        code_length=6,
        timeout_secs=TIMEOUT,
        pepper=lambda: PEPPER,
        service_name="Demo",
        purpose=CodePurpose.EMAIL_CHANGE,
    )
    flow = EmailChangeFlow(
        users=world.users,
        change=world.challenges(change_policy, sender=sender, guard=guard),
        prove=world.challenges(change_policy, sender=codes, guard=guard),
        step_up=base.step_up,
        audit=world.audit,
        emails=emails,
        clock=world.clock,
        service_name="Demo",
    )
    return EmailChangeWorld(base, flow, emails, limits)
