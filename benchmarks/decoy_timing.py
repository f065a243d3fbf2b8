"""The decoy password reset's timing, real against decoy (`make bench`, its quick mode).

Issue 18's review told a decoy from a real reset by the clock: a wrong code at
/password/reset/verify took a median 45.8 ms on a real flow (it asks Telnyx) and 21.3 ms on a
decoy. Here both kinds go through the template's functions behind a local gateway (on
DynamoDB Local, the Telnyx emulator answering), interleaved request by request, the order
of the two kinds alternating each round: a start of each, then a wrong code on each. The
first rounds are not counted (each worker's first request is a cold one, and its first real
calls are what a decoy's pauses are drawn from). Nothing here asserts on time: the figures go
to docs/benchmarks.md.
"""

from __future__ import annotations

import statistics
import time
import uuid
from dataclasses import dataclass, field

import httpx

from devtools.local_stack.stack import LocalStack
from tests.security.conftest import limited
from tests.support import accounts

# Room for every request of the run: the caps are not what is measured.
TIMING_ENV = {
    "MAX_SENDS_PER_PHONE": "100000",
    "MAX_SENDS_PER_IP": "100000",
    "MAX_SENDS_PER_ACCOUNT": "100000",
    "SMS_BUDGET": "1000000",
    "CHALLENGE_MODE": "off",
    "BCRYPT_COST": "10",
}
PASSWORD = "timing run passphrase of the owner"  # noqa: S105 - the seeded account's
NEW_PASSWORD = "a new passphrase that never lands"  # noqa: S105
WRONG_CODE = "000000"  # the emulator's codes are random: a wrong one all but always
STEPS = ("POST /password/reset/start", "POST /password/reset/verify (wrong code)")


@dataclass(frozen=True)
class TimingPlan:
    rounds: int
    warm_up: int


FULL = TimingPlan(rounds=60, warm_up=5)
QUICK = TimingPlan(rounds=2, warm_up=1)


@dataclass
class DecoyTiming:
    plan: TimingPlan
    # step -> kind ("real", "decoy") -> wall ms of each counted round
    samples: dict[str, dict[str, list[float]]] = field(
        default_factory=lambda: {step: {"real": [], "decoy": []} for step in STEPS}
    )
    statuses: dict[str, dict[str, set[int]]] = field(
        default_factory=lambda: {step: {"real": set(), "decoy": set()} for step in STEPS}
    )

    def median(self, step: str, kind: str) -> float:
        return statistics.median(self.samples[step][kind])

    def gap(self, step: str) -> float:
        """Real minus decoy, of the medians (ms)."""
        return self.median(step, "real") - self.median(step, "decoy")

    def p_real_slower(self, step: str) -> float:
        """The review's statistic: of every (real, decoy) pair of samples, the share where
        the real one took longer (0.5: nothing to tell them apart by)."""
        real, decoy = self.samples[step]["real"], self.samples[step]["decoy"]
        wins = sum(1.0 if r > d else 0.5 if r == d else 0.0 for r in real for d in decoy)
        return wins / (len(real) * len(decoy))

    def noise(self, step: str) -> float:
        """Half the spread between the quartiles of both kinds together (ms): the gap is
        within noise when it is smaller than this."""
        both = self.samples[step]["real"] + self.samples[step]["decoy"]
        if len(both) < 4:
            return float("nan")
        q1, _, q3 = statistics.quantiles(both, n=4)
        return (q3 - q1) / 2


def _timed(api: httpx.Client, path: str, body: dict[str, str]) -> tuple[float, httpx.Response]:
    started = time.perf_counter()
    response = api.post(path, json=body)
    return (time.perf_counter() - started) * 1000, response


def run_decoy_timing(stack: LocalStack, plan: TimingPlan) -> DecoyTiming:
    result = DecoyTiming(plan)
    owner = accounts.seed_account(stack, "timing", PASSWORD)
    with (
        limited(stack, TIMING_ENV) as target,
        target.client("127.0.3.1") as api,
    ):
        for round_ in range(plan.warm_up + plan.rounds):
            emails = {"real": owner.email, "decoy": f"nobody-{uuid.uuid4().hex[:10]}@example.com"}
            order = ["real", "decoy"] if round_ % 2 == 0 else ["decoy", "real"]
            flows: dict[str, str] = {}
            for kind in order:
                ms, response = _timed(api, "/password/reset/start", {"email": emails[kind]})
                flows[kind] = response.json().get("flow_id", "")
                _keep(result, STEPS[0], kind, ms, response.status_code, round_ >= plan.warm_up)
            for kind in order:
                body = {"flow_id": flows[kind], "code": WRONG_CODE, "new_password": NEW_PASSWORD}
                ms, response = _timed(api, "/password/reset/verify", body)
                _keep(result, STEPS[1], kind, ms, response.status_code, round_ >= plan.warm_up)
    return result


def _keep(result: DecoyTiming, step: str, kind: str, ms: float, status: int, counted: bool) -> None:
    result.statuses[step][kind].add(status)
    if counted:
        result.samples[step][kind].append(ms)
