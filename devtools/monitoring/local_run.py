"""A local run's metrics: the local stack driven through sign-ins, sign-ups, payments and
forged webhooks, and what its functions printed collected as CloudWatch would (the Embedded
Metric Format lines; the REPORT lines' durations), plus the API's answers by status class.

Only `make dashboard-picture` runs this (tests feed the picture a small metrics file)."""

from __future__ import annotations

import contextlib
import io
import json
import random
import re
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from devtools.monitoring.dashboard import PICTURE_VALUES

API = {"ApiName": PICTURE_VALUES["AWS::StackName"], "Stage": PICTURE_VALUES["Stage"]}
DEMO = {"email": "demo@example.com", "password": "correct horse battery staple"}
DEMO_PHONE = "+14155550123"
FUNCTION_LINE = re.compile(r"^\[(?P<function>[A-Za-z0-9]+)\] (?P<text>.*)$")
DURATION = re.compile(r"^REPORT RequestId: \S+\s+Duration: (?P<ms>[0-9.]+) ms")


@dataclass
class Collected:
    """Data points as CloudWatch stores them: (seconds into the run, namespace, metric name,
    dimensions, value)."""

    clock: Callable[[], float] = time.time
    started: float = -1.0  # -1: the clock's time when made
    points: list[dict[str, Any]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.started < 0:
            self.started = self.clock()

    def add(self, at: float, namespace: str, name: str, dims: dict[str, str], value: float) -> None:
        self.points.append(
            {"t": round(at - self.started, 3), "namespace": namespace, "name": name,
             "dims": dims, "value": value}
        )  # fmt: skip

    def function_line(self, function: str, text: str) -> None:
        now = self.clock()
        if report := DURATION.match(text):
            name = f"{PICTURE_VALUES['AWS::StackName']}-{function}"
            self.add(now, "AWS/Lambda", "Duration", {"FunctionName": name}, float(report["ms"]))
            return
        if not text.startswith("{") or '"_aws"' not in text:
            return
        with contextlib.suppress(ValueError, KeyError, TypeError):
            emf = json.loads(text)
            at = emf["_aws"].get("Timestamp", now * 1000) / 1000
            for block in emf["_aws"]["CloudWatchMetrics"]:
                dims = {d: str(emf[d]) for group in block["Dimensions"] for d in group}
                for metric in block["Metrics"]:
                    values = emf[metric["Name"]]
                    for value in values if isinstance(values, list) else [values]:
                        self.add(at, block["Namespace"], metric["Name"], dims, float(value))

    def answer(self, status: int) -> None:
        now = self.clock()
        self.add(now, "AWS/ApiGateway", "Count", API, 1)
        self.add(now, "AWS/ApiGateway", "4XXError", API, 1 if 400 <= status < 500 else 0)
        self.add(now, "AWS/ApiGateway", "5XXError", API, 1 if status >= 500 else 0)

    def as_json(self) -> dict[str, Any]:
        return {"duration": round(self.clock() - self.started, 3), "points": self.points}


class _Tee(io.TextIOBase):
    """Where the local gateway's log sink writes (sys.stderr): each function line collected."""

    def __init__(self, collected: Collected) -> None:
        self._collected, self._buffer = collected, ""

    def write(self, text: str) -> int:
        self._buffer += text
        *lines, self._buffer = self._buffer.split("\n")
        for line in lines:
            if match := FUNCTION_LINE.match(line):
                self._collected.function_line(match["function"], match["text"])
        return len(text)


@contextlib.contextmanager
def _collecting(collected: Collected) -> Iterator[None]:
    previous = sys.stderr
    sys.stderr = _Tee(collected)
    try:
        yield
    finally:
        sys.stderr = previous


def run(rounds: int = 10) -> dict[str, Any]:
    """Starts the local stack on free ports, drives `rounds` rounds of traffic, stops it."""
    import httpx

    from devtools.local_stack.config import StackConfig
    from devtools.local_stack.ports import free_port
    from devtools.local_stack.stack import LocalStack

    collected = Collected()
    config = StackConfig(
        api_port=free_port(), emulator_port=free_port(), aws_port=free_port(),
        static_dir=None, quiet=True, serve_openapi=False, notice_poll_secs=0.0,
        webhook_timeout_secs=60.0,
    )  # fmt: skip
    with _collecting(collected), LocalStack(config) as stack:
        emulator = stack.emulator
        assert emulator is not None
        with httpx.Client(base_url=stack.api_url, timeout=60) as api:

            def post(path: str, body: dict[str, Any], **headers: str) -> dict[str, Any]:
                response = api.post(path, json=body, headers=headers)
                collected.answer(response.status_code)
                answer: dict[str, Any] = response.json() if response.content else {}
                return answer

            traffic = Traffic(post, emulator.latest_code, emulator.latest_email_code, api)
            for n in range(rounds):
                traffic.round(n)
        time.sleep(1.5)  # the last REPORT lines
    return collected.as_json()


@dataclass
class Traffic:
    post: Callable[..., dict[str, Any]]
    code_of: Callable[[str], str | None]
    email_code_of: Callable[[str], str | None]
    api: Any
    rng: random.Random = field(default_factory=lambda: random.Random(23))  # noqa: S311

    def wrong(self, code: str | None) -> str:
        return str((int(code or "0") + 1) % 10 ** len(code or "000000")).zfill(len(code or "0" * 6))

    def login(self, *, wrong_first: bool) -> str | None:
        flow = self.post("/login", DEMO).get("flow_id")
        if not flow:
            return None
        code = self.code_of(DEMO_PHONE)
        if wrong_first:
            self.post("/login/verify", {"flow_id": flow, "code": self.wrong(code)})
        token: str | None = self.post("/login/verify", {"flow_id": flow, "code": code}).get("token")
        return token

    def sign_up(self, *, finish: bool) -> None:
        n = self.rng.randrange(1000, 10000)
        email, phone = f"ops-{uuid.uuid4().hex[:8]}@example.com", f"+1415555{n}"
        body = {"name": "Ada Lovelace", "email": email, "phone_number": phone,
                "password": "analytical engine 1843"}  # fmt: skip
        flow = self.post("/register/start", body).get("flow_id")
        if flow and finish:
            self.post(
                "/register/verify",
                {"flow_id": flow, "code": self.code_of(phone),
                 "email_code": self.email_code_of(email)},
            )  # fmt: skip

    def pay(self, token: str) -> None:
        bearer = {"Authorization": f"Bearer {token}", "Idempotency-Key": str(uuid.uuid4())}
        body = {"amount": "250.00", "currency": "USD", "recipient": "acct-42",
                "description": "rent"}  # fmt: skip
        payment = self.post("/payments/initiate", body, **bearer).get("payment_id")
        if payment:
            code = self.code_of(DEMO_PHONE)
            self.post("/payments/confirm", {"payment_id": payment, "code": code}, **bearer)

    def forged_webhook(self) -> None:
        response = self.api.post(
            "/webhooks/telnyx",
            content=b'{"data": {"id": "forged"}}',
            headers={
                "content-type": "application/json",
                "telnyx-signature-ed25519": "AAAA",
                "telnyx-timestamp": str(int(time.time())),
            },
        )
        del response  # a function URL: not the REST API's answers

    def round(self, n: int) -> None:
        token = self.login(wrong_first=n % 3 == 1)
        for k in range(3):
            self.sign_up(finish=k != 2)  # one sign-up in three never enters its codes
        if token:
            self.pay(token)
        if n >= 2:
            self.forged_webhook()
            self.forged_webhook()
        time.sleep(2)
