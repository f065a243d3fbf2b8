"""The password reset's "I no longer have this phone" (docs/phone-lifecycle.md#a-lost-phone),
attacked through the local stack: HTTP through the local gateway, DynamoDB Local, the new
number's codes from the Telnyx emulator and the emails from its outbox
(GET /_emulator/emails?to=). The threat model's cases: a SIM-swap attacker (who holds the old
number) cannot bind early, and the email tells the owner; the owner cancels from a signed-in
session; an attacker with only a stolen email is stopped by the wait and the cancel, told at
the old number; and an email that may not use the path answers as one that may."""

from __future__ import annotations

from typing import Any

import httpx

from tests.security.conftest import PASSWORD, Target, seed_account
from tests.security.test_notices import notices_to
from tests.support.accounts import Account, fresh_phone
from tests.support.payments import bearer, token_for

NEW_PASSWORD = "the attacker's own passphrase 99"


def emails(target: Target, to: str) -> list[dict[str, Any]]:
    found = httpx.get(f"{target.emulator.base_url}/_emulator/emails", params={"to": to})
    assert found.status_code == 200, found.text
    data: list[dict[str, Any]] = found.json()["data"]
    return data


def swap_waiting(target: Target, account: Account, new_phone: str) -> str:
    """Whoever holds the email and `new_phone` walks the path: the flow id that completes."""
    started = target.api.post(
        "/password/reset/lost-phone/start", json={"email": account.email, "new_phone": new_phone}
    )
    assert started.status_code == 200, started.text
    code = emails(target, account.email)[0]["code"]
    body = {"flow_id": started.json()["flow_id"], "code": code}
    phone_step = target.api.post("/password/reset/lost-phone/verify", json=body)
    assert phone_step.status_code == 200, phone_step.text
    flow_id: str = phone_step.json()["flow_id"]
    body = {"flow_id": flow_id, "code": target.code_for(new_phone)}
    recorded = target.api.post("/password/reset/lost-phone/confirm-phone", json=body)
    assert recorded.status_code == 200, recorded.text
    assert recorded.json()["status"] == "pending"
    return flow_id


def complete(target: Target, flow_id: str) -> httpx.Response:
    return target.api.post(
        "/password/reset/lost-phone/complete",
        json={"flow_id": flow_id, "new_password": NEW_PASSWORD},
    )


def test_a_sim_swap_attacker_cannot_bind_early_and_the_email_tells_the_owner(
    target: Target,
) -> None:
    # Given the owner's account, and an attacker who can read its email and brings a number
    # (with the old SIM too: the path never asks the old phone, so holding it gains nothing)
    owner = seed_account(target.stack)
    attacker_phone = fresh_phone()
    flow_id = swap_waiting(target, owner, attacker_phone)
    # When the attacker tries to complete at once
    early = complete(target, flow_id)
    # Then it waits: 409 lost_phone_waiting with the seconds left, nothing bound
    assert early.status_code == 409, early.text
    assert early.json()["code"] == "lost_phone_waiting"
    assert int(early.headers["Retry-After"]) > 71 * 3600
    login = target.api.post("/login", json={"email": owner.email, "password": PASSWORD})
    assert login.status_code == 200 and login.json()["phone_hint"].endswith(owner.phone[-4:])
    # and the owner was told by email and at the old number
    assert any("waiting" in e["subject"] for e in emails(target, owner.email))
    assert notices_to(target, owner.phone)


def test_the_owner_cancels_from_a_signed_in_session_and_the_swap_never_binds(
    target: Target,
) -> None:
    owner = seed_account(target.stack)
    flow_id = swap_waiting(target, owner, fresh_phone())
    token = token_for(target.stack, owner.email, PASSWORD, owner.phone)
    pending = target.api.get("/account/phone/pending", headers=bearer(token))
    assert pending.status_code == 200 and pending.json()["status"] == "pending", pending.text
    # When the owner cancels with only the session (no step-up asked)
    cancelled = target.api.post("/account/phone/pending/cancel", json={}, headers=bearer(token))
    # Then it is over: completing answers there is no swap, the phone stays
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    after = complete(target, flow_id)
    assert (after.status_code, after.json()["code"]) == (400, "no_pending_phone_swap")
    assert target.api.get("/account/phone/pending", headers=bearer(token)).json()["status"] == (
        "cancelled"
    )


def test_a_stolen_email_alone_is_stopped_by_the_wait_and_the_cancel(target: Target) -> None:
    # Given an attacker with only the owner's email (the owner keeps the phone and a session)
    owner = seed_account(target.stack)
    token = token_for(target.stack, owner.email, PASSWORD, owner.phone)
    flow_id = swap_waiting(target, owner, fresh_phone())
    # Then the owner is told at the phone they still hold, and cancels from their session
    assert notices_to(target, owner.phone)
    cancelled = target.api.post("/account/phone/pending/cancel", json={}, headers=bearer(token))
    assert cancelled.status_code == 200, cancelled.text
    # and neither the wait nor a second try helps the attacker
    assert complete(target, flow_id).status_code == 400
    again = target.api.post("/account/phone/pending/cancel", json={}, headers=bearer(token))
    assert (again.status_code, again.json()["code"]) == (400, "no_pending_phone_swap")


def test_cancel_and_pending_need_a_session(target: Target) -> None:
    assert target.api.get("/account/phone/pending").status_code == 401
    assert target.api.post("/account/phone/pending/cancel", json={}).status_code == 401


def test_an_unproven_or_unknown_email_answers_as_a_proven_one_and_gets_nothing(
    target: Target,
) -> None:
    proven_account = seed_account(target.stack)
    unproven = seed_account(target.stack, email_proven=False)
    answers = {}
    for name, email in [
        ("proven", proven_account.email),
        ("unproven", unproven.email),
        ("unknown", "nobody-lost@example.com"),
    ]:
        response = target.api.post(
            "/password/reset/lost-phone/start", json={"email": email, "new_phone": fresh_phone()}
        )
        assert response.status_code == 200, response.text
        answers[name] = response.json()
    shapes = {name: (set(a), a["timeout_secs"], a["code_length"]) for name, a in answers.items()}
    assert len(set(map(str, shapes.values()))) == 1, shapes
    assert emails(target, unproven.email) == []
    assert emails(target, "nobody-lost@example.com") == []
    # and a decoy accepts no code at all
    body = {"flow_id": answers["unproven"]["flow_id"], "code": "123456"}
    refused = target.api.post("/password/reset/lost-phone/verify", json=body)
    assert (refused.status_code, refused.json()["code"]) == (401, "invalid_code")
