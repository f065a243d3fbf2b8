"""Which numbers a code may be sent to: the country allow-list, non-geographic networks and
number types, at registration and again at every send."""

from __future__ import annotations

import phonenumbers
import pytest
from phonenumbers import PhoneNumberType

from phoneverify.config import CodeSettings, ConfigurationError, Settings
from phoneverify.domain.errors import (
    AccountPhoneNotAllowed,
    InvalidPhoneNumber,
    PhoneNotAllowed,
)
from phoneverify.domain.models import User
from phoneverify.domain.phones import DEFAULT_PHONE_POLICY, PhonePolicy, normalise_phone
from phoneverify.domain.regions import KNOWN_REGIONS
from phoneverify.flows.engine.challenges import Challenges
from phoneverify.flows.login import LoginFlow, SecondFactorRequired
from phoneverify.flows.registration import RegistrationFlow
from phoneverify.http.errors import error_body, status_of
from tests.support.builders import (
    ORIGIN,
    PASSWORD,
    LoginWorld,
    login_world,
    policy,
    registration_policy,
    sign_up_email,
)
from tests.support.settings import VALID

NOT_ALLOWED = {
    "error": "Phone number not allowed",
    "code": "phone_not_allowed",
    "field": "phone_number",
}
MOBILE_ONLY = {
    "error": "Phone number must be a mobile number",
    "code": "invalid_request",
    "field": "phone_number",
}


def e164(number: phonenumbers.PhoneNumber) -> str:
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def example(region: str, kind: int) -> str:
    number = phonenumbers.example_number_for_type(region, kind)
    assert number is not None, (region, kind)
    return e164(number)


def non_geographic(calling_code: int) -> str:
    number = phonenumbers.example_number_for_non_geo_entity(calling_code)
    assert number is not None, calling_code
    return e164(number)


@pytest.mark.parametrize(
    "typed",
    ["+14155550123", "+1 604 555 0123", "+44 7400 123456", "+49 151 12345678", "+33 6 12 34 56 78"],
)
def test_mobile_numbers_of_the_default_countries_are_accepted(typed: str) -> None:
    normalise_phone(typed, "US")


@pytest.mark.parametrize(
    "typed",
    [
        "+55 11 91234 5678",  # Brazil
        "+234 803 123 4567",  # Nigeria
        "+1 876 555 0123",  # Jamaica: +1, but not the US or Canada
        "+44 7911 123456",  # Guernsey: a +44 7 number, but not GB
    ],
)
def test_numbers_outside_the_allowed_countries_are_refused(typed: str) -> None:
    with pytest.raises(PhoneNotAllowed) as caught:
        normalise_phone(typed, "US")
    assert status_of(caught.value) == 400
    assert error_body(caught.value) == NOT_ALLOWED


@pytest.mark.parametrize("calling_code", [870, 881, 882, 883, 800, 808, 979])
def test_satellite_and_international_networks_are_refused_whatever_the_list(
    calling_code: int,
) -> None:
    number = non_geographic(calling_code)
    everything = PhonePolicy(frozenset(phonenumbers.SUPPORTED_REGIONS), allow_voip=True)
    with pytest.raises(PhoneNotAllowed):
        everything.ensure_allowed(number)
    with pytest.raises(PhoneNotAllowed):
        normalise_phone(number)


@pytest.mark.parametrize(
    ("region", "kind"),
    [
        ("GB", PhoneNumberType.PREMIUM_RATE),
        ("US", PhoneNumberType.PREMIUM_RATE),
        ("DE", PhoneNumberType.SHARED_COST),
        ("GB", PhoneNumberType.TOLL_FREE),
        ("US", PhoneNumberType.TOLL_FREE),
        ("GB", PhoneNumberType.UAN),
        ("DE", PhoneNumberType.VOICEMAIL),
        ("GB", PhoneNumberType.PAGER),
        ("GB", PhoneNumberType.PERSONAL_NUMBER),
        ("GB", PhoneNumberType.FIXED_LINE),
        ("GB", PhoneNumberType.VOIP),
    ],
)
def test_types_that_cannot_receive_a_code_are_refused(region: str, kind: int) -> None:
    with pytest.raises(InvalidPhoneNumber) as caught:
        normalise_phone(example(region, kind), region)
    assert error_body(caught.value) == MOBILE_ONLY


def test_voip_numbers_can_be_allowed() -> None:
    voip = example("GB", PhoneNumberType.VOIP)
    assert normalise_phone(voip, "GB", PhonePolicy(allow_voip=True)) == voip


