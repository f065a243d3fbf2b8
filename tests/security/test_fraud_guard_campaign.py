"""The SMS-pumping campaign of `make bench` (benchmarks/campaign.py), at small scale through
the whole stack: forty addresses pumping sign-up codes to two prefixes with the SMS budget at
60 and every other limit at the template's defaults, while real people sign in, pay, reset a
password and sign up elsewhere in the country. Nobody's sign-in may be switched off by it.

The figures are counts: the codes the Telnyx emulator sent and the answers each request got.
"""

from __future__ import annotations

import pytest

from benchmarks.campaign import (
    ATTACKED_PREFIXES,
    LOGIN,
    OTHER_PREFIXES,
    PAYMENT,
    QUICK,
    RESET,
    SIGN_UP,
    CampaignResult,
    run_campaign,
)
from devtools.local_stack.stack import LocalStack


@pytest.fixture(scope="module")
def campaign(security_stack: LocalStack) -> CampaignResult:
    return run_campaign(security_stack, QUICK)


def test_the_campaign_ran_as_planned(campaign: CampaignResult) -> None:
    # Forty addresses, each asking twice; every legitimate action was tried
    assert sum(campaign.asked.values()) == QUICK.attack_requests == 80
    assert all(campaign.asked[prefix] == 40 for prefix in ATTACKED_PREFIXES)
    assert campaign.legit[LOGIN].attempted == QUICK.rounds * QUICK.logins
    assert campaign.legit[SIGN_UP].attempted == QUICK.rounds * QUICK.sign_ups


def test_no_login_payment_or_reset_code_is_refused(campaign: CampaignResult) -> None:
    for flow in (LOGIN, PAYMENT, RESET):
        tally = campaign.legit[flow]
        assert tally.refusals == 0, campaign.summary()
        assert tally.completed == tally.attempted


def test_no_sign_up_outside_the_attacked_prefixes_is_refused(campaign: CampaignResult) -> None:
    assert campaign.legit[SIGN_UP].refusals == 0, campaign.summary()
    assert campaign.legit[SIGN_UP].completed == QUICK.rounds * QUICK.sign_ups
    # and neither of their prefixes was held
    assert not any(prefix in held for held in campaign.held for prefix in OTHER_PREFIXES)


def test_the_attacker_gets_at_most_thirty_codes_per_prefix(campaign: CampaignResult) -> None:
    for prefix in ATTACKED_PREFIXES:
        assert campaign.codes[prefix] <= 30, campaign.summary()


def test_the_attacked_prefixes_are_held(campaign: CampaignResult) -> None:
    for prefix in ATTACKED_PREFIXES:
        assert f"prefix#{prefix}" in campaign.held, campaign.summary()
    # one campaign on two prefixes holds no country
    assert not any(held.startswith("country#") for held in campaign.held), campaign.summary()


def test_the_tier_serving_login_never_opens_its_breaker(campaign: CampaignResult) -> None:
    assert not campaign.breaker_opened("verified"), campaign.summary()
