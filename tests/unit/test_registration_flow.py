"""Registration with phone proof, driven through RegistrationFlow with in-memory adapters."""

from __future__ import annotations

from typing import Any

import pytest

from phoneverify.domain.email_limits import EmailCaps
from phoneverify.domain.errors import (
    CodeDeliveryFailed,
    DomainError,
    EmailAlreadyRegistered,
    InvalidCode,
    InvalidRequest,
    NoPendingVerification,
    PhoneAlreadyRegistered,
    SendLimitReached,
    TooManyAttempts,
    VerificationExpired,
)
from phoneverify.flows.login import SecondFactorRequired
from phoneverify.flows.registration import PHONE_HAS_ACCOUNT, Registered
from phoneverify.http.errors import error_body, status_of
from tests.support.answers import answer
from tests.support.builders import ORIGIN, PHONE, RegistrationWorld, registration_world

NEW_PHONE = "+14155550199"
ADA = "ada@example.com"
NEW_PASSWORD = "analytical engine notes"
FORM = {
    "name": "Ada Lovelace",
    "email": "ada@example.com",
    "phone_number": "+1 415-555-0199",
    "password": NEW_PASSWORD,
}


@pytest.fixture
def world() -> RegistrationWorld:
    return registration_world()


def start(world: RegistrationWorld, **changes: Any) -> str:
    form = {**FORM, **changes}
    started = world.flow.start(
        form["name"], form["email"], form["phone_number"], form["password"], ORIGIN
    )
    flow_id: str = answer(started)["flow_id"]
    return flow_id


def refusal(world: RegistrationWorld, **changes: Any) -> DomainError:
    with pytest.raises(DomainError) as caught:
        start(world, **changes)
    return caught.value


def register(world: RegistrationWorld, **changes: Any) -> Registered:
    flow_id = start(world, **changes)
    record = world.store.items[next(reversed(world.store.items))]
    code = world.sender.last_code(record.phone_number)
    return verify(world, flow_id, code, record.data["email"])


def verify(world: RegistrationWorld, flow_id: str, code: str, email: str = ADA) -> Registered:
    """Verify with `code` and the last email code sent to `email`."""
    return world.flow.verify(flow_id, code, world.email_code(email), ORIGIN)


# -- start: the form --------------------------------------------------------------------------
def test_start_sends_a_code_and_answers_with_the_contract_fields(world: RegistrationWorld) -> None:
    # When
    started = world.flow.start("Ada", "ada@example.com", "(415) 555-0199", NEW_PASSWORD, ORIGIN)
    # Then
    body = answer(started)
    assert body["verification_sent"] is True
    assert body["phone_hint"] == "+1******0199"
    assert (body["timeout_secs"], body["code_length"], body["resend_after_secs"]) == (600, 6, 30)
    assert len(body["flow_id"]) >= 22
    assert [phone for phone, _, _ in world.sender.outbox] == [NEW_PHONE]


@pytest.mark.parametrize(
    ("missing", "field"),
    [
        ({"name": None}, "name"),
        ({"name": "   "}, "name"),
        ({"email": ""}, "email"),
        ({"email": None, "password": None}, "email"),
        ({"phone_number": None}, "phone_number"),
        ({"password": ""}, "password"),
        ({"name": None, "email": None, "phone_number": None, "password": None}, "name"),
    ],
)
def test_a_missing_field_is_named_with_all_fields_required(
    world: RegistrationWorld, missing: dict[str, Any], field: str
) -> None:
    error = refusal(world, **missing)
    assert isinstance(error, InvalidRequest)
    assert (status_of(error), error_body(error)) == (
        400,
        {"error": "All fields required", "code": "invalid_request", "field": field},
    )
    assert world.sender.outbox == []


@pytest.mark.parametrize(
    "email",
    [
        "ada",
        "ada@",
        "@example.com",
        "ada@example",
        "ada@@example.com",
        "ada lovelace@example.com",
        "ada..l@example.com",
        ".ada@example.com",
        "ada@-example.com",
        "ada@example.c0m",
        "a" * 65 + "@example.com",
        "ada@" + "a" * 250 + ".com",
    ],
)
def test_an_implausible_email_is_refused(world: RegistrationWorld, email: str) -> None:
    error = refusal(world, email=email)
    assert (status_of(error), error_body(error)) == (
        400,
        {"error": "Invalid email address", "code": "invalid_request", "field": "email"},
    )


