"""The proof-of-work gate: the ALTCHA adapter (issue, verify once, expiry on the injected
clock), the gate's modes, and where the sign-up and the password reset pass through it."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from typing import Any

import pytest

from phoneverify.adapters.proof_of_work import MAX_PAYLOAD_CHARS, AltchaHumanCheck
from phoneverify.config import ConfigurationError, GateSettings, Settings
from phoneverify.domain.audit_events import VerificationEventType
from phoneverify.domain.errors import (
    ChallengeInvalid,
    ChallengeRequired,
    InvalidRequest,
    StorageUnavailable,
)
from phoneverify.domain.models import FlowKind, RequestOrigin
from phoneverify.email_config import EmailSettings, RegistrationSettings
from phoneverify.flows.engine.proof_of_work_gate import GateMode, ProofOfWorkGate, source_subject
from phoneverify.flows.password_reset import PasswordResetFlow
from phoneverify.flows.registration import RegistrationFlow
from phoneverify.http.errors import error_body, status_of
from phoneverify.http.requests import PasswordResetStartRequest, RegisterStartRequest
from phoneverify.runtime import Runtime
from tests.support.builders import (
    ORIGIN,
    PEPPER,
    LoginWorld,
    RegistrationWorld,
    password_reset_world,
    registration_world,
)
from tests.support.fakes import FakeClock, RecordingEvents
from tests.support.proofs import InMemorySpentProofs, payload_of, solve
from tests.support.settings import VALID

KEY = "a test key of the proof-of-work gate, 32+ bytes"
MAX_NUMBER = 2_000  # small: each test solves in a few milliseconds
FORM = ("Ada Lovelace", "ada@example.com", "+14155550199", "analytical engine notes")


class Checker:
    """An AltchaHumanCheck over an in-memory replay store and a clock the test moves."""

    def __init__(self, key: str = KEY, expires_secs: int = 300) -> None:
        self.clock = FakeClock()
        self.spent = InMemorySpentProofs()
        self.check = AltchaHumanCheck(
            lambda: key,
            self.spent,
            self.clock,
            max_number=MAX_NUMBER,
            expires_secs=expires_secs,
        )

    def solved(self) -> str:
        return solve(self.check.issue())


@pytest.fixture
def checker() -> Checker:
    return Checker()


def refusal(check: AltchaHumanCheck, payload: str) -> ChallengeInvalid:
    with pytest.raises(ChallengeInvalid) as caught:
        check.verify(payload)
    return caught.value


def b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


# -- the adapter: what it issues --------------------------------------------------------------
def test_a_challenge_is_altchas_json_signed_with_its_expiry_in_the_salt(checker: Checker) -> None:
    # When a challenge is issued
    issued = checker.check.issue()
    # Then it has ALTCHA's fields, SHA-256, the configured maxnumber
    assert set(issued) == {"algorithm", "challenge", "maxnumber", "salt", "signature"}
    assert issued["algorithm"] == "SHA-256" and issued["maxnumber"] == MAX_NUMBER
    # and its salt carries the expiry: now + 300 s on the injected clock
    assert issued["salt"].endswith(f"?expires={int(checker.clock.now()) + 300}&")
    # and two challenges never share a salt
    assert checker.check.issue()["salt"] != issued["salt"]


def test_a_short_hmac_key_is_refused() -> None:
    with pytest.raises(RuntimeError, match="32 bytes"):
        Checker(key="short").check.issue()


# -- the adapter: what it accepts -------------------------------------------------------------
def test_a_solved_challenge_is_accepted_once(checker: Checker) -> None:
    # Given a challenge solved as the page solves it
    payload = checker.solved()
    # When it is sent, it is accepted and spent
    checker.check.verify(payload)
    assert len(checker.spent.spent) == 1
    # Then the same solution again is refused as used
    again = refusal(checker.check, payload)
    assert (again.reason, again.code, again.extra["field"]) == (  # type: ignore[attr-defined]
        "replayed",
        "challenge_invalid",
        "altcha",
    )


def test_the_spent_item_lives_until_the_challenge_expires(checker: Checker) -> None:
    checker.check.verify(checker.solved())
    (expires_at,) = checker.spent.spent.values()
    assert expires_at == int(checker.clock.now()) + 300


def test_a_wrong_number_is_refused(checker: Checker) -> None:
    issued = checker.check.issue()
    right = json.loads(base64.b64decode(solve(issued)))["number"]
    found = refusal(checker.check, payload_of(issued, (right + 1) % (MAX_NUMBER + 1)))
    assert found.reason == "wrong_number"  # type: ignore[attr-defined]
    assert checker.spent.spent == {}  # nothing spent for a refusal


def test_a_challenge_signed_with_another_key_is_refused(checker: Checker) -> None:
    # Given a challenge the attacker made and solved with a key of their own
    forged = solve(Checker(key="the attacker's own key, 32 bytes or more").check.issue())
    # Then its signature does not check out
    assert refusal(checker.check, forged).reason == "forged"  # type: ignore[attr-defined]


def test_an_expiry_moved_in_the_salt_breaks_the_signature(checker: Checker) -> None:
    # Given a challenge whose salt is changed to expire a day later, re-hashed and re-solved
    issued = checker.check.issue()
    nonce, _, _ = issued["salt"].partition("?")
    salt = f"{nonce}?expires={int(checker.clock.now()) + 86_400}&"
    challenge = hashlib.sha256(f"{salt}7".encode()).hexdigest()
    moved = payload_of(issued, 7, salt=salt, challenge=challenge)
    # Then the server's signature is of the original challenge only
    assert refusal(checker.check, moved).reason == "forged"  # type: ignore[attr-defined]


def test_an_expired_challenge_is_refused_by_the_injected_clock(checker: Checker) -> None:
    # Given a challenge solved in time
    payload = checker.solved()
    # When it is sent 300 s after it was issued (the clock moved, not the wall clock)
    checker.clock.advance(300)
    # Then it is refused as expired, and nothing is spent
    found = refusal(checker.check, payload)
    assert found.reason == "expired" and "expired" in found.message  # type: ignore[attr-defined]
    assert checker.spent.spent == {}


def test_a_challenge_is_accepted_until_its_last_second(checker: Checker) -> None:
    payload = checker.solved()
    checker.clock.advance(299)
    checker.check.verify(payload)


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param("not base64!", id="not-base64"),
        pytest.param("YWJj", id="base64-not-json"),
        pytest.param(b64(b"\xff\xfe"), id="not-utf8"),
        pytest.param(b64(b"[1, 2]"), id="json-array"),
        pytest.param(b64(b'"text"'), id="json-string"),
        pytest.param(b64(b"{}"), id="no-fields"),
        pytest.param(b64(b"[" * 300 + b"]" * 300), id="nested-arrays"),
        pytest.param("A" * (MAX_PAYLOAD_CHARS + 4), id="oversized"),
        pytest.param("", id="empty"),
    ],
)
def test_malformed_payloads_are_refused(checker: Checker, payload: str) -> None:
    assert refusal(checker.check, payload).reason == "malformed"  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"algorithm": "SHA-1"}, id="another-algorithm"),
        pytest.param({"number": "7"}, id="number-as-string"),
        pytest.param({"number": True}, id="number-as-bool"),
        pytest.param({"number": -1}, id="negative-number"),
        pytest.param({"number": 10**40}, id="huge-number"),
        pytest.param({"number": 1.5}, id="fractional-number"),
        pytest.param({"signature": "ABC"}, id="signature-not-hex"),
        pytest.param({"challenge": None}, id="challenge-null"),
        pytest.param({"salt": ""}, id="empty-salt"),
        pytest.param({"salt": "x" * 300}, id="long-salt"),
    ],
)
def test_fields_of_the_wrong_type_or_size_are_refused(
    checker: Checker, changes: dict[str, Any]
) -> None:
    payload = payload_of(checker.check.issue(), 7, **changes)
    assert refusal(checker.check, payload).reason == "malformed"  # type: ignore[attr-defined]


def test_a_salt_without_exactly_one_expiry_is_refused(checker: Checker) -> None:
    # A salt the server would never issue, signed with the server's key (as if it had):
    # without an expiry it would be good forever, so it is refused.
    from altcha.v1 import hash_hex, hmac_hex

    for salt in ("abcdef&", "abcdef?expires=1&expires=9999999999&"):
        challenge = hash_hex("SHA-256", f"{salt}3".encode())
        signature = hmac_hex("SHA-256", challenge.encode(), KEY)
        issued = {"algorithm": "SHA-256", "challenge": challenge, "salt": salt}
        payload = payload_of({**issued, "signature": signature}, 3)
        assert refusal(checker.check, payload).reason == "no_expiry"  # type: ignore[attr-defined]


def test_a_storage_outage_is_not_an_acceptance(checker: Checker) -> None:
    payload = checker.solved()
    checker.spent.fail = True
    with pytest.raises(StorageUnavailable):
        checker.check.verify(payload)
    # and once storage is back, the solution (never spent) is still good once
    checker.spent.fail = False
    checker.check.verify(payload)


def test_a_refusal_answers_400_naming_altcha(checker: Checker) -> None:
    error = refusal(checker.check, "YWJj")
    assert status_of(error) == 400
    assert error_body(error) == {
        "error": "The challenge solution is invalid, expired or already used",
        "code": "challenge_invalid",
        "field": "altcha",
    }


# -- the gate's modes -------------------------------------------------------------------------
class SpyCheck:
    """A HumanCheck that records what it was asked, and refuses what `refuse` says."""

    def __init__(self, refuse: bool = False) -> None:
        self.verified: list[str] = []
        self.refuse = refuse

    def issue(self) -> dict[str, Any]:
        return {}

    def verify(self, payload: str) -> None:
        self.verified.append(payload)
        if self.refuse:
            raise ChallengeInvalid()


def gate(mode: GateMode, check: Any) -> tuple[ProofOfWorkGate, RecordingEvents]:
    events = RecordingEvents()
    return ProofOfWorkGate(mode, check, events, FakeClock()), events


def test_off_never_asks_and_never_reads_a_payload() -> None:
    spy = SpyCheck(refuse=True)
    off, events = gate(GateMode.OFF, spy)
    assert off.vouch(None, ORIGIN) is False
    assert off.vouch("anything", ORIGIN) is False
    assert spy.verified == [] and events.events == []
    assert off.mode is GateMode.OFF


@pytest.mark.parametrize("mode", [GateMode.ALWAYS, GateMode.RISKY])
def test_a_solved_challenge_vouches_in_always_and_risky(mode: GateMode) -> None:
    checker = Checker()
    on, events = gate(mode, checker.check)
    payload = checker.solved()
    assert on.vouch(payload, ORIGIN) is True
    assert events.events == []
    # and the same payload a second time is refused, audited
    with pytest.raises(ChallengeInvalid):
        on.vouch(payload, ORIGIN)
    assert [e.detail["reason"] for e in events.events] == ["replayed"]


def test_always_without_a_payload_asks_for_one_and_audits_it() -> None:
    always, events = gate(GateMode.ALWAYS, SpyCheck())
    with pytest.raises(ChallengeRequired) as caught:
        always.vouch(None, ORIGIN)
    assert status_of(caught.value) == 400
    assert error_body(caught.value)["code"] == "challenge_required"
    assert error_body(caught.value)["field"] == "altcha"
    (event,) = events.events
    assert event.type is VerificationEventType.CHALLENGE_REFUSED
    assert event.kind is FlowKind.FRAUD_GUARD
    assert event.detail == {"reason": "missing", "mode": "always"}
    assert event.subject == source_subject(ORIGIN) and ORIGIN.source_ip not in event.subject
    assert event.origin == ORIGIN


def test_risky_without_a_payload_leaves_it_to_the_send_guard() -> None:
    spy = SpyCheck()
    risky, events = gate(GateMode.RISKY, spy)
    assert risky.vouch(None, ORIGIN) is False
    assert spy.verified == [] and events.events == []


@pytest.mark.parametrize("mode", [GateMode.ALWAYS, GateMode.RISKY])
def test_an_invalid_payload_is_refused_and_audited_in_always_and_risky(mode: GateMode) -> None:
    on, events = gate(mode, Checker().check)
    with pytest.raises(ChallengeInvalid):
        on.vouch(b64(b"{}"), ORIGIN)
    assert events.types == ["challenge_refused"]
    assert events.events[0].detail["reason"] == "malformed"


def test_one_ipv6_subscriber_is_one_subject() -> None:
    a = RequestOrigin("2001:db8:1:2::1", "ua")
    b = RequestOrigin("2001:db8:1:2:ffff::9", "ua")
    assert source_subject(a) == source_subject(b) != source_subject(ORIGIN)


# -- the flows ---------------------------------------------------------------------------------
def vouches_of(challenges: Any, monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """What each `Challenges.open` was told about the request's proof of work."""
    seen: list[bool] = []
    opened: Callable[..., Any] = challenges.open

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs.get("vouched", False))
        return opened(*args, **kwargs)

    monkeypatch.setattr(challenges, "open", spy)
    return seen


