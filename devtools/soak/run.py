"""One soak: people living their journeys at once from many addresses while a seeded schedule
injects every fault kind, then the invariants over what they saw and what the tables hold.

The schedule is drawn from `seed`: at the n-th request a client makes, whether a Telnyx API
fault (503 or a hang past the client's 5 s timeout, on send or check) or a webhook fault
(duplicate, reorder, delay, drop) is armed; at each invocation, whether its worker is killed
after its k-th DynamoDB call; the DynamoDB proxy's throttles and 500s per call; and an outage
of the proxy halfway through the requests. The same seed replays the same schedule; which
request meets an armed fault also depends on the threads' interleaving."""

from __future__ import annotations

import random
import re
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import httpx

from devtools.dynamodb_faults import FaultSchedule
from devtools.soak.history import History
from devtools.soak.invariants import Verdict, check_all, killed_answers
from devtools.soak.journeys import Abandoned, Person, Phones
from devtools.soak.rig import Rig

TELNYX_FAULTS = (
    ("send", {"status": 503}),
    ("verify", {"status": 503}),
    ("send", {"delay_ms": 6000}),  # past the functions' 5 s Telnyx timeout: sent, answer lost
    ("verify", {"delay_ms": 6000}),
    ("send", {"status": 503, "apply": "after"}),  # sent, then the error
)
WEBHOOK_FAULTS = ("duplicate", "reorder", "delay", "drop")
KILLED = re.compile(r"killed after DynamoDB \w+ \(RequestId: ([0-9a-f-]+)\)")


@dataclass
class SoakConfig:
    seed: int = 1
    people: int = 200
    concurrency: int = 12
    port_base: int = 0
    dynamodb_endpoint: str | None = None  # a DynamoDB Local already running, else one of ours
    telnyx_share: float = 0.03  # per request: arm one Telnyx API fault
    webhook_share: float = 0.08  # per request: arm one webhook fault
    kill_share: float = 0.03  # per invocation: kill its worker after 1-4 DynamoDB calls
    throttle_share: float = 0.02
    error_share: float = 0.01
    error_after_share: float = 0.005
    outage_secs: float = 3.0
    expected_requests: int = 2000  # the outage starts at half of this


@dataclass
class Report:
    config: SoakConfig
    seconds: float = 0.0
    outcomes: Counter[str] = field(default_factory=Counter)
    statuses: Counter[int] = field(default_factory=Counter)
    faults: Counter[str] = field(default_factory=Counter)
    killed_answers: Counter[int] = field(default_factory=Counter)
    verdicts: list[Verdict] = field(default_factory=list)
    requests: int = 0
    five_hundreds: list[str] = field(default_factory=list)  # every 500, none expected
    project_5xx: Counter[str] = field(default_factory=Counter)  # 502/503/504 by code
    log_lines: list[str] = field(default_factory=list, repr=False)  # the functions' log

    @property
    def violations(self) -> int:
        return sum(len(v.violations) for v in self.verdicts)