def test_the_email_is_kept_in_lower_case(world: RegistrationWorld) -> None:
    registered = register(world, email="  Ada.Lovelace+Notes@Example.COM ")
    user = world.users.find_by_email("ada.lovelace+notes@example.com")
    assert user is not None and user.user_id == registered.user_id


@pytest.mark.parametrize(
    ("phone", "message"),
    [
        ("+1 800 555 0123", "Phone number must be a mobile number"),
        ("+44 20 7946 0958", "Phone number must be a mobile number"),
        ("555-0123", "Invalid phone number"),
        ("not a phone", "Invalid phone number"),
    ],
)
def test_a_number_a_code_cannot_reach_is_refused(
    world: RegistrationWorld, phone: str, message: str
) -> None:
    error = refusal(world, phone_number=phone)
    assert (status_of(error), error_body(error)["field"], error_body(error)["error"]) == (
        400,
        "phone_number",
        message,
    )
    assert world.sender.outbox == []


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("tiny", "Password must be at least 8 characters"),
        ("password1", "This password is too common. Please choose another."),
        ("ADA@EXAMPLE.COM", "Password must not be your email address or name"),
        ("ada lovelace", "Password must not be your email address or name"),
    ],
)
def test_a_weak_password_is_refused(world: RegistrationWorld, password: str, message: str) -> None:
    error = refusal(world, password=password)
    assert (status_of(error), error_body(error)["field"], error_body(error)["error"]) == (
        400,
        "password",
        message,
    )


def test_a_long_passphrase_is_accepted(world: RegistrationWorld) -> None:
    passphrase = "my very long passphrase about the analytical engine " * 4  # 200+ characters
    registered = register(world, password=passphrase)
    result = world.login.start("ada@example.com", passphrase, ORIGIN)
    assert isinstance(result, SecondFactorRequired)
    assert registered.user_id


# -- already registered: start tells nothing, verify answers the prover ------------------------
TAKEN = {
    "email": {"email": " DEMO@Example.com"},
    "phone": {"phone_number": "(415) 555-0123"},
    "both": {"email": "demo@example.com", "phone_number": PHONE},
}


@pytest.mark.parametrize("taken", TAKEN.values(), ids=TAKEN.keys())
def test_start_with_a_registered_email_or_phone_answers_like_a_fresh_one(
    world: RegistrationWorld, taken: dict[str, str]
) -> None:
    # Given a fresh sign-up as the reference
    fresh = answer(world.flow.start(*FORM.values(), ORIGIN))
    # When someone signs up with an email or phone that already has an account
    form = {**FORM, **taken}
    probed = answer(world.flow.start(*form.values(), ORIGIN))
    # Then the answer has the same fields and values, flow id aside
    assert set(probed) == set(fresh)
    hints = ("flow_id", "phone_hint", "email_hint")
    assert {k: v for k, v in probed.items() if k not in hints} == {
        k: v for k, v in fresh.items() if k not in hints
    }
    # and a code went to the number given, as for anyone
    assert world.sender.outbox[-1][0] == (PHONE if "phone_number" in taken else NEW_PHONE)


def test_a_taken_email_gets_its_owner_a_notice_and_the_registrant_a_wrong_code(
    world: RegistrationWorld,
) -> None:
    # Given a sign-up with the email of an existing account and a phone of the registrant's
    demo = world.users.find_by_email("demo@example.com")
    flow_id = start(world, email=" DEMO@Example.com")
    # Then the owner got a notice, and no code
    (subject,) = world.emails.to("demo@example.com")
    assert "someone tried" in subject
    with pytest.raises(AssertionError, match="no code"):
        world.email_code("demo@example.com")
    # When the registrant enters the right SMS code with any email code
    for guess in ("000000", "123456"):
        with pytest.raises(InvalidCode) as caught:
            world.flow.verify(flow_id, world.sender.last_code(NEW_PHONE), guess, ORIGIN)
        # Then it fails exactly as a wrong email code does: 401, an attempt spent
        assert status_of(caught.value) == 401
        assert error_body(caught.value) == {
            "error": "Invalid code",
            "code": "invalid_code",
            "response_code": "rejected",
            "attempts_remaining": error_body(caught.value)["attempts_remaining"],
        }
    assert error_body(caught.value)["attempts_remaining"] == 3
    # and the existing account is untouched, and no other was made
    assert world.users.find_by_email("demo@example.com") == demo


