"""What one person does, as the web page would: sign up, log in with a second code, pay above
and below the threshold with Idempotency-Key retries, resend and cancel, then a password
reset, a phone change (after a step-up) or a logout; each request recorded in the History.

A request that fails (a fault) is retried a few times as a client would, honouring
Retry-After up to a second; after that the person gives up (`Abandoned`). The person also
tries what must fail: a code superseded by a resend, a code after a cancel, a token after it
ended. Those answers are what the invariants read."""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import httpx

from devtools.soak.history import Exchange, History, fingerprint
from devtools.telnyx_emulator import TelnyxEmulator

RETRIES = 3
CODE_WAIT_SECS = 10.0
AREA_CODES = (
    "201",
    "212",
    "305",
    "312",
    "415",
    "503",
    "512",
    "617",
    "650",
    "702",
    "713",
    "720",
    "801",
    "808",
    "904",
    "919",
    "206",
    "404",
    "480",
    "602",
)


class Abandoned(Exception):
    """The person gave up: a fault outlasted their retries."""


class Phones:
    """Fictional numbers (555-0100 to 555-0199 in many area codes), each handed out once."""

    def __init__(self) -> None:
        self._numbers = iter(f"+1{area}5550{n:03d}" for n in range(100, 200) for area in AREA_CODES)
        self._lock = threading.Lock()

    def take(self) -> str:
        with self._lock:
            return next(self._numbers)


