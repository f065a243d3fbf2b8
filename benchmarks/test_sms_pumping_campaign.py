"""Issue 17's SMS-pumping campaign (benchmarks/campaign.py) against a local stack on DynamoDB
Local: the full run (`make bench`) writes its figures to docs/benchmarks.md, the quick one
(`make test`) replays it at small scale; both check the issue's criteria, which are counts."""

from __future__ import annotations

import pytest

from benchmarks.campaign import FULL, QUICK, CampaignResult, run_campaign
from benchmarks.report import Report
from devtools.local_stack.stack import LocalStack


@pytest.fixture(scope="session")
def campaign(quick: bool, report: Report, bench_stack: LocalStack) -> CampaignResult:
    result = run_campaign(bench_stack, QUICK if quick else FULL)
    report.campaign = result
    return result


def test_forty_addresses_pump_two_prefixes(campaign: CampaignResult) -> None:
    plan = campaign.plan
    assert plan.attackers >= 40
    assert sum(campaign.asked.values()) == plan.attack_requests


def test_a_pumping_campaign_switches_off_nobodys_sign_in(campaign: CampaignResult) -> None:
    failed = [name for name, holds in campaign.done_when().items() if not holds]
    assert not failed, f"{failed}\n{campaign.summary()}"