def test_the_owner_hears_of_attempts_on_their_address_once_a_day(world: RegistrationWorld) -> None:
    # Given three sign-ups with a registered email in one day
    for _ in range(3):
        start(world, email="demo@example.com")
        world.clock.advance(3_600)
    # Then its owner got one notice, and the other two attempts paused as long as a send
    assert len(world.emails.to("demo@example.com")) == 1
    # When the next day comes
    world.clock.advance(86_400)
    start(world, email="demo@example.com")
    # Then the owner hears of it again
    assert len(world.emails.to("demo@example.com")) == 2


def test_a_taken_email_costs_the_same_work_as_a_fresh_one(world: RegistrationWorld) -> None:
    # Given a fresh sign-up as the reference
    start(world, email="fresh@example.com")
    fresh = (len(world.emails.outbox), len(world.email_limits.tried), len(world.pauses))
    # When one with a registered email starts, on its first and on a later attempt of the day
    start(world, email="demo@example.com", phone_number="+14155550177")
    first = (len(world.emails.outbox), len(world.email_limits.tried), len(world.pauses))
    start(world, email="demo@example.com", phone_number="+14155550166")
    later = (len(world.emails.outbox), len(world.email_limits.tried), len(world.pauses))
    # Then each made one email (the later one: a pause as long as one) and one mark of the
    # day, as the fresh one did
    assert fresh == (1, 1, 0)
    assert first == (2, 2, 0)
    assert later == (2, 2, 1)
    assert world.pauses == [pytest.approx(0.01)]  # as long as the notice's send took


def test_verify_tells_the_prover_of_a_taken_phone_to_sign_in(world: RegistrationWorld) -> None:
    # Given a sign-up with a fresh email and the phone of an existing account
    demo = world.users.find_by_email("demo@example.com")
    flow_id = start(world, phone_number="(415) 555-0123")
    # When both codes are entered
    with pytest.raises(PhoneAlreadyRegistered) as caught:
        verify(world, flow_id, world.sender.last_code(PHONE))
    # Then a 409 says the phone is taken: the prover owns it, so: sign in
    assert (status_of(caught.value), error_body(caught.value)["code"]) == (409, "phone_taken")
    assert error_body(caught.value)["error"] == PHONE_HAS_ACCOUNT
    # and the existing account is untouched, no other was made, and the sign-up is over
    assert world.users.find_by_phone(PHONE) == demo
    assert world.users.find_by_email(ADA) is None
    with pytest.raises(NoPendingVerification):
        verify(world, flow_id, world.sender.last_code(PHONE))


def test_a_wrong_email_code_is_a_wrong_code_and_the_sms_code_stays_good(
    world: RegistrationWorld,
) -> None:
    # Given a sign-up
    flow_id = start(world)
    sms = world.sender.last_code(NEW_PHONE)
    wrong_email = "".join(str((int(d) + 1) % 10) for d in world.email_code(ADA))
    # When the SMS code is right and the email code wrong
    with pytest.raises(InvalidCode) as caught:
        world.flow.verify(flow_id, sms, wrong_email, ORIGIN)
    # Then it is a wrong code (an attempt spent), and the provider was not asked
    assert error_body(caught.value)["attempts_remaining"] == 4
    assert world.sender.checks == []
    # and both right codes then create the account
    assert verify(world, flow_id, sms).user_id


def test_an_email_code_of_the_wrong_length_is_named(world: RegistrationWorld) -> None:
    flow_id = start(world)
    with pytest.raises(InvalidRequest) as caught:
        world.flow.verify(flow_id, world.sender.last_code(NEW_PHONE), "12345", ORIGIN)
    assert error_body(caught.value)["field"] == "email_code"


def test_email_failing_at_start_leaves_nothing_behind_and_counts_nothing(
    world: RegistrationWorld,
) -> None:
    # Given SES refusing
    world.emails.fail = True
    # When
    with pytest.raises(CodeDeliveryFailed):
        start(world)
    # Then no flow, no SMS, and the limits got their counts back
    assert world.store.items == {}
    assert world.sender.outbox == []
    assert set(world.email_limits.counts.values()) == {0}
    assert set(world.limits.counts.values()) == {0}


