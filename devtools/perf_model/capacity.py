"""The capacity plan (docs/capacity.md): at 100, 1,000 and 10,000 logins a second, each limit's
demand against its capacity, computed from the measured requests and the memory the template sets
(devtools/perf_model/model.py); which breaks first, and the setting or quota request that lifts
it. A login is `POST /login` then `POST /login/verify`, each sending or checking one code.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from devtools.perf_model.model import JOURNEYS, Measured, latency_ms
from devtools.perf_model.prices import ASSUMPTIONS, Assumptions

STEPS = (100, 1_000, 10_000)
LOGIN = JOURNEYS[0]


@dataclass(frozen=True)
class Quotas:
    """Defaults (AWS: account quotas per region; the template: its parameters' defaults)."""

    apigw_account_rps: float = 10_000  # API Gateway: throttle quota per account and region
    stage_rps: float = 50  # template ThrottlingRateLimit
    lambda_concurrency: float = 1_000  # Lambda: concurrent executions per account and region
    sign_in_reserved: float = 60  # template SignInReservedConcurrency, per sign-in function
    partition_wcu: float = 1_000  # DynamoDB: per partition (per key, for a hot key) a second
    partition_rcu: float = 3_000
    table_wcu: float = 40_000  # DynamoDB on-demand: per table a second (account quota)
    ssm_tps: float = 40  # SSM GetParameter, standard throughput (higher throughput: 10,000)
    secrets_max_age_s: float = 300  # SECRETS_MAX_AGE_SECS: a warm worker's re-read
    params_per_worker: float = 3  # SSM parameters a login worker reads (tests: ssm per request)
    fraud_rules_max_age_s: float = 60  # FRAUD_RULES_MAX_AGE_SECS: rules#fraud re-read
    sms_budget_per_hour: float = 1_000  # template SmsBudgetPerHour
    verified_share: float = 0.50  # SMS_SHARE_VERIFIED_PERCENT: logins' part of the budget
    sms_budget_shards: float = 10  # template SmsBudgetShards
    telnyx_rps: float = 100  # NOT FOUND in Telnyx's public documents: ask Telnyx for yours
    headroom: float = 0.5  # plan each figure at half its limit


QUOTAS = Quotas()


@dataclass(frozen=True)
class Limit:
    name: str
    demand: float
    capacity: float
    unit: str
    lift: str
    setting: bool = False  # lifted by a template parameter or setting, not a quota request
    known: bool = True  # False: the capacity is a placeholder (ranked apart)

    @property
    def use(self) -> float:
        return self.demand / self.capacity


def login_durations_s(
    requests: dict[str, Measured], memory: dict[str, int], a: Assumptions = ASSUMPTIONS
) -> dict[str, float]:
    """{function: modelled duration} of the login's requests at their memory."""
    return {
        requests[e].function: latency_ms(requests[e], memory[requests[e].function], a) / 1000
        for e in LOGIN.endpoints
    }


def shards_needed(logins_per_s: float, q: Quotas = QUOTAS) -> int:
    """SMS budget shards so each shard's writes (a transaction's 2 WCU per send) stay within
    the headroom of a partition's 1,000 WCU."""
    return max(1, math.ceil(2 * logins_per_s / (q.partition_wcu * q.headroom)))


def limits(
    rate: float, requests: dict[str, Measured], memory: dict[str, int], q: Quotas = QUOTAS
) -> list[Limit]:
    """Every limit at `rate` logins a second, with its demand and what lifts it."""
    durations = login_durations_s(requests, memory)
    concurrency = {function: rate * seconds for function, seconds in durations.items()}
    workers = sum(concurrency.values())
    write_units = sum(requests[e].write_units for e in LOGIN.endpoints)
    rps = rate * len(LOGIN.endpoints)
    busiest = max(concurrency, key=lambda function: concurrency[function])
    budget_per_hour = rate * 3600
    needed = math.ceil(budget_per_hour / q.verified_share / 1000) * 1000
    shards = shards_needed(rate, q)
    return [
        Limit(
            "SMS budget (logins' share of SmsBudgetPerHour)",
            budget_per_hour,
            q.sms_budget_per_hour * q.verified_share,
            "codes/hour",
            f"SmsBudgetPerHour={needed:,} (the budget is a fraud cap: set it to the traffic "
            "expected, with its alarm)",
            setting=True,
        ),
        Limit(
            "API Gateway stage throttle (ThrottlingRateLimit)",
            rps,
            q.stage_rps,
            "requests/s",
            f"ThrottlingRateLimit={math.ceil(rps / q.headroom):,}, ThrottlingBurstLimit "
            f"{math.ceil(2 * rps / q.headroom):,}",
            setting=True,
        ),
        Limit(
            f"reserved concurrency of {busiest} (SignInReservedConcurrency)",
            concurrency[busiest],
            q.sign_in_reserved,
            "executions",
            f"SignInReservedConcurrency={math.ceil(concurrency[busiest] / q.headroom):,}",
            setting=True,
        ),
        Limit(
            "Lambda concurrent executions (account)",
            workers,
            q.lambda_concurrency,
            "executions",
            f"quota request: {math.ceil(workers / q.headroom):,} concurrent executions",
        ),
        Limit(
            "API Gateway requests (account)",
            rps,
            q.apigw_account_rps,
            "requests/s",
            f"quota request: {math.ceil(rps / q.headroom):,} requests/s",
        ),
        Limit(
            "SMS budget shard (global#verified#<hour>#<shard> item)",
            2 * rate / q.sms_budget_shards,
            q.partition_wcu,
            "WCU/s per item",
            f"SmsBudgetShards={max(shards, int(q.sms_budget_shards))}",
            setting=True,
        ),
        Limit(
            "DynamoDB writes, all tables (on-demand table quota)",
            rate * write_units,
            q.table_wcu,
            "WCU/s",
            f"quota request: {math.ceil(rate * write_units / q.headroom):,} WCU/s per table, "
            "and warm throughput set before the launch",
        ),
        Limit(
            "rules#fraud item reads (cached per worker)",
            workers / q.fraud_rules_max_age_s * 0.5,
            q.partition_rcu,
            "RCU/s",
            "FRAUD_RULES_MAX_AGE_SECS longer (the rules' delay to apply grows with it)",
            setting=True,
        ),
        Limit(
            "SSM GetParameter (cached per worker)",
            workers * q.params_per_worker / q.secrets_max_age_s,
            q.ssm_tps,
            "calls/s",
            "SSM higher throughput (aws ssm update-service-setting, paid per call)",
        ),
        Limit(
            "Telnyx API (sends and checks)",
            rps,
            q.telnyx_rps,
            "requests/s",
            "a rate limit raised by Telnyx (account-specific: ask them)",
            known=False,
        ),
    ]


def rate_at_512(rate: int) -> str:
    return f"{rate:,}/s at 512 MB (before)"


def first_limit(found: list[Limit]) -> Limit:
    """The limit most used (placeholders apart: their capacity is not known)."""
    return max((limit for limit in found if limit.known), key=lambda limit: limit.use)


def render(requests: dict[str, Measured], memory: dict[str, int], q: Quotas = QUOTAS) -> str:
    durations = login_durations_s(requests, memory)
    old = login_durations_s(requests, dict.fromkeys(memory, 512))
    lines = [
        "# Capacity plan: 100, 1,000 and 10,000 logins a second",
        "",
        "Generated by `make bench` (devtools/perf_model/capacity.py) from the measured requests",
        "and the memory template.yaml sets (docs/performance.md's rule); do not edit by hand.",
        "A login is `POST /login` then `POST /login/verify`. Concurrency by Little's law: rate x",
        "modelled",
        "duration ("
        + ", ".join(f"{f} {s * 1000:.0f} ms at {memory[f]} MB" for f, s in durations.items())
        + ").",
        f"Each lift is planned at {q.headroom:.0%} of the limit (headroom for bursts).",
        "",
        "## Concurrency per function",
        "",
        "| function | MB | modelled duration | "
        + " | ".join(f"at {rate:,}/s" for rate in STEPS)
        + f" | at {rate_at_512(STEPS[-1])} |",
        "|---|---:|---:|" + "---:|" * (len(STEPS) + 1),
        *[
            f"| {function} | {memory[function]} | {seconds * 1000:.0f} ms | "
            + " | ".join(f"{rate * seconds:,.0f}" for rate in STEPS)
            + f" | {STEPS[-1] * old[function]:,.0f} |"
            for function, seconds in durations.items()
        ],
        "",
    ]
    for rate in STEPS:
        found = limits(rate, requests, memory, q)
        first = first_limit(found)
        quota = first_limit([limit for limit in found if not limit.setting])
        lines += [
            f"## {rate:,} logins a second",
            "",
            f"**First limit: {first.name}** ({first.demand:,.0f} {first.unit} against "
            f"{first.capacity:,.0f}). Lift: {first.lift}.",
            "",
            f"Nearest AWS quota once the template's settings are raised: **{quota.name}** "
            f"({quota.use:.0%} of it). Lift: "
            + (quota.lift if quota.use > q.headroom else "none needed at this rate")
            + ".",
            "",
            "| limit | demand | capacity | use | lift when over 50 % |",
            "|---|---:|---:|---:|---|",
        ]
        for limit in sorted(found, key=lambda item: -item.use):
            lift = limit.lift if limit.use > q.headroom else "-"
            placeholder = "" if limit.known else " (placeholder)"
            lines.append(
                f"| {limit.name} | {limit.demand:,.1f} {limit.unit} | {limit.capacity:,.0f}"
                f"{placeholder} | {limit.use:.0%} | {lift} |"
            )
        lines.append("")
    lines += [
        "## Shards and hot keys",
        "",
        "| logins/s | SmsBudgetShards needed (2 WCU per send per shard, 50 % of 1,000 WCU) |",
        "|---:|---:|",
        *[
            f"| {rate:,} | {max(shards_needed(rate, q), int(q.sms_budget_shards))} |"
            for rate in STEPS
        ],
        "",
        "Other counters a login writes (its requests' `written_keys` in",
        "devtools/perf_model/measured.json) are per phone, per source IP, per account and per",
        "flow: each takes one person's or one source's rate, capped far below a partition's",
        "1,000 WCU by the send limits themselves (MAX_SENDS_PER_PHONE, MAX_SENDS_PER_IP a",
        "window). Sign-ups and phone changes (the `unproven` tier) also write",
        "`hold#country#<CC>` (a transaction's ConditionCheck, 2 WCU, every send to that country)",
        "and `prefix#<prefix>#<window>`; and every email counts on one `emailbudget#<window>`",
        "item. Those are one item each: at 2 WCU a send they hold about 500 sign-ups a second to",
        "one country, and 500 emails a second; sharding them as the SMS budget is (a code",
        "change, not a setting) is what lifts them. Logins touch neither.",
        "",
        "SSM at a ramp: the steady figure above is warm workers re-reading every",
        "SECRETS_MAX_AGE_SECS; a new worker reads its parameters at once, and Lambda adds up to",
        "1,000 workers per function every 10 seconds, so a ramp asks up to about 300",
        "GetParameter a second: above standard throughput's 40. Before a launch at 1,000",
        "logins a second or more, turn on SSM's higher throughput.",
        "",
        "Telnyx's API rate limit: no public figure was found; the plan uses "
        f"{q.telnyx_rps:,.0f} requests a second as a placeholder. Ask Telnyx for your account's.",
        "",
    ]
    return "\n".join(lines)
