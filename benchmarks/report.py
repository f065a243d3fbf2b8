"""docs/benchmarks.md: the figures of one `make bench` run, as a table per section."""

from __future__ import annotations

import platform
import statistics
import textwrap
from dataclasses import dataclass, field
from datetime import UTC, datetime

from benchmarks.campaign import (
    ATTACKED_PREFIXES,
    BUDGET_EXHAUSTED,
    TIER_OF_FLOW,
    CampaignResult,
)
from benchmarks.decoy_timing import STEPS, DecoyTiming

BARE_BOTO3 = "bare boto3"
BARE_POWERTOOLS = "bare Powertools + pydantic"
NOT_MEASURED = "not measured"


@dataclass
class Sample:
    cpu_ms: list[float] = field(default_factory=list)  # init
    rss_mb: list[float] = field(default_factory=list)
    first_request_cpu_ms: list[float] = field(default_factory=list)  # init and builders
    modules: int = 0  # at init

    @property
    def cpu(self) -> float:
        """The least of the rounds: a busy machine only ever adds CPU time (cache misses,
        preemption), so the least is the one nearest the code's own cost."""
        return min(self.cpu_ms)

    @property
    def rss(self) -> float:
        return statistics.median(self.rss_mb)


@dataclass
class Report:
    cold_starts: dict[str, Sample] = field(default_factory=dict)
    rounds: int = 0
    layer_note: str = ""
    layer_bytes: int | None = None
    round_trips: dict[str, dict[str, int]] | None = None
    round_trips_note: str = NOT_MEASURED
    login_verify_ms: list[float] = field(default_factory=list)
    hot_path: dict[str, float] = field(default_factory=dict)
    campaign: CampaignResult | None = None
    decoy_timing: DecoyTiming | None = None

    def ratio(self, name: str, bare: str) -> float:
        """The least init CPU of each over the same interleaved rounds (`Sample.cpu`)."""
        return self.cold_starts[name].cpu / self.cold_starts[bare].cpu

    def memory_ratio(self, name: str, bare: str) -> float:
        return self.cold_starts[name].rss / self.cold_starts[bare].rss

    def complete(self) -> bool:
        return bool(
            self.cold_starts
            and self.layer_bytes
            and self.login_verify_ms
            and self.campaign
            and self.decoy_timing
        )

    def render(self) -> str:
        lines = [
            "# Benchmarks",
            "",
            "Written by `make bench` (benchmarks/, docs/performance.md explains each figure);",
            "every figure below comes from the same run, measured side by side on one machine.",
            f"Run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, "
            f"Python {platform.python_version()}.",
            "What holds under load and faults (journeys, faults injected, invariants, 500s) is",
            "`make soak`'s: [reliability.md](reliability.md).",
            "",
            *self._cold_start_lines(),
            *self._layer_lines(),
            *self._round_trip_lines(),
            *self._local_stack_lines(),
            *self._hot_path_lines(),
            *self._campaign_lines(),
            *self._decoy_timing_lines(),
        ]
        return "\n".join(lines) + "\n"

    def _cold_start_lines(self) -> list[str]:
        lines = [
            "## Cold start",
            "",
            "CPU time and peak memory (RSS) of a fresh interpreter that imports the handler and",
            "creates its DynamoDB client (Lambda's init), on the layer as `sam build` ships it",
            "(layers/common/Makefile, built for this machine's architecture), with only what",
            f"Lambda puts on the path. {self.rounds} interleaved rounds: init CPU is the least",
            "of the rounds (a busy machine only adds to it); peak memory and *first request*",
            "come from the last round, which also builds what the first request builds.",
            "The ratios are to the two bare handlers: a boto3 DynamoDB client alone, and a",
            "Powertools resolver validating a pydantic body with a boto3 DynamoDB client and",
            "the Tracer, botocore patched (the least a handler of this design can load; target",
            "1.25x). *First request* adds",
            "building everything the handler's requests build (flows, adapters, PyJWT, bcrypt,",
            "httpx...), which Lambda pays on the first call.",
            "",
        ]
        if not self.cold_starts:
            return [*lines, NOT_MEASURED, ""]
        lines += [
            "| handler | init CPU ms | x bare Powertools | x bare boto3 | peak MB "
            "| mem x bare Powertools | mem x bare boto3 | modules | first request CPU ms |",
            "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for name, sample in self.cold_starts.items():
            first = (
                f"{statistics.median(sample.first_request_cpu_ms):.0f}"
                if sample.first_request_cpu_ms
                else "-"
            )
            lines.append(
                f"| {name} | {sample.cpu:.0f} | {self.ratio(name, BARE_POWERTOOLS):.2f} "
                f"| {self.ratio(name, BARE_BOTO3):.2f} | {sample.rss:.0f} "
                f"| {self.memory_ratio(name, BARE_POWERTOOLS):.2f} "
                f"| {self.memory_ratio(name, BARE_BOTO3):.2f} | {sample.modules} | {first} |"
            )
        return [*lines, ""]

    def _layer_lines(self) -> list[str]:
        size = (
            f"{self.layer_bytes / 1_000_000:.1f} MB unzipped ({self.layer_note}); limit 20 MB."
            if self.layer_bytes
            else NOT_MEASURED
        )
        return ["## Layer", "", size, ""]

    def _round_trip_lines(self) -> list[str]:
        lines = [
            "## Round trips per request",
            "",
            "Calls each endpoint makes, counted at botocore and httpx on the real handlers",
            "(tests/support/round_trips.py).",
            "",
        ]
        if not self.round_trips:
            return [*lines, self.round_trips_note, ""]
        lines += ["| endpoint | DynamoDB | SSM | Telnyx |", "|---|---:|---:|---:|"]
        for endpoint, calls in self.round_trips.items():
            lines.append(
                f"| {endpoint} | {calls.get('dynamodb', 0)} | {calls.get('ssm', 0)} "
                f"| {calls.get('telnyx', 0)} |"
            )
        total = sum(calls.get("dynamodb", 0) for calls in self.round_trips.values())
        return [*lines, f"| total | {total} | | |", ""]

    def _local_stack_lines(self) -> list[str]:
        lines = [
            "## Local stack: login then verify",
            "",
            "Wall time of POST /login and POST /login/verify with the right code, one after the",
            "other, against `make run`'s stack (moto, the Telnyx emulator, the local gateway)",
            "on this machine: handlers warm, bcrypt at the template's cost.",
            "",
        ]
        if not self.login_verify_ms:
            return [*lines, NOT_MEASURED, ""]
        runs = len(self.login_verify_ms)
        return [
            *lines,
            f"Median of {runs}: {statistics.median(self.login_verify_ms):.0f} ms "
            f"(fastest {min(self.login_verify_ms):.0f} ms).",
            "",
        ]

    def _hot_path_lines(self) -> list[str]:
        lines = ["## The flows' own work", "", "Mean per call, with fakes for all I/O.", ""]
        if not self.hot_path:
            return [*lines, NOT_MEASURED, ""]
        lines += ["| path | mean ms |", "|---|---:|"]
        lines += [f"| {name} | {ms:.2f} |" for name, ms in self.hot_path.items()]
        return [*lines, ""]

    def _campaign_lines(self) -> list[str]:
        lines = ["## SMS-pumping campaign", ""]
        run = self.campaign
        if run is None:
            return [*lines, NOT_MEASURED, ""]
        plan = run.plan
        settings = ", ".join(f"{name}={value}" for name, value in run.settings.items())
        prefixes = " and ".join(ATTACKED_PREFIXES)
        about = (
            "Issue 17's attack replayed (benchmarks/campaign.py) through the template's "
            "functions behind a local gateway, on DynamoDB Local, with a RateLimitsTable of "
            f"its own: {plan.attackers} source addresses (127.0.1.1-127.0.1.{plan.attackers}, "
            f"each client bound to its own) ask {plan.rounds} times each for sign-up codes to "
            f"fresh numbers of {prefixes} ({plan.attack_requests} requests, {plan.workers} at "
            "a time, solving no proof-of-work challenge), while people at addresses of their "
            "own (127.0.2.x) sign in with their "
            "code, pay 250.00 USD with theirs, reset a password and sign up with numbers of "
            f"other US prefixes: in each of {plan.rounds} rounds {plan.logins} logins, "
            f"{plan.payments} payment (a login, then the payment), {plan.resets} reset and "
            f"{plan.sign_ups} sign-up, spread among the attacker's requests, and in the last "
            f"{plan.sign_ups_in_attacked_prefixes} sign-up to a number of an attacked prefix. "
            f"Settings: {settings}; every other limit at the template's defaults (not `make "
            "run`'s raised ones). Codes are what the Telnyx emulator sent."
        )
        in_force = "Limits in force: " + ", ".join(
            f"{name}={value}" for name, value in run.limits.items()
        )
        lines += [
            *textwrap.wrap(about, width=92),
            "",
            *textwrap.wrap(in_force + ".", width=92, break_on_hyphens=False),
            "",
            "| attacked prefix | sign-ups asked | codes sent | answers |",
            "|---|---:|---:|---|",
        ]
        for prefix in ATTACKED_PREFIXES:
            answers = ", ".join(
                f"{status} {code or 'ok'} x{n}"
                for (status, code), n in sorted(run.attacker_answers[prefix].items())
            )
            lines.append(f"| {prefix} | {run.asked[prefix]} | {run.codes[prefix]} | {answers} |")
        lines += [
            "",
            "| legitimate flow | tier | tried | completed | refused | refusals (step: answer) |",
            "|---|---|---:|---:|---:|---|",
        ]
        for flow, tally in run.legit.items():
            refusals = ", ".join(
                f"{step}: {status} {code} x{n}"
                for (step, status, code), n in sorted(tally.refused.items())
            )
            lines.append(
                f"| {flow} | {TIER_OF_FLOW[flow]} | {tally.attempted} | {tally.completed} "
                f"| {tally.refusals} | {refusals or '-'} |"
            )
        opened = sorted({tier for tier, _ in run.breaker})
        breakers = "; ".join(
            f"{tier} tier ("
            + ", ".join(f"{flow} x{n}" for (t, flow), n in sorted(run.breaker.items()) if t == tier)
            + ")"
            for tier in opened
        )
        outcome = (
            f"Breakers opened (answers 503 `{BUDGET_EXHAUSTED}`, by the tier the answer names, "
            "else the one the flow's codes count in; *attack* is the attacker's sign-ups): "
            f"{breakers or 'none'}. Codes sent to the legitimate people's numbers: "
            f"{run.legit_codes}. Held at the end: "
            f"{', '.join(run.held) or 'nothing'}. The campaign took {run.seconds:.0f} s "
            "(not a criterion)."
        )
        lines += [
            "",
            *textwrap.wrap(outcome, width=92),
            "",
            "| issue 17's criterion | measured | holds |",
            "|---|---|---|",
        ]
        lines += [
            f"| {name} | {measured} | {'yes' if holds else 'NO'} |"
            for name, measured, holds in run.criteria()
        ]
        return [*lines, ""]

    def _decoy_timing_lines(self) -> list[str]:
        lines = ["## The decoy password reset: real against decoy", ""]
        run = self.decoy_timing
        if run is None:
            return [*lines, NOT_MEASURED, ""]
        about = (
            "Issue 18's review told the kinds apart by the clock (a wrong code: 45.8 ms real, "
            "21.3 ms decoy, P(real > decoy) = 0.97). Wall time of each request through the "
            "template's functions behind a local gateway on DynamoDB Local, the Telnyx "
            "emulator answering (benchmarks/decoy_timing.py): one account's reset and an "
            f"unknown email's, interleaved, the order alternating each round; {run.plan.rounds} "
            f"rounds counted after {run.plan.warm_up} warm-up ones. A decoy pauses as long as "
            "one of the worker's recent real Telnyx calls took (docs/abuse-controls.md"
            "#the-decoy-password-reset). *Noise*: half the interquartile range of both kinds "
            "together; P(real > decoy) is 0.5 where nothing tells them apart."
        )
        lines += [
            *textwrap.wrap(about, width=92),
            "",
            "| step | real median ms | decoy median ms | gap ms | noise ms | P(real > decoy) |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for step in STEPS:
            lines.append(
                f"| {step} | {run.median(step, 'real'):.1f} | {run.median(step, 'decoy'):.1f} "
                f"| {run.gap(step):+.1f} | {run.noise(step):.1f} | {run.p_real_slower(step):.2f} |"
            )
        return [*lines, ""]
