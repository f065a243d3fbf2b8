"""Notices attacked through the whole local stack (docs/phone-lifecycle.md#notices): whoever
locks an account, resets its password or ends every session of it, the owner's phone is told,
in plain words that give an attacker nothing (no code, no link); a notice Telnyx refuses never
undoes or fails the change, and goes when Telnyx is back; and notices cannot be turned into a
way to flood a number. The outbox is swept when a test looks (docs/notices.md).

Each test seeds an account of its own (its own phone), so the outbox it reads is its own."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.security.conftest import (
    PASSWORD,
    Account,
    Target,
    limited,
    new_source,
    seed_account,
    wrong_code,
)
from tests.support.payments import bearer

NEW_PASSWORD = "a fresh passphrase after the scare"
LINK = re.compile(r"https?:|www\.|\.[a-z]{2,}/", re.IGNORECASE)


def notices_to(target: Any, phone: str, *, sweep: bool = True) -> list[dict[str, Any]]:
    """The notices the owner's phone received, newest first, once the session stack's outbox
    is swept (as the schedule would, docs/notices.md); none carries a code or a link."""
    if sweep:
        target.stack.deliver_notices()
    found: list[dict[str, Any]] = target.emulator.messages(phone, kind="notice")
    for notice in found:
        assert "code" not in notice
        assert not re.search(r"\d", notice["text"]), notice["text"]
        assert not LINK.search(notice["text"]), notice["text"]
    return found


def token_of(api: httpx.Client, target: Any, account: Account) -> str:
    started = api.post("/login", json={"email": account.email, "password": PASSWORD})
    assert started.status_code == 200, started.text
    code = target.emulator.latest_code(account.phone)
    verified = api.post("/login/verify", json={"flow_id": started.json()["flow_id"], "code": code})
    assert verified.status_code == 200, verified.text
    token: str = verified.json()["token"]
    return token


def reset(target: Target, account: Account) -> httpx.Response:
    started = target.api.post("/password/reset/start", json={"email": account.email})
    assert started.status_code == 200, started.text
    return target.api.post(
        "/password/reset/verify",
        json={
            "flow_id": started.json()["flow_id"],
            "code": target.code_for(account.phone),
            "new_password": NEW_PASSWORD,
        },
    )


def test_an_attacker_who_ends_every_session_cannot_keep_the_owner_from_knowing(
    target: Target,
) -> None:
    # Given an attacker holding a token of the account (the owner's other sessions live)
    account = seed_account(target.stack)
    stolen = token_of(target.api, target, account)
    # When it logs every session out, to lock the owner out of the web app
    response = target.api.post("/logout", json={"all": True}, headers=bearer(stolen))
    # Then the owner's phone is told, and the notice holds nothing an attacker could use
    assert response.status_code == 200, response.text
    [notice] = notices_to(target, account.phone)
    assert "signed out" in notice["text"]


def test_an_attacker_who_resets_the_password_cannot_keep_the_owner_from_knowing(
    target: Target,
) -> None:
    # Given an attacker who got one reset code through (a SIM swap, say)
    account = seed_account(target.stack)
    code_sms = target.emulator.messages(account.phone, kind="code")
    # When it sets a new password
    done = reset(target, account)
    # Then the reset holds, and the phone on record has a notice of it, no code in it
    assert done.status_code == 200, done.text
    [notice] = notices_to(target, account.phone)
    assert "password was reset" in notice["text"]
    assert all(sms["code"] not in notice["text"] for sms in code_sms)


def test_a_notice_telnyx_refuses_neither_fails_nor_undoes_the_reset_and_still_goes(
    target: Target,
) -> None:
    # Given Telnyx Messaging down for every try a notice makes
    account = seed_account(target.stack)
    target.emulator.add_fault("message", status=503, count=3)
    try:
        # When the owner resets the password
        done = reset(target, account)
        # Then the reset answered 200, the new password opens the account, no notice went out
        assert done.status_code == 200, done.text
        assert done.json() == {"password_reset": True}
        signed_in = target.api.post(
            "/login", json={"email": account.email, "password": NEW_PASSWORD}
        )
        assert signed_in.status_code == 200, signed_in.text
        assert notices_to(target, account.phone) == []
    finally:
        target.emulator.clear_faults()
    # and once Telnyx is back, the next sweep tells the owner after all
    [notice] = notices_to(target, account.phone)
    assert "password was reset" in notice["text"]


def test_guessing_codes_until_the_lock_tells_the_owner_once(target: Target) -> None:
    # Given an attacker with the password, and an account's cap of three wrong codes
    account = seed_account(target.stack)
    with (
        limited(target.stack, {"MAX_ACCOUNT_FAILURES": "3"}) as stack,
        stack.client(new_source()) as api,
    ):
        started = api.post("/login", json={"email": account.email, "password": PASSWORD})
        assert started.status_code == 200, started.text
        flow_id = started.json()["flow_id"]
        code = target.code_for(account.phone)
        # When it guesses until the account locks, then keeps trying
        statuses = [
            api.post("/login/verify", json={"flow_id": flow_id, "code": wrong_code(code)})
            for _ in range(5)
        ]
        stack.deliver_notices()
    # Then the third wrong code locked it, and the owner got exactly one notice
    assert [r.status_code for r in statuses] == [401, 401, 429, 429, 429]
    assert statuses[2].json()["code"] == "account_locked"
    [notice] = notices_to(target, account.phone, sweep=False)
    assert "locked" in notice["text"] and "Reset your password" in notice["text"]


def test_notices_cannot_flood_a_number(target: Target) -> None:
    # Given notices capped at two per number per window
    account = seed_account(target.stack)
    with (
        limited(target.stack, {"MAX_NOTICES_PER_PHONE": "2"}) as stack,
        stack.client(new_source()) as api,
    ):
        # When someone logs out of every session over and over
        for _ in range(4):
            token = token_of(api, target, account)
            response = api.post("/logout", json={"all": True}, headers=bearer(token))
            assert response.status_code == 200, response.text  # the logout itself always works
        # (and however often the outbox is swept: the cap gives a notice up, never defers it)
        first, second = stack.deliver_notices(), stack.deliver_notices()
    # Then the phone got two notices, and its codes kept coming (four logins)
    assert first["outcomes"] == {"delivered": 2, "given_up": 2} and second["outcomes"] == {}
    assert len(notices_to(target, account.phone, sweep=False)) == 2
    assert len(target.emulator.messages(account.phone, kind="code")) == 4
