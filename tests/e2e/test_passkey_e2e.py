"""Passkeys on the local stack (docs/factors.md#passkeys), with the software authenticator the
other passkey tests use, on the page's origin http://localhost:<api port> (RP id `localhost`):
a new account signs up, adds a passkey behind the step-up (and gets its recovery codes), logs
in with it with no SMS sent, and a password reset asks for it after the SMS code."""

from __future__ import annotations

import uuid

import httpx

from devtools.local_stack.stack import LocalStack
from tests.support.passkeys import SoftAuthenticator

PHONE = "+14155550131"
PASSWORD = "a long and memorable passphrase"


def sms(stack: LocalStack) -> str:
    assert stack.emulator is not None
    code = stack.emulator.latest_code(PHONE)
    assert code is not None
    return str(code)


def test_sign_up_add_a_passkey_log_in_with_it_and_reset_with_it(
    stack: LocalStack, api: httpx.Client
) -> None:
    assert stack.emulator is not None
    email = f"ada-{uuid.uuid4().hex[:8]}@example.com"
    started = api.post(
        "/register/start",
        json={"name": "Ada", "email": email, "phone_number": PHONE, "password": PASSWORD},
    )
    assert started.status_code == 200, started.text
    codes = {
        "flow_id": started.json()["flow_id"],
        "code": sms(stack),
        "email_code": stack.emulator.latest_email_code(email),
    }
    assert api.post("/register/verify", json=codes).status_code == 201
    login = api.post("/login", json={"email": email, "password": PASSWORD}).json()
    assert login["factors"] == ["sms"]
    body = {"flow_id": login["flow_id"], "code": sms(stack)}
    bearer = {"Authorization": f"Bearer {api.post('/login/verify', json=body).json()['token']}"}

    # The step-up (the password, then the phone's code), then the passkey
    step = api.post("/account/reauth/start", json={"password": PASSWORD}, headers=bearer).json()
    body = {"flow_id": step["flow_id"], "code": sms(stack)}
    granted = api.post("/account/reauth/verify", json=body, headers=bearer)
    assert granted.status_code == 200, granted.text
    stepped = {**bearer, "Reauth-Token": granted.json()["reauth_token"]}
    options = api.post("/account/passkeys/options", json={}, headers=stepped)
    assert options.status_code == 200, options.text
    key = SoftAuthenticator(origin=stack.config.passkey_origin, rp_id="localhost")
    added = api.post(
        "/account/passkeys", json={"credential": key.create(options.json())}, headers=stepped
    )
    assert added.status_code == 201, added.text
    assert len(added.json()["recovery_codes"]) == 10

    # The next login offers the passkey first, sends no SMS, and completes with it
    sent = len(stack.emulator.messages(phone_number=PHONE))
    login = api.post("/login", json={"email": email, "password": PASSWORD}).json()
    assert login["factors"] == ["passkey", "sms"], login
    assert len(stack.emulator.messages(phone_number=PHONE)) == sent
    options = api.post("/login/passkey/options", json={"flow_id": login["flow_id"]})
    assert options.status_code == 200, options.text
    body = {"flow_id": login["flow_id"], "factor": "passkey", "credential": key.get(options.json())}
    signed_in = api.post("/login/verify", json=body)
    assert signed_in.status_code == 200 and "token" in signed_in.json(), signed_in.text

    # A password reset: the SMS code alone is not enough, the passkey completes it
    reset = api.post("/password/reset/start", json={"email": email}).json()
    new_password = "another long memorable passphrase"
    body = {"flow_id": reset["flow_id"], "code": sms(stack), "new_password": new_password}
    asked = api.post("/password/reset/verify", json=body)
    assert asked.status_code == 400 and asked.json()["code"] == "factor_required", asked.text
    assert asked.json()["factors"] == ["passkey", "recovery"]
    options = api.post("/password/reset/passkey/options", json={"flow_id": reset["flow_id"]})
    assert options.status_code == 200, options.text
    done = api.post("/password/reset/verify", json={**body, "credential": key.get(options.json())})
    assert done.status_code == 200, done.text
    login = api.post("/login", json={"email": email, "password": new_password})
    assert login.status_code == 200 and login.json()["factors"] == ["passkey", "sms"]
