"""Changing an account's phone, tried as an attacker would through the local stack: with a
stolen token and the password (the current phone is asked: the step-up), with a stolen token
but not the password (and guessing it), with reauth tokens of another account or session or
expired, with the attacker's own token on the victim's flow, with a code sent to the old
number (the SIM the attacker holds), by racing two changes, with a token the owner revoked,
and probing which numbers have an account. Every test uses accounts of its own
(tests/security/conftest.py seed_account)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import jwt

from phoneverify.domain.phones import mask_phone
from phoneverify.domain.tokens import ReauthTokenIssuer
from tests.security.conftest import PASSWORD, Target, seed_account, wrong_code
from tests.security.test_audit_log import trail
from tests.support.accounts import Account, fresh_phone
from tests.support.fakes import FakeClock
from tests.support.payments import bearer, token_for


def signed_in(target: Target, account: Account) -> str:
    """The account's token, after its login (with the code from its phone, if it has one)."""
    if account.phone:
        return token_for(target.stack, account.email, PASSWORD, account.phone)
    response = target.api.post("/login", json={"email": account.email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    token: str = response.json()["token"]
    return token


def reauth_start(target: Target, token: str, password: str = PASSWORD) -> httpx.Response:
    return target.api.post(
        "/account/reauth/start", json={"password": password}, headers=bearer(token)
    )


def stepped_up(target: Target, token: str, account: Account) -> str:
    """The step-up of `token`'s session: the password, then the code sent to the account's
    phone (an account without one gets its reauth token at once)."""
    started = reauth_start(target, token)
    assert started.status_code == 200, started.text
    if not account.phone:
        granted: str = started.json()["reauth_token"]
        return granted
    body = {"flow_id": started.json()["flow_id"], "code": target.code_for(account.phone)}
    verified = target.api.post("/account/reauth/verify", json=body, headers=bearer(token))
    assert verified.status_code == 200, verified.text
    reauth: str = verified.json()["reauth_token"]
    return reauth


def start(
    target: Target, token: str, phone: str, reauth: str | None = None, **extra: str
) -> httpx.Response:
    headers = {**bearer(token), **({"Reauth-Token": reauth} if reauth else {})}
    body = {"phone_number": phone, **extra}
    return target.api.post("/account/phone/start", json=body, headers=headers)


def verify(target: Target, token: str, flow_id: str, code: str) -> httpx.Response:
    body = {"flow_id": flow_id, "code": code}
    return target.api.post("/account/phone/verify", json=body, headers=bearer(token))


def started(target: Target, token: str, phone: str, account: Account) -> str:
    response = start(target, token, phone, stepped_up(target, token, account))
    assert response.status_code == 200, response.text
    flow_id: str = response.json()["flow_id"]
    return flow_id


def login_sends_code_to(target: Target, account: Account, phone: str) -> bool:
    """Whether the account's next login sends its code to `phone` (one more SMS there)."""
    before = len(target.emulator.messages(phone))
    response = target.api.post("/login", json={"email": account.email, "password": PASSWORD})
    assert response.status_code == 200, response.text
    return "flow_id" in response.json() and len(target.emulator.messages(phone)) == before + 1


def test_a_stolen_token_and_the_password_cannot_move_a_phone_that_exists(target: Target) -> None:
    # Given the attacker holds the victim's token and password, not the victim's phone
    victim = seed_account(target.stack)
    token = signed_in(target, victim)
    attacker_phone = fresh_phone()
    # When the change is asked for with the password, as before the step-up
    asked = start(target, token, attacker_phone, password=PASSWORD)
    # Then it is refused until the current phone is proven: nothing goes to the attacker
    assert asked.status_code == 401, asked.text
    assert asked.json()["code"] == "reauth_required"
    assert target.emulator.messages(attacker_phone, include_undelivered=True) == []
    # and the step-up's code goes to the victim's phone only, which the attacker lacks
    step_up = reauth_start(target, token)
    assert step_up.status_code == 200, step_up.text
    assert step_up.json()["factors"] == ["sms"]
    assert step_up.json()["phone_hint"] == mask_phone(victim.phone)
    assert target.emulator.messages(attacker_phone, include_undelivered=True) == []
    assert login_sends_code_to(target, victim, victim.phone)


def test_with_the_step_up_the_change_ends_every_other_session_and_tells_the_old_number(
    target: Target,
) -> None:
    # Given the owner signed in twice (another device), and steps up on one
    owner = seed_account(target.stack)
    token, other_device = signed_in(target, owner), signed_in(target, owner)
    new_phone = fresh_phone()
    flow_id = started(target, token, new_phone, owner)
    # When the new number is proven
    changed = verify(target, token, flow_id, target.code_for(new_phone))
    # Then the change holds and the caller gets a fresh token; every old one has ended
    assert changed.status_code == 200, changed.text
    fresh = changed.json()["token"]
    for ended in (token, other_device):
        again = start(target, ended, fresh_phone(), password=PASSWORD)
        assert again.status_code == 401
        assert again.json()["code"] == "unauthorized"
    assert reauth_start(target, fresh).status_code == 200
    # and the old number is told (the notice delivered from the outbox, as the local stack's
    # poller or the deployed stream would)
    target.stack.deliver_notices()
    assert target.emulator.notices(owner.phone) != []
    assert login_sends_code_to(target, owner, new_phone)


def test_a_reauth_token_of_another_account_or_session_or_expired_is_refused(
    target: Target,
) -> None:
    # Given the victim signed in on two devices, and the attacker with an account of their own
    victim, attacker = seed_account(target.stack), seed_account(target.stack)
    victim_token, victim_other = signed_in(target, victim), signed_in(target, victim)
    attacker_token = signed_in(target, attacker)
    attackers_reauth = stepped_up(target, attacker_token, attacker)
    other_sessions_reauth = stepped_up(target, victim_other, victim)
    # and one of the victim's own session, minted five minutes and one second ago
    claims = jwt.decode(victim_token, options={"verify_signature": False})
    past = FakeClock(claims["iat"] - 301)  # an injected clock: no waiting on the wall clock
    expired = ReauthTokenIssuer(
        target.signing_secret,
        issuer=claims["iss"],
        audience=claims["aud"],
        ttl_seconds=300,
        clock=past,
    ).issue(victim.user_id, claims["jti"], claims["gen"])
    forged = jwt.encode(
        {**jwt.decode(expired.token, options={"verify_signature": False}), "exp": 2**31},
        "not-our-secret-0123456789abcdef0123456789",
        algorithm="HS256",
    )
    attacker_phone = fresh_phone()
    # When each is sent with the victim's token
    answers = [
        start(target, victim_token, attacker_phone, reauth)
        for reauth in (attackers_reauth, other_sessions_reauth, expired.token, forged, victim_token)
    ]
    # Then every one is refused, and nothing goes to the attacker's number
    assert [(a.status_code, a.json()["code"]) for a in answers] == [(401, "reauth_required")] * 5
    assert target.emulator.messages(attacker_phone, include_undelivered=True) == []
    # while the victim's own, of this session, passes
    own = stepped_up(target, victim_token, victim)
    assert start(target, victim_token, fresh_phone(), own).status_code == 200


def test_a_stolen_token_without_the_password_gets_no_step_up_and_guesses_are_throttled(
    target: Target,
) -> None:
    # Given the attacker holds the victim's token, not the password
    victim = seed_account(target.stack)
    token = signed_in(target, victim)
    sent_before = len(target.emulator.messages(victim.phone, include_undelivered=True))
    # When the password is left out, or guessed
    missing = target.api.post("/account/reauth/start", json={}, headers=bearer(token))
    guesses = [reauth_start(target, token, f"guess {i}") for i in range(6)]
    # Then no code is sent, and guessing soon waits
    assert missing.status_code == 400
    assert missing.json()["field"] == "password"
    assert [g.status_code for g in guesses[:5]] == [401] * 5
    assert guesses[0].json()["field"] == "password"
    assert guesses[5].status_code == 429
    assert guesses[5].json()["code"] == "login_throttled"
    sent = target.emulator.messages(victim.phone, include_undelivered=True)
    assert len(sent) == sent_before
    # and the wait holds for the right password too (the same throttle as /login)
    assert reauth_start(target, token).status_code == 429


def test_without_a_token_or_with_a_forged_one_nothing_is_sent(target: Target) -> None:
    phone = fresh_phone()
    body = {"phone_number": phone, "password": PASSWORD}
    assert target.api.post("/account/phone/start", json=body).status_code == 401
    assert target.api.post("/account/reauth/start", json=body).status_code == 401
    forged = target.api.post(
        "/account/phone/start", json=body, headers=bearer("eyJhbGciOiJub25lIn0.e30.")
    )
    assert forged.status_code == 401
    assert target.emulator.messages(phone, include_undelivered=True) == []


def test_the_attackers_own_token_cannot_finish_the_victims_change(target: Target) -> None:
    # Given the victim started a change, and the attacker learnt its flow id and code
    victim, attacker = seed_account(target.stack), seed_account(target.stack)
    victim_token, attacker_token = signed_in(target, victim), signed_in(target, attacker)
    new_phone = fresh_phone()
    flow_id = started(target, victim_token, new_phone, victim)
    code = target.code_for(new_phone)
    # When the attacker verifies it, or asks for another code, with their own token
    stolen = verify(target, attacker_token, flow_id, code)
    resent = target.api.post(
        "/account/phone/resend", json={"flow_id": flow_id}, headers=bearer(attacker_token)
    )
    # Then it is no flow of theirs, neither account changed, and the victim still finishes
    assert stolen.status_code == 400
    assert stolen.json()["code"] == "no_pending_verification"
    assert resent.status_code == 400
    assert login_sends_code_to(target, attacker, attacker.phone)
    owner = verify(target, victim_token, flow_id, code)
    assert owner.status_code == 200, owner.text
    assert owner.json() == {
        "phone_changed": True,
        "phone_hint": mask_phone(new_phone),
        "added": False,
        "token": owner.json()["token"],
        "token_type": "Bearer",
        "expires_in": 3600,
    }
    assert login_sends_code_to(target, victim, new_phone)


def test_a_code_sent_to_the_old_number_opens_nothing(target: Target) -> None:
    # Given the attacker holds the old SIM: a login code sent to it before the change
    victim = seed_account(target.stack)
    token = signed_in(target, victim)
    pending_login = target.login(victim.email, PASSWORD)
    old_code = target.code_for(victim.phone)
    new_phone = fresh_phone()
    flow_id = started(target, token, new_phone, victim)
    # When the old number's code is typed into the change
    typed = verify(target, token, flow_id, old_code)
    # Then it is a wrong code for the new number
    assert typed.status_code == 401
    assert typed.json()["code"] == "invalid_code"
    # When the owner finishes, the login code sent to the old number opens nothing either
    assert verify(target, token, flow_id, target.code_for(new_phone)).status_code == 200
    late = target.api.post("/login/verify", json={"flow_id": pending_login, "code": old_code})
    assert late.status_code == 400
    assert late.json()["code"] == "no_pending_verification"
    status = target.api.get("/verify/status", params={"flow_id": pending_login})
    assert status.json()["status"] == "cancelled"


def test_two_changes_raced_on_one_account_leave_exactly_one_number(target: Target) -> None:
    # Given two changes started together, both codes in hand
    victim = seed_account(target.stack)
    token = signed_in(target, victim)
    phones = [fresh_phone(), fresh_phone()]
    flows = [started(target, token, phone, victim) for phone in phones]
    codes = [target.code_for(phone) for phone in phones]

    # When both are verified at once
    def finish(i: int) -> httpx.Response:
        with target.client() as api:
            body = {"flow_id": flows[i], "code": codes[i]}
            return api.post("/account/phone/verify", json=body, headers=bearer(token))

    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(finish, range(2)))
    # Then exactly one won (the other lost the race, or found its token ended by the winner);
    # the login code goes to that number only
    statuses = sorted(a.status_code for a in answers)
    assert statuses in ([200, 400], [200, 401]), [a.text for a in answers]
    winner = phones[[a.status_code for a in answers].index(200)]
    loser = phones[1 - phones.index(winner)]
    assert login_sends_code_to(target, victim, winner)
    assert not login_sends_code_to(target, victim, loser)


def test_two_accounts_raced_for_one_number_make_one_holder(target: Target) -> None:
    # Given two accounts (one without a phone) proving the same number
    first, second = seed_account(target.stack), seed_account(target.stack, with_phone=False)
    tokens = [signed_in(target, first), signed_in(target, second)]
    contested = fresh_phone()
    flows: list[str] = []
    codes: list[str] = []
    for token, account in zip(tokens, (first, second), strict=True):
        flows.append(started(target, token, contested, account))
        codes.append(target.code_for(contested))

    def finish(i: int) -> httpx.Response:
        with target.client() as api:
            body = {"flow_id": flows[i], "code": codes[i]}
            return api.post("/account/phone/verify", json=body, headers=bearer(tokens[i]))

    # When both verify at once
    with ThreadPoolExecutor(max_workers=2) as pool:
        answers = list(pool.map(finish, range(2)))
    # Then one holds the number, the other is told it is taken
    assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
    taken = next(a for a in answers if a.status_code == 409)
    assert taken.json()["code"] == "phone_taken"


def test_a_revoked_token_can_neither_start_nor_finish_a_change(target: Target) -> None:
    # Given a change started with a token the owner then logs out everywhere
    victim = seed_account(target.stack)
    token = signed_in(target, victim)
    new_phone = fresh_phone()
    reauth = stepped_up(target, token, victim)
    flow_id = started(target, token, new_phone, victim)
    code = target.code_for(new_phone)
    out = target.api.post("/logout", json={"all": True}, headers=bearer(token))
    assert out.status_code == 200, out.text
    # When the copy is used, with its reauth token
    again = start(target, token, fresh_phone(), reauth)
    finished = verify(target, token, flow_id, code)
    # Then
    assert again.status_code == 401
    assert finished.status_code == 401
    assert login_sends_code_to(target, victim, victim.phone)


def test_a_number_of_another_account_answers_phone_taken_only_after_its_code(
    target: Target,
) -> None:
    # Given the attacker probes whether a number has an account
    holder, prober = seed_account(target.stack), seed_account(target.stack)
    token = signed_in(target, prober)
    reauth = stepped_up(target, token, prober)
    free = start(target, token, fresh_phone(), reauth)
    probe = start(target, token, holder.phone, reauth)
    # Then start answers alike for a taken number and a free one
    assert (free.status_code, probe.status_code) == (200, 200)
    assert shape(free.json()) == shape(probe.json())
    flow_id = probe.json()["flow_id"]
    # and a wrong code says only that it is wrong
    wrong = verify(target, token, flow_id, wrong_code(target.code_for(holder.phone)))
    assert wrong.status_code == 401
    assert wrong.json()["code"] == "invalid_code"
    # Only the number's owner, who has its code, learns it is taken
    proven = verify(target, token, flow_id, target.code_for(holder.phone))
    assert proven.status_code == 409
    assert proven.json()["code"] == "phone_taken"
    assert login_sends_code_to(target, holder, holder.phone)


def shape(body: dict[str, Any]) -> dict[str, type]:
    return {key: type(value) for key, value in body.items()}


def test_the_owner_finds_every_step_of_a_change_in_the_audit_trail_and_no_secret(
    target: Target,
) -> None:
    # Given a wrong password at the step-up, then the step-up and a change to a new number
    victim = seed_account(target.stack)
    token = signed_in(target, victim)
    new_phone = fresh_phone()
    assert reauth_start(target, token, "a wrong guess").status_code == 401
    reauth = stepped_up(target, token, victim)
    flow_id = started(target, token, new_phone, victim)
    code = target.code_for(new_phone)
    assert verify(target, token, flow_id, code).status_code == 200
    # Then the trail tells the story, phones masked, without the password, code or token
    events = trail(target, victim.user_id)
    step_up = [e["event"] for e in reversed(events) if e["flow"] == "reauth"]
    assert step_up[:6] == [
        "password_rejected",
        "password_accepted",
        "sent",
        "accepted",
        "reauth_granted",
        "password_accepted",
    ]
    assert step_up.count("reauth_used") == 1
    change = [e for e in events if e["flow"] == "phone_change"]
    assert [e["event"] for e in reversed(change)] == ["sent", "accepted", "phone_changed"]
    assert change[0]["masked_phone"] == mask_phone(new_phone)
    assert change[0]["detail"] == {"old_phone": mask_phone(victim.phone)}
    stored = json.dumps(events)
    assert "a wrong guess" not in stored
    assert new_phone not in stored and victim.phone not in stored
    assert f'"{code}"' not in stored
    assert reauth not in stored and token not in stored
