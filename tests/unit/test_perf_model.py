"""The latency and cost model's arithmetic on known inputs, and the template's memory per
function held to the model's choice from the committed measurements
(devtools/perf_model/measured.json, written by `make bench`; docs/performance.md)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from devtools.aws_resources import load_template
from devtools.perf_model import capacity, report
from devtools.perf_model.model import (
    JOURNEYS,
    LIGHT,
    PARAMETERS,
    Measured,
    choose_memory,
    journey_costs,
    keeps,
    lambda_usd,
    latency_ms,
    load,
    memories,
    parameter_memory,
    parameter_of,
    request_costs,
    template_memory,
)
from devtools.perf_model.prices import PRICES, Assumptions

ROOT = Path(__file__).resolve().parents[2]
A = Assumptions()
# A login as the issue states it: 200 ms of bcrypt, 7 DynamoDB calls, one Telnyx call.
LOGIN = Measured("login", cpu_ms=200.0, dynamodb=7, ssm=3, telnyx=1, telnyx_sends=1)
READ = Measured("account_get", cpu_ms=2.0, dynamodb=1, ssm=0, telnyx=0, read_units=0.5)


def test_latency_is_cpu_on_its_share_of_a_vcpu_plus_the_round_trips() -> None:
    assert latency_ms(LOGIN, 1769) == pytest.approx(200 + 7 * 5 + 100)
    assert latency_ms(LOGIN, 512) == pytest.approx(200 * 1769 / 512 + 135)  # 0.69 s of bcrypt
    assert latency_ms(LOGIN, 3538) == latency_ms(LOGIN, 1769)  # one thread: no gain above
    assert latency_ms(LOGIN, 1769, cold=True) == pytest.approx(335 + 3 * 10)


def test_lambda_bills_the_whole_duration_at_the_memory() -> None:
    gb_s = PRICES["lambda_gb_s_arm64"].usd
    assert lambda_usd(1000, 1024) == pytest.approx(0.20e-6 + gb_s)
    assert lambda_usd(99.2, 2048) == pytest.approx(0.20e-6 + 2 * 0.1 * gb_s)  # 1 ms steps
    # The CPU part costs the same GB-s at any memory below a vCPU; the wait costs more.
    cpu_only = Measured("f", cpu_ms=200.0, dynamodb=0, ssm=0, telnyx=0)
    low, high = (request_costs(cpu_only, mb)["Lambda"] for mb in (256, 1536))
    assert low == pytest.approx(high, rel=0.01)
    assert request_costs(LOGIN, 1536)["Lambda"] > request_costs(LOGIN, 256)["Lambda"]


def test_a_request_costs_every_service_it_uses() -> None:
    costs = request_costs(
        Measured(
            "f", 0.0, 2, 1, 1, read_units=1.0, write_units=4.0, telnyx_checks=1, log_bytes=650
        ),
        128,
    )
    assert costs["API Gateway"] == 3.5e-6
    assert costs["DynamoDB"] == pytest.approx(0.125e-6 + 4 * 0.625e-6)
    assert costs["CloudWatch Logs"] == pytest.approx(1000 / 1e9 * 0.5)
    assert costs["Telnyx"] == PRICES["telnyx_verify_success"].usd
    assert costs["KMS"] == pytest.approx(0.01 * 0.03e-4)


def test_the_rule_gives_bcrypt_a_vcpu_and_a_read_little() -> None:
    assert memories()[0] == 128 and memories()[-1] == 1769
    login = choose_memory(LOGIN)
    assert login.memory_mb >= 1536
    assert login.latency_ms <= 350  # a login on (nearly) a full vCPU share
    assert login.usd <= login.least_usd * (1 + A.cost_tolerance)
    assert choose_memory(READ).memory_mb < 512
    # A stricter cost tolerance never chooses more memory.
    assert (
        choose_memory(READ, Assumptions(cost_tolerance=0.0)).memory_mb
        <= choose_memory(READ).memory_mb
    )


def test_a_journey_adds_its_requests_and_its_emails() -> None:
    requests = {endpoint: LOGIN for journey in JOURNEYS for endpoint in journey.endpoints}
    sign_up = next(journey for journey in JOURNEYS if journey.name == "sign-up")
    costs = journey_costs(sign_up, requests, {"login": 1769})
    assert costs["SES"] == PRICES["ses_email"].usd
    assert costs["Telnyx"] == pytest.approx(2 * PRICES["telnyx_sms_us"].usd)


def test_capacity_uses_littles_law_and_names_the_first_limit() -> None:
    requests = {
        "POST /login (account with phone)": LOGIN,
        "POST /login/verify (right code)": Measured("login_verify", 10.0, 4, 0, 1),
    }
    memory = {"login": 1769, "login_verify": 1769}
    found = {limit.name: limit for limit in capacity.limits(1000, requests, memory)}
    lambda_limit = found["Lambda concurrent executions (account)"]
    assert lambda_limit.demand == pytest.approx(1000 * (0.335 + 0.130))
    assert capacity.shards_needed(10_000) == 40
    assert capacity.first_limit(list(found.values())).name.startswith("SMS budget")


# -- the template holds the model's choice ------------------------------------------------------
@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def test_each_function_has_its_groups_memory(template: dict[str, Any]) -> None:
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        directory = resource["Properties"]["CodeUri"].strip("/").split("/")[-1]
        expected = {"Ref": parameter_of(directory)}
        assert resource["Properties"].get("MemorySize") == expected, logical_id
    assert "MemorySize" not in template["Globals"]["Function"]


def test_memory_parameters_default_to_the_models_choice(template: dict[str, Any]) -> None:
    requests, about = load()
    assert about["bcrypt_cost"] == 12
    chosen = parameter_memory(requests)
    deployed = template_memory(template)
    performance = (ROOT / "docs" / "performance.md").read_text()
    for name in [*PARAMETERS, LIGHT]:
        # the committed measurements' choice, give or take the one step a re-measurement moves it
        assert keeps(deployed[name], chosen[name]), (name, deployed[name], chosen[name])
        assert re.search(rf"\| `{name}` \| {deployed[name]} \|", performance), name
    assert deployed["PasswordFunctionsMemory"] >= 1536


def test_a_choice_one_step_away_keeps_the_templates_memory_two_steps_do_not() -> None:
    assert keeps(1216, 1152) and keeps(1216, 1280) and keeps(1216, 1216)
    assert not keeps(1216, 1088) and not keeps(1216, 1344)


def test_the_documents_are_rendered_from_the_committed_measurements() -> None:
    # After a price or an assumption changed: `python -m devtools.perf_model`.
    requests, about = load()
    assert (ROOT / "docs" / "cost.md").read_text() == report.render(requests, about)
    assert (ROOT / "docs" / "capacity.md").read_text() == capacity.render(
        requests, report.group_memory(requests)
    )