def gated_registration(mode: GateMode) -> tuple[RegistrationWorld, RegistrationFlow, Checker]:
    world = registration_world()
    checker = Checker()
    flow = RegistrationFlow(
        users=world.users,
        passwords=world.passwords,
        challenges=world.flow._challenges,
        email=world.flow._email,
        tokens=world.tokens,
        clock=world.clock,
        gate=ProofOfWorkGate(mode, checker.check, world.events, world.clock),
    )
    return world, flow, checker


def hashes_of(world: RegistrationWorld | LoginWorld, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    hashed: list[str] = []
    hash_password = world.passwords.hash

    def spy(password: str) -> str:
        hashed.append(password)
        return hash_password(password)

    monkeypatch.setattr(world.passwords, "hash", spy)
    return hashed


def test_sign_up_in_always_mode_needs_a_solved_challenge_before_any_bcrypt(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    world, flow, checker = gated_registration(GateMode.ALWAYS)
    hashed = hashes_of(world, monkeypatch)
    vouched = vouches_of(flow._challenges, monkeypatch)
    # Without a solution: refused before the password is hashed, no code sent
    with pytest.raises(ChallengeRequired):
        flow.start(*FORM, ORIGIN)
    assert hashed == [] and world.sender.outbox == []
    # With one: the code goes out, and the challenges are told it was vouched for
    flow.start(*FORM, ORIGIN, proof=checker.solved())
    assert len(hashed) == 1 and len(world.sender.outbox) == 1
    assert vouched == [True]


def test_sign_up_checks_the_form_before_the_gate(monkeypatch: pytest.MonkeyPatch) -> None:
    # A typo in the form is told as such, and costs no solution
    _world, flow, checker = gated_registration(GateMode.ALWAYS)
    payload = checker.solved()
    with pytest.raises(InvalidRequest) as caught:
        flow.start(
            "Ada", "not an email", "+14155550199", "analytical engine notes", ORIGIN, None, payload
        )
    assert caught.value.extra["field"] == "email"
    assert checker.spent.spent == {}
    flow.start(*FORM, ORIGIN, proof=payload)


def test_sign_up_in_risky_mode_goes_on_without_a_solution_unvouched(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _world, flow, checker = gated_registration(GateMode.RISKY)
    vouched = vouches_of(flow._challenges, monkeypatch)
    flow.start(*FORM, ORIGIN)
    flow.start(FORM[0], "ada2@example.com", "+14155550198", FORM[3], ORIGIN, proof=checker.solved())
    assert vouched == [False, True]


def test_sign_up_with_a_used_solution_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    world, flow, checker = gated_registration(GateMode.RISKY)
    hashed = hashes_of(world, monkeypatch)
    payload = checker.solved()
    flow.start(*FORM, ORIGIN, proof=payload)
    with pytest.raises(ChallengeInvalid):
        flow.start(*FORM, ORIGIN, proof=payload)
    assert len(hashed) == 1 and len(world.sender.outbox) == 1


def test_without_a_gate_sign_up_is_unvouched(monkeypatch: pytest.MonkeyPatch) -> None:
    world = registration_world()
    vouched = vouches_of(world.flow._challenges, monkeypatch)
    world.flow.start(*FORM, ORIGIN, proof="ignored")
    assert vouched == [False]


def gated_reset(mode: GateMode) -> tuple[LoginWorld, PasswordResetFlow, Checker]:
    world, ungated = password_reset_world()
    checker = Checker()
    flow = PasswordResetFlow(
        users=world.users,
        passwords=world.passwords,
        challenges=ungated._challenges,
        audit=world.audit,
        throttle=world.throttle,
        clock=world.clock,
        pepper=lambda: PEPPER,
        notices=world.notices,
        gate=ProofOfWorkGate(mode, checker.check, world.events, world.clock),
    )
    return world, flow, checker


@pytest.mark.parametrize("email", ["demo@example.com", "nobody@example.com"])
def test_reset_in_always_mode_asks_first_and_alike_for_any_email(
    email: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    world, flow, checker = gated_reset(GateMode.ALWAYS)
    looked_up: list[str] = []
    find = world.users.find_by_email
    monkeypatch.setattr(world.users, "find_by_email", lambda e: looked_up.append(e) or find(e))
    vouched = vouches_of(flow._challenges, monkeypatch)
    # Without a solution: the same refusal, before the email is looked up
    with pytest.raises(ChallengeRequired):
        flow.start(email, ORIGIN)
    assert looked_up == [] and vouched == []
    # With one: a code (or its decoy), vouched for
    flow.start(email, ORIGIN, proof=checker.solved())
    assert vouched == [True]


def test_reset_in_risky_mode_goes_on_without_a_solution() -> None:
    world, flow, _ = gated_reset(GateMode.RISKY)
    flow.start("demo@example.com", ORIGIN)
    assert len(world.sender.outbox) == 1


# -- settings and wiring -----------------------------------------------------------------------
GATE_ENV = {
    **VALID,
    "RATE_LIMITS_TABLE": "RateLimitsTable",
    "ALTCHA_HMAC_KEY_PARAM": "/phone-verify/dev/altcha-hmac-key",
    "EMAIL_SENDER_ADDRESS": "no-reply@example.com",
}


def test_the_gates_settings_and_their_defaults() -> None:
    settings = GateSettings.from_env(GATE_ENV)
    assert settings.challenge_mode == "risky"
    assert (settings.challenge_max_number, settings.challenge_expires_secs) == (50_000, 300)
    assert Settings.from_env(VALID).challenge_mode == "risky"
    with pytest.raises(ConfigurationError, match="ALTCHA_HMAC_KEY_PARAM"):
        GateSettings.from_env({**GATE_ENV, "ALTCHA_HMAC_KEY_PARAM": ""})
    for bad in ({"CHALLENGE_MODE": "sometimes"}, {"CHALLENGE_MAX_NUMBER": "10"}):
        with pytest.raises(ConfigurationError, match=next(iter(bad))):
            GateSettings.from_env({**GATE_ENV, **bad})


def test_the_runtime_builds_the_gate_from_settings() -> None:
    env = {**GATE_ENV, "CHALLENGE_MODE": "always", "CHALLENGE_MAX_NUMBER": "50000"}
    settings = RegistrationSettings.from_env(env)
    runtime = Runtime(settings, dynamodb=object())  # type: ignore[arg-type]
    assert runtime.pow_gate.mode is GateMode.ALWAYS
    assert isinstance(runtime.human_check, AltchaHumanCheck)
    assert runtime.human_check.max_number == 50_000
    assert runtime.registration_flow._gate is runtime.pow_gate
    assert runtime.password_reset_flow._gate is runtime.pow_gate


def test_functions_without_the_gates_settings_build_their_flows_without_it() -> None:
    # /register/verify and /register/resend never call start: no key, no gate
    runtime = Runtime(EmailSettings.from_env(GATE_ENV), dynamodb=object())  # type: ignore[arg-type]
    assert runtime.registration_flow._gate is None
    with pytest.raises(ConfigurationError, match="ALTCHA_HMAC_KEY_PARAM"):
        _ = runtime.human_check


# -- the request field -------------------------------------------------------------------------
@pytest.mark.parametrize("model", [RegisterStartRequest, PasswordResetStartRequest])
def test_the_altcha_field_is_optional_bounded_base64(model: type[Any]) -> None:
    base = {"email": "ada@example.com"}
    if model is RegisterStartRequest:  # the sign-up form's four fields are required
        base |= {"name": "Ada", "phone_number": "+14155550187", "password": "analytical 1843"}
    assert model.model_validate(base).altcha is None
    assert model.model_validate({**base, "altcha": "eyJhIjoxfQ=="}).altcha == "eyJhIjoxfQ=="
    for bad in ("not base64!", "A" * 1025, "", 12):
        with pytest.raises(ValueError, match="altcha"):
            model.model_validate({**base, "altcha": bad})