@dataclass
class Person:
    rng: random.Random
    http: httpx.Client
    history: History
    emulator: TelnyxEmulator
    phones: Phones
    name: str
    email: str = ""
    phone: str = ""
    password: str = ""
    tokens: list[str] = field(default_factory=list)  # every token this person was given
    on_request: Callable[[], None] = lambda: None  # the fault schedule's tick

    # -- one request --------------------------------------------------------------------
    def call(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        *,
        token: str | None = None,
        headers: dict[str, str] | None = None,
        flow: str | None = None,
        code_state: str | None = None,
        ends: tuple[str, ...] = (),
    ) -> Exchange:
        self.on_request()
        sent = dict(headers or {})
        if token:
            sent["Authorization"] = f"Bearer {token}"
        started = time.monotonic()
        try:
            response = self.http.request(method, path, json=body, headers=sent)
            status, retry_after = response.status_code, response.headers.get("Retry-After")
            request_id = response.headers.get("x-amzn-RequestId", "")
            try:
                parsed = response.json()
            except ValueError:
                parsed = {}
        except httpx.HTTPError:
            status, retry_after, request_id, parsed = 0, None, "", {}
        exchange = Exchange(
            self.name,
            method,
            path,
            status,
            parsed if isinstance(parsed, dict) else {},
            retry_after,
            request_id,
            started,
            time.monotonic(),
            token=fingerprint(token) if token else None,
            flow=flow,
            code_state=code_state,
            ends=ends,
        )
        self.history.add(exchange)
        return exchange

    def must(
        self,
        method: str,
        path: str,
        body: dict[str, Any] | None = None,
        ok: tuple[int, ...] = (200,),
        **kw: Any,
    ) -> Exchange:
        """The request, retried on a fault (5xx, no answer, 409/429 with Retry-After)."""
        for _ in range(RETRIES):
            ex = self.call(method, path, body, **kw)
            if ex.status in ok:
                return ex
            if ex.status and ex.status < 500 and not ex.retry_after:
                raise Abandoned(f"{path} {ex.status} {ex.body.get('code')}")
            time.sleep(min(float(ex.retry_after or 0.2), 1.0))
        raise Abandoned(f"{path} kept failing")

    # -- codes --------------------------------------------------------------------------
    def sms_code(self, phone: str, not_this: str | None = None) -> str:
        deadline = time.monotonic() + CODE_WAIT_SECS
        while time.monotonic() < deadline:
            code = self.emulator.latest_code(phone)
            if code is not None and code != not_this:
                self.history.secret(code=code)
                return code
            time.sleep(0.05)
        raise Abandoned("no code arrived")

    def code_flow(
        self,
        start: Callable[[], Exchange],
        verify_path: str,
        key: str,
        extra: dict[str, Any],
        phone: str,
        resend_path: str | None = None,
        **kw: Any,
    ) -> Exchange:
        """Start a flow, maybe resend (and try the superseded code), then verify."""
        before = self.emulator.latest_code(phone)
        started = start()
        flow = str(started.body.get(key))
        code = self.sms_code(phone, not_this=before)
        if resend_path and self.rng.random() < 0.3:
            code = self.resend(resend_path, verify_path, key, flow, code, phone, extra, **kw)
        return self.must(
            "POST", verify_path, {key: flow, "code": code, **extra}, ok=(200, 201), flow=flow, **kw
        )

    def resend(
        self,
        resend_path: str,
        verify_path: str,
        key: str,
        flow: str,
        code: str,
        phone: str,
        extra: dict[str, Any] | None = None,
        **kw: Any,
    ) -> str:
        """Ask for a resend; if answered, try the superseded code (which must fail) and return
        the new one, else `code` still stands."""
        if not self.call("POST", resend_path, {key: flow}, flow=flow, **kw).ok:
            return code
        new = self.sms_code(phone, not_this=code)
        self.call(
            "POST",
            verify_path,
            {key: flow, "code": code, **(extra or {})},
            flow=flow,
            code_state="superseded",
            **kw,
        )
        return new

    # -- journeys -----------------------------------------------------------------------
    def sign_up(self) -> None:
        self.email = f"{self.name}-{uuid.uuid4().hex[:6]}@example.com"
        self.phone, self.password = self.phones.take(), f"soak passphrase {uuid.uuid4().hex}"
        self.history.secret(password=self.password)
        body = {
            "name": self.name,
            "email": self.email,
            "phone_number": self.phone,
            "password": self.password,
        }
        before = self.emulator.latest_code(self.phone)
        flow = str(self.must("POST", "/register/start", body).body.get("flow_id"))
        code = self.sms_code(self.phone, not_this=before)
        email_code = self.emulator.latest_email_code(self.email)
        self.history.secret(code=email_code)
        created = self.must(
            "POST",
            "/register/verify",
            {"flow_id": flow, "code": code, "email_code": email_code},
            ok=(201,),
            flow=flow,
        )
        self.tokens.append(str(created.body["token"]))

    def log_in(self) -> str:
        creds = {"email": self.email, "password": self.password}
        verified = self.code_flow(
            lambda: self.must("POST", "/login", creds),
            "/login/verify",
            "flow_id",
            {},
            self.phone,
            "/login/resend",
        )
        self.tokens.append(str(verified.body["token"]))
        return self.tokens[-1]

    def pay(self, token: str) -> None:
        amount = self.rng.choice(["250.00", "50.00", "12.34", "999.99"])
        body = {"amount": amount, "currency": "USD", "recipient": f"acct-{self.rng.randint(1, 9)}"}
        key = {"Idempotency-Key": uuid.uuid4().hex}
        before = self.emulator.latest_code(self.phone)
        first = self.must("POST", "/payments/initiate", body, token=token, headers=key)
        again = self.call("POST", "/payments/initiate", body, token=token, headers=key)
        if again.ok and again.body.get("payment_id") != first.body.get("payment_id"):
            raise Abandoned("an Idempotency-Key retry made a second payment")
        if not first.body.get("requires_verification"):
            return
        payment = str(first.body["payment_id"])
        code = self.sms_code(self.phone, not_this=before)
        if self.rng.random() < 0.15:  # walks away, then tries the code anyway
            self.must("POST", "/verify/cancel", {"payment_id": payment}, token=token, flow=payment)
            self.call(
                "POST",
                "/payments/confirm",
                {"payment_id": payment, "code": code},
                token=token,
                flow=payment,
                code_state="ended",
            )
            return
        if self.rng.random() < 0.2:
            code = self.resend(
                "/payments/resend",
                "/payments/confirm",
                "payment_id",
                payment,
                code,
                self.phone,
                token=token,
            )
        self.must(
            "POST",
            "/payments/confirm",
            {"payment_id": payment, "code": code},
            token=token,
            flow=payment,
        )

    def reset_password(self) -> None:
        new = f"soak passphrase {uuid.uuid4().hex}"
        self.history.secret(password=new)
        ends = tuple(fingerprint(t) for t in self.tokens)
        start = partial(self.must, "POST", "/password/reset/start", {"email": self.email})
        self.code_flow(
            start,
            "/password/reset/verify",
            "flow_id",
            {"new_password": new},
            self.phone,
            "/password/reset/resend",
            ends=ends,
        )
        self.password = new
        self.call("GET", "/account", token=self.tokens[-1])  # must be refused now

    def change_phone(self, token: str) -> None:
        start = partial(
            self.must, "POST", "/account/reauth/start", {"password": self.password}, token=token
        )
        reauth = self.code_flow(
            start, "/account/reauth/verify", "flow_id", {}, self.phone, token=token
        )
        new_phone = self.phones.take()
        headers = {"Reauth-Token": str(reauth.body["reauth_token"])}
        ends = tuple(fingerprint(t) for t in self.tokens)
        start = partial(
            self.must,
            "POST",
            "/account/phone/start",
            {"phone_number": new_phone},
            token=token,
            headers=headers,
        )
        changed = self.code_flow(
            start, "/account/phone/verify", "flow_id", {}, new_phone, token=token, ends=ends
        )
        self.phone = new_phone
        self.tokens.append(str(changed.body["token"]))
        self.call("GET", "/account", token=token)  # the old token: must be refused now

    def log_out(self, token: str) -> None:
        self.must("POST", "/logout", {}, token=token, ends=(fingerprint(token),))
        self.call("GET", "/account", token=token)  # must be refused now

    def live(self) -> None:
        """The whole journey; Abandoned ends it early."""
        self.sign_up()
        token = self.log_in()
        for _ in range(self.rng.randint(1, 3)):
            self.pay(token)
        ending = self.rng.choice(["reset", "phone", "logout", "none"])
        if ending == "reset":
            self.reset_password()
        elif ending == "phone":
            self.change_phone(token)
        elif ending == "logout":
            self.log_out(token)