def test_the_email_limits_refuse_before_any_sms_goes(world: RegistrationWorld) -> None:
    # Given the address's email cap reached
    world.email_limits.caps = EmailCaps(per_address=2, per_ip=100, budget=100)
    start(world)
    start(world)
    # When
    with pytest.raises(SendLimitReached):
        start(world)
    # Then the third sent nothing, and counted nothing in the SMS limits
    assert len(world.sender.outbox) == 2
    assert len(world.emails.outbox) == 2


# -- the pending registration ------------------------------------------------------------------
def test_no_account_exists_until_the_code_is_accepted(world: RegistrationWorld) -> None:
    # Given
    flow_id = start(world)
    # Then: nothing to log in to yet
    assert world.users.find_by_email("ada@example.com") is None
    assert world.users.find_by_phone(NEW_PHONE) is None
    # When
    with pytest.raises(InvalidCode):
        verify(world, flow_id, world.sender.wrong_code(NEW_PHONE))
    # Then: still nothing
    assert world.users.find_by_email("ada@example.com") is None


def test_the_store_holds_a_hash_of_the_password_never_the_password(
    world: RegistrationWorld,
) -> None:
    # When
    start(world)
    # Then
    (record,) = world.store.items.values()
    assert NEW_PASSWORD not in repr(world.store.items)
    assert set(record.data) == {"name", "email", "password_hash", "email_code"}
    assert world.email_code(ADA) not in repr(world.store.items)
    assert all(isinstance(value, str) for value in record.data.values())
    assert world.passwords.verify(NEW_PASSWORD, record.data["password_hash"])


def test_the_right_code_creates_the_account_with_its_phone_verified(
    world: RegistrationWorld,
) -> None:
    # Given
    flow_id = start(world)
    world.clock.advance(42)
    # When
    registered = verify(world, flow_id, world.sender.last_code(NEW_PHONE))
    # Then
    body = answer(registered)
    assert set(body) == {"user_id", "token", "token_type", "expires_in"}
    assert world.tokens.decode_access_token(body["token"])["sub"] == body["user_id"]
    user = world.users.find_by_email("ada@example.com")
    assert user is not None
    assert (user.user_id, user.phone_number, user.name) == (
        body["user_id"],
        NEW_PHONE,
        "Ada Lovelace",
    )
    assert world.users.phone_verified_at[user.user_id] == world.clock.now()
    # and the pending data, hash included, is gone from the store
    (record,) = world.store.items.values()
    assert record.data == {}
    # and the flow is single use
    with pytest.raises(NoPendingVerification):
        verify(world, flow_id, world.sender.last_code(NEW_PHONE))


def test_the_new_account_logs_in_with_a_code_to_its_new_phone(world: RegistrationWorld) -> None:
    # Given
    registered = register(world)
    # When
    result = world.login.start("ada@example.com", NEW_PASSWORD, ORIGIN)
    # Then
    assert isinstance(result, SecondFactorRequired)
    assert world.sender.outbox[-1][0] == NEW_PHONE
    token = world.login.verify(result.challenge.flow_id, world.sender.last_code(NEW_PHONE), ORIGIN)
    assert world.tokens.decode_access_token(token.token)["sub"] == registered.user_id


def test_lockout_closes_the_registration_and_drops_its_data(world: RegistrationWorld) -> None:
    # Given
    flow_id = start(world)
    wrong = world.sender.wrong_code(NEW_PHONE)
    for _ in range(4):
        with pytest.raises(InvalidCode):
            verify(world, flow_id, wrong)
    # When
    with pytest.raises(TooManyAttempts) as caught:
        verify(world, flow_id, wrong)
    # Then
    assert error_body(caught.value)["error"] == (
        "Too many attempts. Please start the registration again."
    )
    (record,) = world.store.items.values()
    assert record.data == {}
    with pytest.raises(TooManyAttempts):
        verify(world, flow_id, world.sender.last_code(NEW_PHONE))
    assert world.users.find_by_email("ada@example.com") is None


def test_resend_replaces_the_code_with_a_fresh_ten_minutes(world: RegistrationWorld) -> None:
    # Given
    flow_id = start(world)
    old_code = world.sender.last_code(NEW_PHONE)
    world.clock.advance(30)
    # When
    resent = world.flow.resend(flow_id, ORIGIN)
    world.clock.advance(590)
    # Then
    assert answer(resent) == {
        "message": "Code resent",
        "timeout_secs": 600,
        "resend_after_secs": 30,
        "channel": "sms",
    }
    with pytest.raises(InvalidCode):
        verify(world, flow_id, old_code)
    assert verify(world, flow_id, world.sender.last_code(NEW_PHONE)).user_id


