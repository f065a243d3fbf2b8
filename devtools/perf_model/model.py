"""The latency and cost model of one request on Lambda, and the memory rule
(docs/performance.md "Memory per function").

Lambda gives CPU in proportion to memory: at `full_vcpu_mb` (1,769 MB) one vCPU; below it, that
share (single-threaded code gains nothing above it). So a request's modelled latency is its
measured CPU x 1,769 / memory, plus its counted round trips x their in-region latencies; its
Lambda cost is the GB-seconds of that whole duration (the waiting is billed at the memory too)
plus the request charge; its cost per request adds every service the request uses.

The rule: among the memories in 64 MB steps from 128 MB to 1,769 MB, those whose cost per
request is at most `cost_tolerance` over the least are affordable; of those, the smallest whose
latency is within `latency_tolerance_ms` of the fastest affordable one. A function's memory is
the largest its requests need; a group's, the largest of its functions'. The template keeps a
group's memory while a fresh choice stays within one step of it (`keeps`).
"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from devtools.perf_model.prices import ASSUMPTIONS, PRICES, Assumptions, Price

MEASURED = Path(__file__).with_name("measured.json")  # written by `make bench`
MIN_MB = 128
STEP_MB = 64

# The template's memory parameters (template.yaml), each a group of functions.
PASSWORD_FUNCTIONS = (  # check or hash a password with bcrypt
    "login",
    "register_start",
    "register_verify",
    "password_reset_verify",
    "account_reauth_start",
    "lost_phone_complete",
)
CODE_FUNCTIONS = (  # send or check a code: with Telnyx, or by email
    "login_resend",
    "login_verify",
    "register_resend",
    "payments_initiate",
    "payments_confirm",
    "payments_resend",
    "account_phone_start",
    "account_phone_resend",
    "account_phone_verify",
    "account_reauth_resend",
    "account_reauth_verify",
    "password_reset_start",
    "password_reset_resend",
    "lost_phone_verify",
    "lost_phone_confirm_phone",
    "notices_deliver",
    "account_email_start",
    "account_email_verify",
    "lost_phone_start",
    "account_totp_verify",
)
PARAMETERS = {
    "PasswordFunctionsMemory": PASSWORD_FUNCTIONS,
    "CodeFunctionsMemory": CODE_FUNCTIONS,
}
LIGHT = "LightFunctionsMemory"  # every other function


def parameter_of(function: str) -> str:
    return next((name for name, members in PARAMETERS.items() if function in members), LIGHT)


@dataclass(frozen=True)
class Measured:
    """One request as measured on the real handlers (benchmarks/cpu_per_request.py)."""

    function: str
    cpu_ms: float
    dynamodb: int
    ssm: int
    telnyx: int
    read_units: float = 0.0
    write_units: float = 0.0
    written_keys: list[str] = field(default_factory=list)
    telnyx_sends: int = 0  # codes and notices sent (the channel's message)
    telnyx_checks: int = 0  # codes checked (a successful verification)
    log_bytes: int = 0  # log lines and EMF metrics the handler wrote


def memories(a: Assumptions = ASSUMPTIONS) -> list[int]:
    steps = list(range(MIN_MB, a.full_vcpu_mb, STEP_MB))
    return [*steps, a.full_vcpu_mb]


def cpu_ms_at(cpu_ms: float, memory_mb: int, a: Assumptions = ASSUMPTIONS) -> float:
    """The CPU part's duration at `memory_mb`: a share memory/1,769 of a vCPU below 1,769 MB."""
    return cpu_ms * a.full_vcpu_mb / min(memory_mb, a.full_vcpu_mb)


def wait_ms(m: Measured, a: Assumptions = ASSUMPTIONS, cold: bool = False) -> float:
    """Waiting on round trips: DynamoDB and Telnyx each request, SSM when the cache is cold."""
    ssm = m.ssm * a.ssm_ms if cold else 0.0
    return m.dynamodb * a.dynamodb_ms + m.telnyx * a.telnyx_ms + ssm


def latency_ms(
    m: Measured, memory_mb: int, a: Assumptions = ASSUMPTIONS, cold: bool = False
) -> float:
    return cpu_ms_at(m.cpu_ms, memory_mb, a) + wait_ms(m, a, cold)


def lambda_usd(duration_ms: float, memory_mb: int, prices: dict[str, Price] = PRICES) -> float:
    """One invocation: the request charge and the GB-seconds of the whole (1 ms) billed duration."""
    billed_s = math.ceil(duration_ms) / 1000
    gb_s = memory_mb / 1024 * billed_s
    return prices["lambda_request"].usd + gb_s * prices["lambda_gb_s_arm64"].usd


def request_costs(
    m: Measured, memory_mb: int, a: Assumptions = ASSUMPTIONS, prices: dict[str, Price] = PRICES
) -> dict[str, float]:
    """USD of one request, per service (a warm request; SSM and its KMS reads amortised)."""
    p = {name: price.usd for name, price in prices.items()}
    gateway = 0.0 if m.function == "webhook_telnyx" else p["apigw_rest_request"]  # function URL
    logs = (m.log_bytes + a.log_bytes_platform) / 1e9 * p["logs_ingest_gb"]
    return {
        "API Gateway": gateway,
        "Lambda": lambda_usd(latency_ms(m, memory_mb, a), memory_mb, prices),
        "DynamoDB": m.read_units * p["dynamodb_rru"] + m.write_units * p["dynamodb_wru"],
        "CloudWatch Logs": logs,
        "X-Ray": a.xray_sampled * p["xray_trace"],
        "KMS": m.ssm * a.ssm_refresh_share * p["kms_request"],
        "Telnyx": m.telnyx_sends * p["telnyx_sms_us"]
        + m.telnyx_checks * p["telnyx_verify_success"],
    }


