"""`make run` under concurrency: the local stack as `make run` starts it (moto's DynamoDB, the
Telnyx emulator) takes 40 concurrent sign-ups (start and verify with the emulator's codes)
and then 40 concurrent logins with their second factor, each person from a source address of
their own (127.0.1.x) with a number of their own, so what is measured is concurrency, not the
per-address abuse controls. No answer may be a 5xx (moto's backends raced themselves into
500s before the stack serialised them: devtools/local_stack/moto_server.py)."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from devtools.local_stack.stack import LocalStack
from tests.support.stacks import running_stack

PEOPLE = 40
PASSWORD = "analytical engine notes"


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    with running_stack(None) as running:  # None: moto serves DynamoDB, as in make run
        yield running


def client_from(stack: LocalStack, person: int) -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=f"127.0.1.{10 + person}")
    return httpx.Client(base_url=stack.api_url, timeout=120, transport=transport)


def at_once(work: object, people: int = PEOPLE) -> list[list[int]]:
    barrier = threading.Barrier(people)

    def run(person: int) -> list[int]:
        barrier.wait()
        return work(person)  # type: ignore[operator, no-any-return]

    with ThreadPoolExecutor(max_workers=people) as pool:
        return list(pool.map(run, range(people)))


def test_forty_sign_ups_then_forty_logins_at_once_get_no_5xx(stack: LocalStack) -> None:
    emulator = stack.emulator
    assert emulator is not None
    people = [
        (f"crowd-{uuid.uuid4().hex[:10]}@example.com", f"+1415555{140 + i:04d}")
        for i in range(PEOPLE)
    ]

    def sign_up(person: int) -> list[int]:
        email, phone = people[person]
        with client_from(stack, person) as api:
            body = {"name": "Crowd", "email": email, "phone_number": phone, "password": PASSWORD}
            started = api.post("/register/start", json=body)
            if started.status_code != 200:
                return [started.status_code]
            codes = {
                "flow_id": started.json()["flow_id"],
                "code": emulator.latest_code(phone),
                "email_code": emulator.latest_email_code(email),
            }
            verified = api.post("/register/verify", json=codes)
            return [started.status_code, verified.status_code]

    def log_in(person: int) -> list[int]:
        email, phone = people[person]
        with client_from(stack, person) as api:
            started = api.post("/login", json={"email": email, "password": PASSWORD})
            if started.status_code != 200:
                return [started.status_code]
            code = emulator.latest_code(phone)
            verified = api.post(
                "/login/verify", json={"flow_id": started.json()["flow_id"], "code": code}
            )
            return [started.status_code, verified.status_code]

    signed_up = at_once(sign_up)
    assert not [s for statuses in signed_up for s in statuses if s >= 500], signed_up
    assert signed_up == [[200, 201]] * PEOPLE, signed_up
    logged_in = at_once(log_in)
    assert not [s for statuses in logged_in for s in statuses if s >= 500], logged_in
    assert logged_in == [[200, 200]] * PEOPLE, logged_in