def test_an_expired_registration_is_over_resend_included(world: RegistrationWorld) -> None:
    # Given: the password hash is kept no longer than the code (no retention after expiry)
    flow_id = start(world)
    code = world.sender.last_code(NEW_PHONE)
    # When
    world.clock.advance(600)
    # Then the code is refused as expired (410), and no resend can revive the flow
    with pytest.raises(VerificationExpired) as expired:
        verify(world, flow_id, code)
    assert status_of(expired.value) == 410
    assert error_body(expired.value)["error"] == "Verification expired. Start registration again."
    with pytest.raises(NoPendingVerification) as resend:
        world.flow.resend(flow_id, ORIGIN)
    assert error_body(resend.value)["error"] == "No pending verification. Start registration again."
    assert world.users.find_by_email("ada@example.com") is None


def test_telnyx_failing_at_start_leaves_nothing_behind(world: RegistrationWorld) -> None:
    # Given
    world.sender.fail_sends = 1
    # When
    with pytest.raises(CodeDeliveryFailed):
        start(world)
    # Then
    assert world.store.items == {}
    assert world.users.find_by_email("ada@example.com") is None


# -- flows of other kinds, and races -----------------------------------------------------------
def test_a_registration_flow_id_does_not_complete_a_login(world: RegistrationWorld) -> None:
    # Given
    flow_id = start(world)
    # When / Then
    with pytest.raises(NoPendingVerification) as caught:
        world.login.verify(flow_id, world.sender.last_code(NEW_PHONE), ORIGIN)
    assert error_body(caught.value)["error"] == "No pending verification. Start login again."
    assert world.users.find_by_email("ada@example.com") is None


def test_a_login_flow_id_does_not_complete_a_registration(world: RegistrationWorld) -> None:
    # Given
    login = world.login.start("demo@example.com", "correct horse battery staple", ORIGIN)
    assert isinstance(login, SecondFactorRequired)
    # When / Then
    with pytest.raises(NoPendingVerification) as caught:
        world.flow.verify(login.challenge.flow_id, world.sender.last_code(PHONE), "000000", ORIGIN)
    assert error_body(caught.value)["error"] == "No pending verification. Start registration again."
    with pytest.raises(NoPendingVerification):
        world.flow.resend(login.challenge.flow_id, ORIGIN)


@pytest.mark.parametrize(
    ("second", "error"),
    [
        ({"phone_number": "+14155550188"}, EmailAlreadyRegistered),
        ({"email": "ada.l@example.com"}, PhoneAlreadyRegistered),
    ],
    ids=["same-email", "same-phone"],
)
def test_of_two_pending_registrations_for_one_email_or_phone_the_first_code_wins(
    world: RegistrationWorld, second: dict[str, str], error: type[DomainError]
) -> None:
    # Given two pending registrations for one email or phone, neither account written yet
    first_flow = start(world)
    first = (world.sender.last_code(NEW_PHONE), world.email_code(ADA))
    second_flow = start(world, **second)
    second_email = {**FORM, **second}["email"]
    second = (world.sender.outbox[-1][2], world.email_code(second_email))
    # When
    world.flow.verify(first_flow, *first, ORIGIN)
    # Then
    with pytest.raises(error) as caught:
        world.flow.verify(second_flow, *second, ORIGIN)
    assert status_of(caught.value) == 409
    with pytest.raises(NoPendingVerification):
        world.flow.verify(second_flow, *second, ORIGIN)


def test_events_name_the_new_account_and_never_carry_secrets(world: RegistrationWorld) -> None:
    # Given
    flow_id = start(world)
    code = world.sender.last_code(NEW_PHONE)
    # When
    registered = verify(world, flow_id, code)
    # Then
    assert world.events.types == ["sent", "accepted"]
    assert {event.kind.value for event in world.events.events} == {"registration"}
    assert {event.subject for event in world.events.events} == {registered.user_id}
    assert {event.origin for event in world.events.events} == {ORIGIN}
    text = repr(world.events.events)
    for secret in (code, NEW_PASSWORD, NEW_PHONE, "ada@example.com", "$2b$"):
        assert secret not in text
