"""An SMS-pumping campaign replayed against a local stack (`make bench`, its quick mode, and
tests/security/test_fraud_guard_campaign.py).

Forty loopback addresses (127.0.1.1-40, each client bound to its own) ask for sign-up codes to
fresh numbers of two prefixes, while people at other addresses (127.0.2.x) sign in with their
code, pay above the threshold with theirs, reset a password and sign up with numbers of other
prefixes of the same country. What counts is what the Telnyx emulator actually sent, and every
answer that refused a legitimate request.

The schedule is fixed: `rounds` rounds, each of one sign-up per attacking address (the two
prefixes alternate) and the round's legitimate actions spread among them, all through one
thread pool; a round ends before the next begins. Nothing waits on the wall clock, and every
figure is a count.
"""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import httpx

from devtools.local_stack.stack import LocalStack
from phoneverify import config
from tests.security.conftest import LimitedTarget, limited
from tests.support import accounts
from tests.support.stacks import dynamodb_of

# The setting: the whole service's budget scaled down to 60 codes an hour; every other
# limit at the template's defaults (not devtools/local_stack/config.py's raised LOCAL_SEND_LIMITS).
# bcrypt at its least cost: the campaign counts codes, not time, and sign-ups hash a password.
CAMPAIGN_ENV = {"SMS_BUDGET": "60", "BCRYPT_COST": "10"}
SEND_WINDOW_SECS = 3_600  # the template's SEND_LIMIT_WINDOW_SECS: counters start over each hour

ATTACKED_PREFIXES = ("+1415556", "+1415557")
# Legitimate sign-ups: other prefixes of the same country (+1, US). The seeded accounts that
# sign in, pay and reset have numbers of tests/support/accounts.py's (+1 312 555 01xx).
OTHER_PREFIXES = ("+1212555", "+1312555")
AMOUNT = "250.00"  # above the USD threshold (100.00): the payment needs its code
PASSWORD = "campaign passphrase of a real customer"  # noqa: S105 - seeded accounts'
NEW_PASSWORD = "a brand new passphrase after the reset"  # noqa: S105

# Flows of the legitimate traffic, as reported.
LOGIN = "login"
PAYMENT = "payment"
RESET = "password reset"
SIGN_UP = "sign-up, other prefixes"
SIGN_UP_ATTACKED = "sign-up, attacked prefixes"
FLOWS = (LOGIN, PAYMENT, RESET, SIGN_UP, SIGN_UP_ATTACKED)
ATTACK = "attack"  # the attacker's sign-ups
# The send tier each flow's codes are counted in (docs/abuse-controls.md), where the answer
# does not name it.
TIER_OF_FLOW = {
    ATTACK: "unproven",
    LOGIN: "verified",
    PAYMENT: "verified",
    RESET: "reset",
    SIGN_UP: "unproven",
    SIGN_UP_ATTACKED: "unproven",
}
BUDGET_EXHAUSTED = "sms_budget_exhausted"
# Settings reported as in force for the campaign (those of them the functions know): the send
# caps and the budget, the tiers' shares, the prefix detector's and the gate's.
REPORTED_SETTINGS = ("max_sends_per_", "sms_budget", "sms_share_", "prefix_", "country_hold_")
REPORTED_SETTINGS_EXACT = ("send_limit_window_secs", "challenge_mode")

_attacked = {prefix: itertools.count() for prefix in ATTACKED_PREFIXES}
_others = {prefix: itertools.count(2_000) for prefix in OTHER_PREFIXES}  # 2000-9999


def attacked_number(prefix: str) -> str:
    """A fresh number of an attacked prefix (valid, FIXED_LINE_OR_MOBILE as all of +1)."""
    return f"{prefix}{next(_attacked[prefix]):04d}"


def other_number(prefix: str) -> str:
    return f"{prefix}{next(_others[prefix]):04d}"


