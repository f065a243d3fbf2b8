"""The authenticator app through its functions (docs/factors.md), on moto's DynamoDB, SSM and
KMS: enrolled behind the step-up, its secret encrypted at rest, a login by its code once per
time step, "SMS instead", a recovery code once, and its removal behind the step-up. Every
function reads one frozen clock (no test races the wall clock)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlparse

import pyotp
import pytest

from devtools.telnyx_emulator import TelnyxEmulator
from phoneverify.domain.models import User
from phoneverify.domain.passwords import PasswordHasher
from tests.support.fakes import FakeClock
from tests.support.function_stack import FunctionStack, function_stack

PHONE = "+14155550123"
PASSWORD = "correct horse battery staple"
OWNER = "totp-user"
OTHER = "other-user"
OTHER_PHONE = "+14155550124"
LONE = "lone-user"  # no phone: the app is its only factor
FUNCTIONS = [
    "account_totp_start",
    "account_totp_verify",
    "account_totp_remove",
    "account_reauth_start",
    "account_reauth_verify",
    "account_get",
    "login",
    "login_verify",
    "login_resend",
    "password_reset_start",
    "password_reset_verify",
]


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch, emulator: TelnyxEmulator) -> Iterator[FunctionStack]:
    env = {"BCRYPT_COST": "10"}
    with function_stack(monkeypatch, emulator, FUNCTIONS, env) as running:
        clock = FakeClock(float(int(time.time())))
        for function in running.functions.values():
            function.runtime.clock = clock
        running.clock = clock  # type: ignore[attr-defined]
        hasher = PasswordHasher(cost=4)
        for user_id, email, phone in [
            (OWNER, "totp@example.com", PHONE),
            (OTHER, "other@example.com", OTHER_PHONE),
        ]:
            running.users.put_user(
                User(user_id, email, hasher.hash(PASSWORD), phone), phone_verified_at=0
            )
        yield running


def clock(stack: FunctionStack) -> FakeClock:
    frozen: FakeClock = stack.clock  # type: ignore[attr-defined]
    return frozen


def stepped_up(
    stack: FunctionStack, user: str = OWNER, phone: str = PHONE, app: str | None = None
) -> str:
    """The step-up by SMS; by the app's code (its secret `app`) once the account has one: the
    step-up asks the stronger factor and sends no SMS until asked."""
    status, started, _ = stack.call_as(user, "account_reauth_start", {"password": PASSWORD})
    assert status == 200, started
    body = {"flow_id": started["flow_id"], "code": stack.code_for(phone)}
    if app is not None:
        code = pyotp.TOTP(app).at(clock(stack).now())
        body = {"flow_id": started["flow_id"], "code": code, "factor": "totp"}
    status, granted, _ = stack.call_as(user, "account_reauth_verify", body)
    assert status == 200, granted
    return str(granted["reauth_token"])


def enrol(stack: FunctionStack, user: str = OWNER, phone: str = PHONE) -> tuple[str, list[str]]:
    reauth = {"Reauth-Token": stepped_up(stack, user, phone)}
    status, started, _ = stack.call_as(user, "account_totp_start", {}, reauth)
    assert status == 200, started
    assert started["qr_svg"].startswith("<svg") and "otpauth" not in started["qr_svg"]
    secret = parse_qs(urlparse(started["otpauth_uri"]).query)["secret"][0]
    code = pyotp.TOTP(secret).at(clock(stack).now())
    status, done, _ = stack.call_as(
        user, "account_totp_verify", {"flow_id": started["flow_id"], "code": code}
    )
    assert status == 200, done
    clock(stack).advance(30)  # the first code's step is used
    return secret, list(done["recovery_codes"])


def login(stack: FunctionStack, email: str = "totp@example.com") -> dict[str, Any]:
    status, body, _ = stack.call("login", {"email": email, "password": PASSWORD})
    assert status == 200, body
    return body


def test_enrolment_needs_the_step_up_and_keeps_the_secret_encrypted(stack: FunctionStack) -> None:
    # Attack: no Reauth-Token
    status, body, _ = stack.call_as(OWNER, "account_totp_start", {})
    assert (status, body["code"]) == (401, "reauth_required")
    # With it
    secret, codes = enrol(stack)
    assert len(codes) == 10
    item = stack.dynamodb.get_item(
        TableName=stack.env["USERS_TABLE"], Key={"pk": {"S": f"USER#{OWNER}"}}
    )
    stored = item["Item"]
    assert secret.encode() not in stored["totp_secret"]["B"]
    assert len(stored["recovery_codes"]["SS"]) == 10
    assert not any(c.replace("-", "") in str(stored) for c in codes)
    status, account, _ = stack.call_as(OWNER, "account_get", None, method="GET")
    assert account["factors"] == ["totp", "sms", "recovery"], account


def test_login_by_the_app_once_per_step_sms_instead_and_a_recovery_code_once(
    stack: FunctionStack,
) -> None:
    secret, codes = enrol(stack)
    sent = len(stack.emulator.messages(PHONE, kind="code"))
    # The app is offered first, and no SMS goes
    started = login(stack)
    assert started["factors"] == ["totp", "sms"], started
    assert len(stack.emulator.messages(PHONE, kind="code")) == sent
    code = pyotp.TOTP(secret).at(clock(stack).now())
    body = {"flow_id": started["flow_id"], "code": code, "factor": "totp"}
    status, token, _ = stack.call("login_verify", body)
    assert status == 200 and "token" in token, token
    # Attack: the same code replayed in the same step (before this change: a second token)
    again = login(stack)
    body = {"flow_id": again["flow_id"], "code": code, "factor": "totp"}
    status, refused, _ = stack.call("login_verify", body)
    assert (status, refused["code"]) == (401, "invalid_code"), refused
    # SMS instead: the first code goes at once
    status, resent, _ = stack.call("login_resend", {"flow_id": again["flow_id"]})
    assert status == 200, resent
    body = {"flow_id": again["flow_id"], "code": stack.code_for(PHONE)}
    status, token, _ = stack.call("login_verify", body)
    assert status == 200, token
    # A recovery code, once
    third = login(stack)
    status, token, _ = stack.call(
        "login_verify", {"flow_id": third["flow_id"], "recovery_code": codes[0]}
    )
    assert status == 200, token
    fourth = login(stack)
    status, refused, _ = stack.call(
        "login_verify", {"flow_id": fourth["flow_id"], "recovery_code": codes[0]}
    )
    assert (status, refused["code"]) == (401, "invalid_code"), refused


def test_another_users_app_code_does_not_sign_in(stack: FunctionStack) -> None:
    other_secret, _ = enrol(stack, OTHER, OTHER_PHONE)
    enrol(stack)
    started = login(stack)
    code = pyotp.TOTP(other_secret).at(clock(stack).now())
    body = {"flow_id": started["flow_id"], "code": code, "factor": "totp"}
    status, refused, _ = stack.call("login_verify", body)
    assert (status, refused["code"]) == (401, "invalid_code"), refused


def test_removal_needs_the_step_up_and_tells_the_phone(stack: FunctionStack) -> None:
    secret, _ = enrol(stack)
    # Attack: without fresh authentication
    status, body, _ = stack.call_as(OWNER, "account_totp_remove", {})
    assert (status, body["code"]) == (401, "reauth_required")
    reauth = {"Reauth-Token": stepped_up(stack, app=secret)}
    status, body, _ = stack.call_as(OWNER, "account_totp_remove", {}, reauth)
    assert (status, body) == (200, {"removed": True})
    status, body, _ = stack.call_as(OWNER, "account_totp_remove", {}, reauth)
    assert (status, body["code"]) == (404, "factor_not_enrolled")
    assert login(stack)["factors"] == ["sms"]
    outbox = stack.scan("NOTICES_OUTBOX_TABLE")
    assert any("removed" in str(item) or "totp_removed" in str(item) for item in outbox), outbox


def test_attack_a_password_reset_by_sms_alone_does_not_replace_the_app(
    stack: FunctionStack,
) -> None:
    secret, _ = enrol(stack)
    status, started, _ = stack.call("password_reset_start", {"email": "totp@example.com"})
    assert status == 200, started
    body = {
        "flow_id": started["flow_id"],
        "code": stack.code_for(PHONE),
        "new_password": "a brand new passphrase 2026",
    }
    # The SMS code alone (a swapped SIM): asked for the app, nothing changed
    status, asked, _ = stack.call("password_reset_verify", body)
    assert (status, asked["code"], asked["factors"]) == (
        400,
        "factor_required",
        ["totp", "recovery"],
    ), asked
    # With the app's code too: reset
    code = pyotp.TOTP(secret).at(clock(stack).now())
    status, done, _ = stack.call("password_reset_verify", {**body, "totp_code": code})
    assert (status, done) == (200, {"password_reset": True}), done


def test_a_lost_app_is_removed_after_a_recovery_code_login(stack: FunctionStack) -> None:
    """An account whose only factor is the app (no phone) loses it: a login by a recovery code
    answers a reauth token for its session, which removes the app at once."""
    import jwt

    hasher = PasswordHasher(cost=4)
    stack.users.put_user(User(LONE, "lone@example.com", hasher.hash(PASSWORD), None))
    # No second factor yet: the step-up is the password alone
    status, granted, _ = stack.call_as(LONE, "account_reauth_start", {"password": PASSWORD})
    assert status == 200 and granted.get("reauth_token"), granted
    reauth = {"Reauth-Token": granted["reauth_token"]}
    status, started, _ = stack.call_as(LONE, "account_totp_start", {}, reauth)
    assert status == 200, started
    secret = parse_qs(urlparse(started["otpauth_uri"]).query)["secret"][0]
    body = {"flow_id": started["flow_id"], "code": pyotp.TOTP(secret).at(clock(stack).now())}
    status, done, _ = stack.call_as(LONE, "account_totp_verify", body)
    assert status == 200, done
    clock(stack).advance(30)
    # The app is lost (its secret forgotten). A login by an app code would need it; the
    # recovery code signs in, and its answer is a fresh authentication for this session.
    started = login(stack, "lone@example.com")
    assert started["factors"] == ["totp"], started
    body = {"flow_id": started["flow_id"], "recovery_code": done["recovery_codes"][0]}
    status, signed_in, _ = stack.call("login_verify", body)
    assert status == 200 and signed_in["reauth_token"], signed_in
    assert signed_in["reauth_expires_in"] == 300
    session = jwt.decode(signed_in["token"], options={"verify_signature": False})["jti"]
    header = {"Reauth-Token": signed_in["reauth_token"]}
    # Attack: another session of the same account cannot use it
    status, refused, _ = stack.call_as(LONE, "account_totp_remove", {}, header)
    assert (status, refused["code"]) == (401, "reauth_required"), refused
    # Its own session removes the lost app
    status, removed, _ = stack.call_as(LONE, "account_totp_remove", {}, header, session=session)
    assert status == 200 and removed == {"removed": True}, removed
    status, account, _ = stack.call_as(LONE, "account_get", None, method="GET", session=session)
    assert account["factors"] == [], account
