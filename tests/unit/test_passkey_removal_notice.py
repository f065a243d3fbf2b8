"""A passkey's removal is told to its owner (docs/notices.md): the phone when the account has
one; else its email once proven; else nobody can be told, and the audit says so."""

from __future__ import annotations

from dataclasses import replace

from phoneverify.domain.models import NoticeEvent
from tests.support.builders import ORIGIN
from tests.support.emails import RecordingEmails
from tests.support.factors import FactorWorld, factor_world


def world() -> tuple[FactorWorld, RecordingEmails]:
    emails = RecordingEmails()
    return factor_world(emails), emails


def removed(f: FactorWorld, user_id: str) -> None:
    key = f.add_passkey(user_id)
    f.registry.remove(f.w.caller(user_id), key.passkey_id, ORIGIN)


def test_an_account_with_a_phone_is_told_on_it() -> None:
    f, emails = world()
    removed(f, "u-phone")
    assert any(event is NoticeEvent.PASSKEY_REMOVED for _, event in f.w.notices.sent)
    assert emails.outbox == []


def test_a_phoneless_account_is_told_at_its_proven_email() -> None:
    f, emails = world()
    user = f.w.world.users.get("u-plain")
    assert user is not None
    f.w.world.users.replace(replace(user, email_proven_at=1_000.0))
    removed(f, "u-plain")
    assert [to for to, _ in emails.outbox] == ["plain@example.com"]
    assert "passkey was removed" in emails.outbox[0][1].text


def test_with_no_phone_and_no_proven_email_the_audit_says_nobody_was_told() -> None:
    f, emails = world()
    removed(f, "u-plain")
    assert emails.outbox == []
    failed = [e for e in f.w.world.events.events if e.type.value == "notice_failed"]
    assert failed and failed[-1].detail["reason"] == "no_phone_or_proven_email"