@dataclass(frozen=True)
class CampaignPlan:
    """How big the campaign is. Per round: one sign-up per attacking address, and the
    legitimate actions below (each by its own person, from its own address)."""

    rounds: int
    attackers: int = 40
    logins: int = 2
    payments: int = 1  # a login for the token, then the payment with its code
    resets: int = 1
    sign_ups: int = 1
    # Legitimate sign-ups to numbers of the attacked prefixes, in the last round only: what a
    # held prefix costs its real customers (reported, not a criterion).
    sign_ups_in_attacked_prefixes: int = 1
    workers: int = 8

    @property
    def attack_requests(self) -> int:
        return self.rounds * self.attackers


QUICK = CampaignPlan(rounds=2)  # 80 sign-ups from 40 addresses; make test, the attack test
FULL = CampaignPlan(rounds=5)  # 200 from 40: the measurement


@dataclass
class FlowTally:
    attempted: int = 0
    completed: int = 0
    # (step, status, error code) -> how many
    refused: Counter[tuple[str, int, str]] = field(default_factory=Counter)

    @property
    def refusals(self) -> int:
        return sum(self.refused.values())


@dataclass
class CampaignResult:
    plan: CampaignPlan
    settings: dict[str, str]  # the campaign's overrides
    # the limits in force at POST /register/start and POST /login: name -> value
    limits: dict[str, str] = field(default_factory=dict)
    # attacked prefix -> sign-ups asked / codes the emulator sent to its numbers
    asked: Counter[str] = field(default_factory=Counter)
    codes: Counter[str] = field(default_factory=Counter)
    legit_codes: int = 0  # codes the emulator sent to the legitimate people's numbers
    # attacked prefix -> (status, error code) -> how many
    attacker_answers: dict[str, Counter[tuple[int, str]]] = field(default_factory=dict)
    legit: dict[str, FlowTally] = field(default_factory=lambda: {f: FlowTally() for f in FLOWS})
    # (tier, flow) -> answers 503 sms_budget_exhausted; the tier the answer names, else the
    # flow's (TIER_OF_FLOW)
    breaker: Counter[tuple[str, str]] = field(default_factory=Counter)
    held: list[str] = field(default_factory=list)  # hold items in RateLimitsTable at the end
    seconds: float = 0.0
    straddled_window: bool = False

    def refused(self, *flows: str) -> int:
        return sum(self.legit[flow].refusals for flow in flows)

    def breaker_opened(self, tier: str) -> bool:
        """Whether any request of `tier`'s flows was answered 503 sms_budget_exhausted."""
        return any(n for (opened, _), n in self.breaker.items() if opened == tier)

    def summary(self) -> str:
        """One line per figure, for a failed assertion's message."""
        lines = [f"settings {self.settings}, {self.plan}"]
        for prefix in ATTACKED_PREFIXES:
            answers = dict(self.attacker_answers[prefix])
            lines.append(
                f"{prefix}: asked {self.asked[prefix]}, codes {self.codes[prefix]}, {answers}"
            )
        for flow, tally in self.legit.items():
            lines.append(
                f"{flow}: {tally.attempted} attempted, {tally.completed} completed, "
                f"refused {dict(tally.refused)}"
            )
        lines.append(f"503 {BUDGET_EXHAUSTED}: {dict(self.breaker)}; held: {self.held}")
        return "\n".join(lines)

    def criteria(self) -> list[tuple[str, str, bool]]:
        """Issue 17's criteria: (criterion, what was measured, whether it holds)."""
        kept_up = self.refused(LOGIN, PAYMENT, RESET)
        most = max(self.codes[prefix] for prefix in ATTACKED_PREFIXES)
        verified = sum(n for (tier, _), n in self.breaker.items() if tier == "verified")
        return [
            ("0 legitimate login, payment or reset codes refused", f"{kept_up}", kept_up == 0),
            (
                "0 legitimate sign-ups refused outside the attacked prefixes",
                f"{self.refused(SIGN_UP)}",
                self.refused(SIGN_UP) == 0,
            ),
            (
                "at most 30 codes to the attacker's numbers per attacked prefix",
                f"{most} (the most of the two)",
                most <= 30,
            ),
            (
                "the tier serving login never opens its breaker",
                f"{verified} answers 503 {BUDGET_EXHAUSTED} from the verified tier",
                not self.breaker_opened("verified"),
            ),
        ]

    def done_when(self) -> dict[str, bool]:
        return {name: holds for name, _, holds in self.criteria()}


