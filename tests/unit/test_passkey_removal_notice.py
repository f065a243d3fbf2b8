"""A passkey's removal is told to its owner (docs/notices.md): the phone when the account has
one; else its email once proven; else nobody can be told, and the audit says so."""

from __future__ import annotations

from dataclasses import replace

from phoneverify.domain.models import NoticeEvent
from phoneverify.flows.engine.email_notices import EmailNotices
from phoneverify.flows.engine.passkey_assertion import PasskeyAssertions
from phoneverify.flows.passkeys import PasskeyRegistry
from tests.support.builders import ORIGIN
from tests.support.emails import RecordingEmails
from tests.support.factors import FactorWorld, factor_world
from tests.support.passkeys import SoftAuthenticator


def world() -> tuple[FactorWorld, PasskeyRegistry, RecordingEmails]:
    f = factor_world()
    emails = RecordingEmails()
    assertions: PasskeyAssertions = f.assertions
    registry = PasskeyRegistry(
        users=f.w.world.users,
        passkeys=f.passkeys,
        challenges=assertions._challenges,
        ceremony=assertions._ceremony,
        step_up=f.w.step_up,
        audit=f.w.world.audit,
        notices=f.w.notices,
        clock=f.w.world.clock,
        timeout_secs=300,
        email_notices=EmailNotices(emails, "phone-verify"),
    )
    return f, registry, emails


def removed(f: FactorWorld, registry: PasskeyRegistry, user_id: str) -> None:
    key = SoftAuthenticator()
    options = registry.creation_options(f.w.caller(user_id), ORIGIN)
    registry.register(f.w.caller(user_id), key.create(options), ORIGIN)
    registry.remove(f.w.caller(user_id), key.passkey_id, ORIGIN)


def test_an_account_with_a_phone_is_told_on_it() -> None:
    f, registry, emails = world()
    removed(f, registry, "u-phone")
    assert any(event is NoticeEvent.PASSKEY_REMOVED for _, event in f.w.notices.sent)
    assert emails.outbox == []


def test_a_phoneless_account_is_told_at_its_proven_email() -> None:
    f, registry, emails = world()
    user = f.w.world.users.get("u-plain")
    assert user is not None
    f.w.world.users.replace(replace(user, email_proven_at=1_000.0))
    removed(f, registry, "u-plain")
    assert [to for to, _ in emails.outbox] == ["plain@example.com"]
    assert "passkey was removed" in emails.outbox[0][1].text


def test_with_no_phone_and_no_proven_email_the_audit_says_nobody_was_told() -> None:
    f, registry, emails = world()
    removed(f, registry, "u-plain")
    assert emails.outbox == []
    failed = [e for e in f.w.world.events.events if e.type.value == "notice_failed"]
    assert failed and failed[-1].detail["reason"] == "no_phone_or_proven_email"
