"""Sign-in keeps its capacity: each function group's reserved concurrency, read from
template.yaml (docs/abuse-controls.md#sign-in-keeps-its-capacity). Functions are put in their
group by the routes they serve, so a function added on a sign-up path (GET /challenge) fails
here until it carries the sign-up group's reservation."""

from __future__ import annotations

from typing import Any

import pytest

from devtools.aws_resources import load_template
from devtools.perf_model import model as perf_model

# Group parameter -> (its default, the routes of its functions: a path or a path prefix).
GROUPS: dict[str, tuple[int, tuple[str, ...]]] = {
    "SignUpReservedConcurrency": (10, ("/register/", "/challenge")),
    "PasswordResetReservedConcurrency": (10, ("/password/reset/",)),
    "SignInReservedConcurrency": (60, ("/login", "/payments/", "/logout")),
}
# The authorizer serves no route of its own: it runs before every payment (and account) call.
AUTHORIZER = "AuthorizerFunction"
WEBHOOK = ("WebhookReservedConcurrency", 10)
ACCOUNT_CONCURRENCY = 1_000  # Lambda's default per account and region
KEPT_UNRESERVED = 100  # Lambda refuses a reservation that leaves less than this unreserved


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def functions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: resource["Properties"]
        for name, resource in template["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function"
    }


def paths(props: dict[str, Any]) -> set[str]:
    return {
        event["Properties"]["Path"]
        for event in props.get("Events", {}).values()
        if event["Type"] == "Api"
    }


def group_of(name: str, props: dict[str, Any]) -> str | None:
    if name == AUTHORIZER:
        return "SignInReservedConcurrency"
    found = {
        group
        for group, (_, routes) in GROUPS.items()
        for path in paths(props)
        for route in routes
        if path == route.rstrip("/") or path.startswith(route)
    }
    assert len(found) <= 1, (name, found)
    return found.pop() if found else None


def reservation(group: str) -> dict[str, Any]:
    """What a function of `group` declares: the group's value, or none when it is -1."""
    condition = "Reserves" + group.removesuffix("ReservedConcurrency") + "Concurrency"
    return {"Fn::If": [condition, {"Ref": group}, {"Ref": "AWS::NoValue"}]}


def members(template: dict[str, Any]) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {group: [] for group in GROUPS}
    for name, props in functions(template).items():
        group = group_of(name, props)
        if group is not None:
            grouped[group].append(name)
    return grouped


def test_the_groups_are_the_functions_of_their_routes(template: dict[str, Any]) -> None:
    grouped = members(template)
    assert {
        "RegisterStartFunction",
        "RegisterVerifyFunction",
        "RegisterResendFunction",
    } <= set(grouped["SignUpReservedConcurrency"])
    assert set(grouped["PasswordResetReservedConcurrency"]) == {
        "PasswordResetStartFunction",
        "PasswordResetVerifyFunction",
        "PasswordResetResendFunction",
        # "I no longer have this phone" (docs/phone-lifecycle.md#a-lost-phone)
        "LostPhoneStartFunction",
        "LostPhoneVerifyFunction",
        "LostPhoneConfirmPhoneFunction",
        "LostPhoneCompleteFunction",
    }
    assert set(grouped["SignInReservedConcurrency"]) == {
        "LoginFunction",
        "LoginVerifyFunction",
        "LoginResendFunction",
        "AuthorizerFunction",
        "PaymentsInitiateFunction",
        "PaymentsConfirmFunction",
        "PaymentsResendFunction",
        "LogoutFunction",
    }


@pytest.mark.parametrize("group", sorted(GROUPS))
def test_every_function_of_a_group_reserves_the_groups_concurrency(
    template: dict[str, Any], group: str
) -> None:
    every = functions(template)
    for name in members(template)[group]:
        assert every[name].get("ReservedConcurrentExecutions") == reservation(group), name


def test_functions_outside_the_groups_reserve_nothing_but_the_public_webhook(
    template: dict[str, Any],
) -> None:
    # Account, status, cancel and live-status functions share the unreserved pool.
    reserving = {
        name
        for name, props in functions(template).items()
        if "ReservedConcurrentExecutions" in props and group_of(name, props) is None
    }
    assert reserving == {"TelnyxWebhookFunction"}


@pytest.mark.parametrize(
    ("name", "default"), [(group, spec[0]) for group, spec in GROUPS.items()] + [WEBHOOK]
)
def test_each_reservation_has_its_documented_default_and_can_be_turned_off(
    template: dict[str, Any], name: str, default: int
) -> None:
    declared = template["Parameters"][name]
    assert declared["Type"] == "Number"
    assert declared["Default"] == default
    # -1: no reservation (an account whose quota is small); nothing below it
    assert declared["MinValue"] == -1
    condition = "Reserves" + name.removesuffix("ReservedConcurrency") + "Concurrency"
    assert template["Conditions"][condition] == {"Fn::Not": [{"Fn::Equals": [{"Ref": name}, "-1"]}]}


def test_the_defaults_leave_the_account_the_unreserved_concurrency_lambda_requires(
    template: dict[str, Any],
) -> None:
    counts = {group: len(names) for group, names in members(template).items()}
    if not any(
        "/challenge" in paths(props) for props in functions(template).values()
    ):  # GET /challenge, counted before it lands
        counts["SignUpReservedConcurrency"] += 1
    reserved = WEBHOOK[1] + sum(GROUPS[group][0] * n for group, n in counts.items())
    assert reserved == 600  # docs/abuse-controls.md#sign-in-keeps-its-capacity
    assert reserved <= ACCOUNT_CONCURRENCY - KEPT_UNRESERVED


def test_the_login_group_is_not_the_tighter_limit_at_the_stages_rate(
    template: dict[str, Any],
) -> None:
    # A login's modelled duration at its memory (docs/cost.md: bcrypt's measured CPU on the
    # share of a vCPU PasswordFunctionsMemory gives, then DynamoDB and Telnyx): at the stage's
    # rate per method, the login function needs rate x that duration concurrent executions.
    rate = template["Parameters"]["ThrottlingRateLimit"]["Default"]
    memory = template["Parameters"]["PasswordFunctionsMemory"]["Default"]
    login = perf_model.load()[0]["POST /login (account with phone)"]
    assert (
        GROUPS["SignInReservedConcurrency"][0] >= rate * perf_model.latency_ms(login, memory) / 1000
    )