def error_code(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return "-"
    return str(body.get("code", "-")) if isinstance(body, dict) else "-"


def tier_of(flow: str, response: httpx.Response) -> str:
    """The send tier an answer names (a `tier` field), else `flow`'s (TIER_OF_FLOW; "" for
    none)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    named = body.get("tier") if isinstance(body, dict) else None
    return named if isinstance(named, str) and named else TIER_OF_FLOW.get(flow, "")


class _Refused(Exception):
    def __init__(self, step: str, response: httpx.Response | None, why: str = "") -> None:
        self.step = step
        self.status = response.status_code if response is not None else 0
        self.code = error_code(response) if response is not None else why
        self.tier = tier_of("", response) if response is not None else ""
        super().__init__(f"{step}: {self.status} {self.code}")


class Campaign:
    """One run of a plan against a gateway (`LimitedTarget`) whose functions use `stack`'s
    tables (accounts are seeded there) and whose RateLimitsTable is the campaign's own."""

    def __init__(self, target: LimitedTarget, stack: LocalStack, plan: CampaignPlan) -> None:
        self.target, self.stack, self.plan = target, stack, plan
        self.result = CampaignResult(plan, dict(CAMPAIGN_ENV))
        for prefix in ATTACKED_PREFIXES:
            self.result.attacker_answers[prefix] = Counter()
        self._attack_numbers: dict[str, list[str]] = {p: [] for p in ATTACKED_PREFIXES}
        self._legit_numbers: set[str] = set()
        self._legit_sources = (f"127.0.2.{n}" for n in itertools.count(1))
        self._tally_lock = threading.Lock()

    # -- the schedule ------------------------------------------------------------------------
    def run(self) -> CampaignResult:
        plan = self.plan
        rounds = [self._round(r) for r in range(plan.rounds)]  # accounts seeded up front
        started = time.time()
        with ThreadPoolExecutor(max_workers=plan.workers) as pool:
            for tasks in rounds:
                # list(): the round ends before the next starts; exceptions surface here
                list(pool.map(lambda task: task(), tasks))
        ended = time.time()
        self.result.seconds = ended - started
        self.result.straddled_window = int(started // SEND_WINDOW_SECS) != int(
            ended // SEND_WINDOW_SECS
        )
        self._count_codes()
        self._read_holds()
        self.result.limits = limits_in_force(self.target)
        return self.result

    def _round(self, index: int) -> list[Callable[[], None]]:
        """The round's attacking sign-ups, one per address, with the legitimate actions spread
        evenly among them."""
        plan = self.plan
        attack: list[Callable[[], None]] = []
        for n in range(plan.attackers):
            prefix = ATTACKED_PREFIXES[(n + index) % len(ATTACKED_PREFIXES)]
            attack.append(self._attack_task(f"127.0.1.{n + 1}", prefix))
        legit: list[Callable[[], None]] = []
        legit += [self._login_task(self._account()) for _ in range(plan.logins)]
        legit += [self._payment_task(self._account()) for _ in range(plan.payments)]
        legit += [self._reset_task(self._account()) for _ in range(plan.resets)]
        legit += [
            self._sign_up_task(SIGN_UP, other_number(OTHER_PREFIXES[(index + k) % 2]))
            for k in range(plan.sign_ups)
        ]
        if index == plan.rounds - 1:
            legit += [
                self._sign_up_task(SIGN_UP_ATTACKED, attacked_number(ATTACKED_PREFIXES[k % 2]))
                for k in range(plan.sign_ups_in_attacked_prefixes)
            ]
        tasks: list[Callable[[], None]] = []
        every = max(1, len(attack) // (len(legit) + 1))
        for n, task in enumerate(attack):
            tasks.append(task)
            if (n + 1) % every == 0 and legit:
                tasks.append(legit.pop(0))
        return tasks + legit

    def _account(self) -> accounts.Account:
        return accounts.seed_account(self.stack, "campaign", PASSWORD)

    # -- the attacker ------------------------------------------------------------------------
    def _attack_task(self, source: str, prefix: str) -> Callable[[], None]:
        number = attacked_number(prefix)
        self._attack_numbers[prefix].append(number)

        def attack() -> None:
            with self.target.client(source) as api:
                response = api.post("/register/start", json=_sign_up_body(number))
            code = error_code(response) if response.status_code != 200 else ""
            with self._tally_lock:
                self.result.asked[prefix] += 1
                self.result.attacker_answers[prefix][(response.status_code, code)] += 1
                if code == BUDGET_EXHAUSTED:
                    self.result.breaker[(tier_of(ATTACK, response), ATTACK)] += 1

        return attack

    # -- legitimate people -------------------------------------------------------------------
    def _legit(self, flow: str, steps: Callable[[httpx.Client], None]) -> Callable[[], None]:
        source = next(self._legit_sources)

        def act() -> None:
            with self._tally_lock:
                self.result.legit[flow].attempted += 1
            try:
                with self.target.client(source) as api:
                    steps(api)
            except _Refused as refused:
                with self._tally_lock:
                    self.result.legit[flow].refused[
                        (refused.step, refused.status, refused.code)
                    ] += 1
                    if refused.code == BUDGET_EXHAUSTED:
                        self.result.breaker[(refused.tier or TIER_OF_FLOW[flow], flow)] += 1
                return
            with self._tally_lock:
                self.result.legit[flow].completed += 1

        return act

    def _code_for(self, step: str, phone: str, before: int) -> str:
        """The code the emulator sent to `phone` since it had `before` codes for it."""
        sent = self.target.emulator.messages(phone, kind="code")
        if len(sent) <= before:
            raise _Refused(step, None, "no code sent")
        return str(sent[0]["code"])

    def _codes_of(self, phone: str) -> int:
        with self._tally_lock:
            self._legit_numbers.add(phone)
        return len(self.target.emulator.messages(phone, kind="code"))

    def _sign_in(self, api: httpx.Client, account: accounts.Account) -> str:
        before = self._codes_of(account.phone)
        started = _expect(
            "login", api.post("/login", json={"email": account.email, "password": PASSWORD})
        )
        code = self._code_for("login", account.phone, before)
        body = {"flow_id": started["flow_id"], "code": code}
        verified = _expect("login verify", api.post("/login/verify", json=body))
        return str(verified["token"])

    def _login_task(self, account: accounts.Account) -> Callable[[], None]:
        def login(api: httpx.Client) -> None:
            self._sign_in(api, account)

        return self._legit(LOGIN, login)

    def _payment_task(self, account: accounts.Account) -> Callable[[], None]:
        def pay(api: httpx.Client) -> None:
            auth = {"Authorization": f"Bearer {self._sign_in(api, account)}"}
            before = self._codes_of(account.phone)
            order = {"amount": AMOUNT, "currency": "USD", "recipient": "Acme Supplies"}
            initiated = _expect(
                "initiate", api.post("/payments/initiate", json=order, headers=auth)
            )
            if not initiated.get("requires_verification"):
                raise _Refused("initiate", None, "no step-up asked")
            code = self._code_for("initiate", account.phone, before)
            body = {"payment_id": initiated["payment_id"], "code": code}
            _expect("confirm", api.post("/payments/confirm", json=body, headers=auth))

        return self._legit(PAYMENT, pay)

    def _reset_task(self, account: accounts.Account) -> Callable[[], None]:
        def reset(api: httpx.Client) -> None:
            before = self._codes_of(account.phone)
            started = _expect(
                "reset start", api.post("/password/reset/start", json={"email": account.email})
            )
            code = self._code_for("reset start", account.phone, before)
            body = {"flow_id": started["flow_id"], "code": code, "new_password": NEW_PASSWORD}
            _expect("reset verify", api.post("/password/reset/verify", json=body))

        return self._legit(RESET, reset)

    def _sign_up_task(self, flow: str, number: str) -> Callable[[], None]:
        def sign_up(api: httpx.Client) -> None:
            before = self._codes_of(number)
            form = _sign_up_body(number)
            started = _expect("start", api.post("/register/start", json=form))
            code = self._code_for("start", number, before)
            email_code = self.target.emulator.latest_email_code(form["email"])
            body = {"flow_id": started["flow_id"], "code": code, "email_code": email_code}
            _expect("verify", api.post("/register/verify", json=body))

        return self._legit(flow, sign_up)

    # -- what was sent -----------------------------------------------------------------------
    def _count_codes(self) -> None:
        """Codes the emulator sent (delivered or not) to the attacker's numbers, per prefix,
        and to the legitimate people's."""
        for prefix, numbers in self._attack_numbers.items():
            self.result.codes[prefix] = sum(self._sent_to(number) for number in numbers)
        self.result.legit_codes = sum(self._sent_to(number) for number in self._legit_numbers)

    def _sent_to(self, number: str) -> int:
        return len(self.target.emulator.messages(number, include_undelivered=True, kind="code"))

    def _read_holds(self) -> None:
        """Prefixes and countries held (`hold#...` items) in the campaign's RateLimitsTable."""
        env = self.target.gateway.extra_env
        dynamodb = dynamodb_of(env)
        held: list[str] = []
        pages = dynamodb.get_paginator("scan").paginate(
            TableName=env["RATE_LIMITS_TABLE"],
            FilterExpression="begins_with(pk, :hold)",
            ExpressionAttributeValues={":hold": {"S": "hold#"}},
        )
        for page in pages:
            held += [item["pk"]["S"].removeprefix("hold#") for item in page["Items"]]
        self.result.held = sorted(held)


def limits_in_force(target: LimitedTarget) -> dict[str, str]:
    """The send limits the functions run with (their environment, else the settings'
    defaults), as the sign-up and login functions see them; only settings the functions know."""
    fields: dict[str, Any] = {}
    for settings in vars(config).values():
        if isinstance(settings, type) and issubclass(settings, config.Settings):
            fields.update(settings.model_fields)
    wanted = sorted(
        name
        for name in fields
        if name.startswith(REPORTED_SETTINGS) or name in REPORTED_SETTINGS_EXACT
    )
    found: dict[str, str] = {}
    for function in ("RegisterStartFunction", "LoginFunction"):
        env = target.gateway.function_environment(function)
        for name in wanted:
            default = fields[name].default
            found.setdefault(name.upper(), env.get(name.upper(), str(default)))
    return found


def _sign_up_body(number: str) -> dict[str, str]:
    return {
        "name": "Sam Signup",
        "email": f"su-{uuid.uuid4().hex[:12]}@example.com",
        "phone_number": number,
        "password": PASSWORD,
    }


def _expect(step: str, response: httpx.Response) -> dict[str, Any]:
    """The answer's body when it is a success (2xx), else a refusal at `step`."""
    if not response.is_success:
        raise _Refused(step, response)
    body: dict[str, Any] = response.json()
    return body


def run_campaign(stack: LocalStack, plan: CampaignPlan) -> CampaignResult:
    """The campaign against the template's functions with CAMPAIGN_ENV, behind a gateway of
    their own with a fresh RateLimitsTable (tests/security/conftest.py `limited`). Counters
    start over each hour: a run that crossed into the next hour is run again, once, from a
    fresh table (it then has a whole hour)."""
    result: CampaignResult | None = None
    for _ in range(2):
        with limited(stack, CAMPAIGN_ENV) as target:
            result = Campaign(target, stack, plan).run()
        if not result.straddled_window:
            break
    assert result is not None
    return result
