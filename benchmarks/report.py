"""docs/benchmarks.md: the figures of one `make bench` run, as a table per section."""

from __future__ import annotations

import platform
import statistics
from dataclasses import dataclass, field
from datetime import UTC, datetime

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

    def ratio(self, name: str, bare: str) -> float:
        """The least init CPU of each over the same interleaved rounds (`Sample.cpu`)."""
        return self.cold_starts[name].cpu / self.cold_starts[bare].cpu

    def memory_ratio(self, name: str, bare: str) -> float:
        return self.cold_starts[name].rss / self.cold_starts[bare].rss

    def complete(self) -> bool:
        return bool(self.cold_starts and self.layer_bytes and self.login_verify_ms)

    def render(self) -> str:
        lines = [
            "# Benchmarks",
            "",
            "Written by `make bench` (benchmarks/, docs/performance.md explains each figure);",
            "every figure below comes from the same run, measured side by side on one machine.",
            f"Run: {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.machine()}, "
            f"Python {platform.python_version()}.",
            "",
            *self._cold_start_lines(),
            *self._layer_lines(),
            *self._round_trip_lines(),
            *self._local_stack_lines(),
            *self._hot_path_lines(),
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
            "Powertools resolver validating a pydantic body with a boto3 DynamoDB client (the",
            "least a handler of this design can load; target 1.25x). *First request* adds",
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