def request_usd(m: Measured, memory_mb: int, a: Assumptions = ASSUMPTIONS) -> float:
    return sum(request_costs(m, memory_mb, a).values())


@dataclass(frozen=True)
class Choice:
    memory_mb: int
    latency_ms: float
    usd: float
    least_usd: float  # the cheapest memory's cost per request
    fastest_ms: float  # the fastest affordable memory's latency


def choose_memory(m: Measured, a: Assumptions = ASSUMPTIONS) -> Choice:
    """The rule (module docstring): affordable memories, then the smallest as fast as the best."""
    costs = {memory: request_usd(m, memory, a) for memory in memories(a)}
    least = min(costs.values())
    affordable = [memory for memory, usd in costs.items() if usd <= least * (1 + a.cost_tolerance)]
    fastest = min(latency_ms(m, memory, a) for memory in affordable)
    chosen = min(
        memory
        for memory in affordable
        if latency_ms(m, memory, a) <= fastest + a.latency_tolerance_ms
    )
    return Choice(chosen, latency_ms(m, chosen, a), costs[chosen], least, fastest)


def keeps(current_mb: int, chosen_mb: int) -> bool:
    """Whether a template parameter keeps its memory against a fresh choice: while the choice is
    within one step of it. A re-measurement moves a choice by a step at times (medians of CPU
    differ by a few per cent between runs), and a step is worth neither a deploy nor a test that
    fails on a quieter machine; a choice two steps away is a change to make."""
    return abs(current_mb - chosen_mb) <= STEP_MB


def template_memory(template: dict[str, Any] | None = None) -> dict[str, int]:
    """{template parameter: MB}: the memory template.yaml deploys (its parameters' defaults)."""
    if template is None:
        from devtools.aws_resources import load_template  # the template parser, only when read

        template = load_template()
    return {name: int(template["Parameters"][name]["Default"]) for name in [*PARAMETERS, LIGHT]}


def function_memory(requests: dict[str, Measured], a: Assumptions = ASSUMPTIONS) -> dict[str, int]:
    """{function: memory}: the largest any of its measured requests needs."""
    found: dict[str, int] = {}
    for m in requests.values():
        found[m.function] = max(found.get(m.function, MIN_MB), choose_memory(m, a).memory_mb)
    return found


def parameter_memory(requests: dict[str, Measured], a: Assumptions = ASSUMPTIONS) -> dict[str, int]:
    """{template parameter: memory}: the largest of its measured functions' (LIGHT's at least)."""
    found = {name: MIN_MB for name in [*PARAMETERS, LIGHT]}
    for function, memory in function_memory(requests, a).items():
        name = parameter_of(function)
        found[name] = max(found[name], memory)
    return found


# -- journeys -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class Journey:
    name: str
    endpoints: tuple[str, ...]
    emails: int = 0  # SES emails sent (sign-up's email code)
    watched_codes: int = 0  # codes whose status a page watches over the WebSocket API


JOURNEYS = (
    Journey(
        "login with 2FA",
        ("POST /login (account with phone)", "POST /login/verify (right code)"),
        watched_codes=1,
    ),
    Journey(
        "sign-up", ("POST /register/start", "POST /register/verify"), emails=1, watched_codes=1
    ),
    Journey(
        "payment with step-up",
        ("POST /payments/initiate (above threshold)", "POST /payments/confirm"),
        watched_codes=1,
    ),
    Journey(
        "phone change with step-up",
        (
            "POST /account/reauth/start",
            "POST /account/reauth/verify",
            "POST /account/phone/start",
            "POST /account/phone/verify",
        ),
        watched_codes=2,
    ),
    Journey(
        "password reset",
        (
            "POST /password/reset/start (account)",
            "POST /password/reset/verify (account, right code)",
        ),
        watched_codes=1,
    ),
)


def journey_costs(
    journey: Journey,
    requests: dict[str, Measured],
    memory: dict[str, int],
    a: Assumptions = ASSUMPTIONS,
    prices: dict[str, Price] = PRICES,
) -> dict[str, float]:
    """USD of one journey per service, each function at `memory` ({function: MB})."""
    total: dict[str, float] = {}
    for endpoint in journey.endpoints:
        m = requests[endpoint]
        for service, usd in request_costs(m, memory[m.function], a, prices).items():
            total[service] = total.get(service, 0.0) + usd
    p = {name: price.usd for name, price in prices.items()}
    total["SES"] = journey.emails * p["ses_email"]
    total["SNS"] = journey.emails * a.bounce_share * p["sns_publish"]
    total["WebSocket API"] = journey.watched_codes * (
        a.ws_minutes * p["apigw_ws_minute"] + a.ws_messages * p["apigw_ws_message"]
    )
    return total


def journey_latency_ms(
    journey: Journey,
    requests: dict[str, Measured],
    memory: dict[str, int],
    a: Assumptions = ASSUMPTIONS,
) -> float:
    return sum(latency_ms(requests[e], memory[requests[e].function], a) for e in journey.endpoints)


# -- the measured figures, as `make bench` writes them ------------------------------------------
def dump(requests: dict[str, Measured], about: dict[str, Any]) -> str:
    body = {"about": about, "requests": {e: asdict(m) for e, m in sorted(requests.items())}}
    return json.dumps(body, indent=1, sort_keys=True) + "\n"


def load(path: Path = MEASURED) -> tuple[dict[str, Measured], dict[str, Any]]:
    body = json.loads(path.read_text())
    return {e: Measured(**fields) for e, fields in body["requests"].items()}, body["about"]