def test_a_configured_list_replaces_the_default() -> None:
    us_and_brazil = PhonePolicy(frozenset({"US", "BR"}))
    assert normalise_phone("+55 11 91234 5678", "US", us_and_brazil) == "+5511912345678"
    with pytest.raises(PhoneNotAllowed):
        normalise_phone("+44 7400 123456", "US", us_and_brazil)


def test_settings_read_the_allowed_countries() -> None:
    code_env = {**VALID, "RATE_LIMITS_TABLE": "RateLimitsTable"}
    settings = CodeSettings.from_env({**code_env, "ALLOWED_COUNTRIES": " us, br ,"})
    assert settings.allowed_countries == ("US", "BR")
    defaults = CodeSettings.from_env(code_env).allowed_countries
    assert set(defaults) == DEFAULT_PHONE_POLICY.allowed_countries
    for wrong in ("US,XX", "USA", ","):
        with pytest.raises(ConfigurationError, match="ALLOWED_COUNTRIES"):
            CodeSettings.from_env({**code_env, "ALLOWED_COUNTRIES": wrong})
    with pytest.raises(ConfigurationError, match="DEFAULT_PHONE_REGION"):
        CodeSettings.from_env({**code_env, "DEFAULT_PHONE_REGION": "XX"})
    # Functions that read no phone number check only the form (they never load phonenumbers)
    for wrong in ("USA", ","):
        with pytest.raises(ConfigurationError, match="ALLOWED_COUNTRIES"):
            Settings.from_env({**VALID, "ALLOWED_COUNTRIES": wrong})


def test_the_regions_settings_are_checked_against_are_the_ones_phonenumbers_knows() -> None:
    # Settings check regions without loading phonenumbers (its snapshot in domain/regions.py)
    assert KNOWN_REGIONS == phonenumbers.SUPPORTED_REGIONS


# -- at registration and at every send -------------------------------------------------------
def test_registration_refuses_a_number_outside_the_configured_countries() -> None:
    world = login_world()
    us_only = PhonePolicy(frozenset({"US"}))
    challenges = Challenges(
        registration_policy(),
        store=world.store,
        sender=world.sender,
        flows=world.any_flow,
        audit=world.audit,
        clock=world.clock,
        phone_policy=us_only,
    )
    flow = RegistrationFlow(
        users=world.users,
        passwords=world.passwords,
        challenges=challenges,
        email=sign_up_email(world),
        tokens=world.tokens,
        clock=world.clock,
        phone_policy=us_only,
    )
    with pytest.raises(PhoneNotAllowed) as caught:
        flow.start("Ada", "ada@example.com", "+44 7400 123456", "analytical engine notes", ORIGIN)
    assert error_body(caught.value) == NOT_ALLOWED
    assert world.sender.outbox == []
    flow.start("Ada", "ada@example.com", "+1 415 555 0199", "analytical engine notes", ORIGIN)
    assert len(world.sender.outbox) == 1


def login_with_policy(world: LoginWorld, phone_policy: PhonePolicy) -> LoginFlow:
    challenges = Challenges(
        policy(),
        store=world.store,
        sender=world.sender,
        flows=world.any_flow,
        audit=world.audit,
        clock=world.clock,
        phone_policy=phone_policy,
    )
    return LoginFlow(
        users=world.users,
        passwords=world.passwords,
        challenges=challenges,
        audit=world.audit,
        tokens=world.tokens,
        throttle=world.throttle,
    )


def test_a_phone_stored_before_the_policy_changed_gets_no_code() -> None:
    # Given an account registered with a Brazilian number while Brazil was allowed
    world = login_world()
    world.users.put_user(
        User("u-br", "br@example.com", world.passwords.hash(PASSWORD), "+5511912345678")
    )
    # When it logs in under the default policy
    flow = login_with_policy(world, DEFAULT_PHONE_POLICY)
    with pytest.raises(AccountPhoneNotAllowed) as caught:
        flow.start("br@example.com", PASSWORD, ORIGIN)
    # Then 403: the number did not come with this request, so no field is named
    assert status_of(caught.value) == 403
    assert error_body(caught.value) == {
        "error": "Verification codes cannot be sent to the phone number on this account.",
        "code": "phone_not_allowed",
    }
    assert world.sender.outbox == []


def test_a_pending_flow_gets_no_more_codes_once_its_country_is_refused() -> None:
    world = login_world()
    started = world.flow.start("demo@example.com", PASSWORD, ORIGIN)
    assert isinstance(started, SecondFactorRequired)
    world.clock.advance(31)
    canada_only = login_with_policy(world, PhonePolicy(frozenset({"CA"})))
    with pytest.raises(AccountPhoneNotAllowed):
        canada_only.resend(started.challenge.flow_id, ORIGIN)
    assert len(world.sender.outbox) == 1
