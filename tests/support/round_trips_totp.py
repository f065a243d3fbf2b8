"""The authenticator app in the round-trip table (tests/support/round_trips.py): its
enrolment, a login by its code and by a recovery code, and its removal (docs/factors.md).
KMS's Encrypt and Decrypt are not counted here (one each where the secret is sealed or read).
The functions that read the app's codes share one frozen clock, so no code races the wall
clock."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlparse

import pyotp

from tests.support.fakes import FakeClock

if TYPE_CHECKING:
    from tests.support.round_trips import _Measured

FUNCTIONS = ["account_totp_start", "account_totp_verify", "account_totp_remove"]


def measure_totp(
    run: _Measured, user_id: str, email: str, password: str, reauth: dict[str, str]
) -> None:
    """`user_id` signed in, `reauth` its step-up's header; it has no app after."""
    clock = FakeClock(float(int(time.time())))
    for name in [*FUNCTIONS, "login", "login_verify"]:
        run.stack.functions[name].runtime.clock = clock
    started = run.measure(
        "POST /account/totp/start",
        lambda: run.pay("account_totp_start", {}, user_id, reauth),
    )
    secret = parse_qs(urlparse(started["otpauth_uri"]).query)["secret"][0]
    body = {"flow_id": started["flow_id"], "code": pyotp.TOTP(secret).at(clock.now())}
    done = run.measure(
        "POST /account/totp/verify", lambda: run.pay("account_totp_verify", body, user_id)
    )
    clock.advance(30)
    login = {"email": email, "password": password}
    flow = run.measure("POST /login (account with an app)", lambda: run.call("login", login))
    body = {"flow_id": flow["flow_id"], "code": pyotp.TOTP(secret).at(clock.now())}
    run.measure(
        "POST /login/verify (app's code)",
        lambda: run.call("login_verify", {**body, "factor": "totp"}),
    )
    flow = run.call("login", login)[1]
    body = {"flow_id": flow["flow_id"], "recovery_code": done["recovery_codes"][0]}
    run.measure("POST /login/verify (recovery code)", lambda: run.call("login_verify", body))
    run.measure(
        "POST /account/totp/remove",
        lambda: run.pay("account_totp_remove", {}, user_id, reauth),
    )