class Schedule:
    """The seeded fault schedule, ticked by every client request and asked by every invocation."""

    def __init__(self, cfg: SoakConfig, rig: Rig) -> None:
        self.cfg, self.rig = cfg, rig
        self._lock = threading.Lock()
        self._requests = random.Random(cfg.seed)  # noqa: S311 - a schedule, not a secret
        self._invocations = random.Random(cfg.seed + 1)  # noqa: S311
        self.armed: Counter[str] = Counter()
        self.count = 0

    def tick(self) -> None:
        assert self.rig.stack is not None
        emulator, proxy = self.rig.stack.emulator, self.rig.proxy
        assert emulator is not None and proxy is not None
        with self._lock:
            self.count += 1
            draw, pick = self._requests.random(), self._requests.random()
            if self.count == self.cfg.expected_requests // 2:
                proxy.outage(self.cfg.outage_secs)
                self.armed["dynamodb outage"] += 1
            if draw < self.cfg.telnyx_share:
                endpoint, fault = TELNYX_FAULTS[int(pick * len(TELNYX_FAULTS))]
                emulator.add_fault(endpoint, **fault)
                kind = "timeout" if "delay_ms" in fault else f"{fault['status']}"
                self.armed[f"telnyx {endpoint} {kind}{' after' if 'apply' in fault else ''}"] += 1
            elif draw < self.cfg.telnyx_share + self.cfg.webhook_share:
                kind = WEBHOOK_FAULTS[int(pick * len(WEBHOOK_FAULTS))]
                emulator.add_webhook_fault(kind, delay_ms=3000 if kind == "delay" else 0)
                self.armed[f"webhook {kind}"] += 1

    def kill_plan(self, function_id: str, request_id: str) -> int | None:
        with self._lock:
            draw, calls = self._invocations.random(), self._invocations.randint(1, 4)
            if "Authorizer" in function_id or draw >= self.cfg.kill_share:
                return None
            self.armed["kill planned"] += 1
            return calls


def run(cfg: SoakConfig) -> Report:
    report, started = Report(cfg), time.monotonic()
    with Rig(cfg.port_base, cfg.dynamodb_endpoint) as rig:
        assert rig.stack is not None and rig.stack.gateway is not None and rig.proxy is not None
        emulator = rig.stack.emulator
        assert emulator is not None
        history, phones, schedule = History(), Phones(), Schedule(cfg, rig)
        rig.proxy.set_schedule(
            FaultSchedule(cfg.seed, cfg.throttle_share, cfg.error_share, cfg.error_after_share)
        )
        rig.stack.gateway.set_kill_plan(schedule.kill_plan)

        def live(index: int) -> str:
            address = f"127.0.{1 + index % 8}.{1 + (index // 8) % 250}"
            transport = httpx.HTTPTransport(local_address=address)
            with httpx.Client(base_url=rig.stack.api_url, transport=transport, timeout=40) as http:  # type: ignore[union-attr]
                person = Person(
                    random.Random(cfg.seed * 100_003 + index),  # noqa: S311
                    http,
                    history,
                    emulator,
                    phones,
                    f"p{index}",
                    on_request=schedule.tick,
                )
                try:
                    person.live()
                except Abandoned as exc:
                    return f"abandoned: {str(exc).split(' ')[0]}"
                return "done"

        with ThreadPoolExecutor(cfg.concurrency) as pool:
            report.outcomes.update(pool.map(live, range(cfg.people)))
        # Quiet again: deliveries and sweeps finish, then the reconciler, then the tables.
        rig.proxy.set_schedule(FaultSchedule())
        rig.stack.gateway.set_kill_plan(None)
        emulator.clear_faults()
        emulator.wait_for_webhooks(timeout=30)
        rig.stack.deliver_notices()
        reconciled = rig.has_reconciler
        if reconciled:
            rig.reconcile()
        snap = rig.snapshot(reconciled)
        history.killed.update(m.group(1) for line in snap.log_lines for m in KILLED.finditer(line))
        report.verdicts = check_all(history, snap)
        report.log_lines = snap.log_lines
        report.faults = schedule.armed + Counter(
            {f"dynamodb {k}": n for k, n in rig.proxy.counts.items() if k != "pass"}
        )
        report.faults["kill happened"] = len(history.killed)
    report.seconds = time.monotonic() - started
    report.requests = len(history.exchanges)
    report.statuses = Counter(ex.status for ex in history.exchanges)
    report.killed_answers = killed_answers(history)
    mine = [ex for ex in history.exchanges if ex.request_id not in history.killed]
    report.five_hundreds = [
        f"{ex.method} {ex.path} {ex.body.get('code', '')} {ex.request_id}"
        for ex in mine
        if ex.status == 500
    ]
    report.project_5xx = Counter(
        f"{ex.status} {ex.body.get('code', '(gateway)')}" for ex in mine if ex.status > 500
    )
    return report
