"""The authenticator app on the local stack (docs/factors.md): its secret sealed under the key
the stack seeds in SSM (no KMS locally), through the gateway. The phoneless demo account adds
an app, signs in with it, and removes it again (the other modules rely on its plain login):
the removal's step-up asks for the app too (no token from the password alone once it holds
one). A code is taken for the next time step, which the server's drift window accepts at
once; the step-up's waits for the step after the login's (each step is accepted once)."""

from __future__ import annotations

import time
from urllib.parse import parse_qs, urlparse

import httpx
import pyotp

EMAIL = "nophone@example.com"
PASSWORD = "correct horse battery staple"


def test_the_phoneless_demo_account_adds_an_app_signs_in_with_it_and_removes_it(
    api: httpx.Client,
) -> None:
    token = api.post("/login", json={"email": EMAIL, "password": PASSWORD}).json()["token"]
    bearer = {"Authorization": f"Bearer {token}"}

    def reauth() -> dict[str, str]:
        granted = api.post("/account/reauth/start", json={"password": PASSWORD}, headers=bearer)
        assert granted.status_code == 200, granted.text
        return {**bearer, "Reauth-Token": granted.json()["reauth_token"]}

    def reauth_with_app(totp: pyotp.TOTP, after_step: int) -> dict[str, str]:
        started = api.post("/account/reauth/start", json={"password": PASSWORD}, headers=bearer)
        assert started.status_code == 200 and started.json()["factors"] == ["totp"], started.text
        while int(time.time() // 30) < after_step:  # the login's step is used: the next one
            time.sleep(0.5)
        body = {"flow_id": started.json()["flow_id"], "factor": "totp"}
        body["code"] = totp.at(time.time() + 30)
        granted = api.post("/account/reauth/verify", json=body, headers=bearer)
        assert granted.status_code == 200, granted.text
        return {**bearer, "Reauth-Token": granted.json()["reauth_token"]}

    started = api.post("/account/totp/start", json={}, headers=reauth())
    assert started.status_code == 200, started.text
    secret = parse_qs(urlparse(started.json()["otpauth_uri"]).query)["secret"][0]
    totp = pyotp.TOTP(secret)
    body = {"flow_id": started.json()["flow_id"], "code": totp.at(time.time())}
    done = api.post("/account/totp/verify", json=body, headers=bearer)
    assert done.status_code == 200 and len(done.json()["recovery_codes"]) == 10, done.text
    try:
        login = api.post("/login", json={"email": EMAIL, "password": PASSWORD}).json()
        assert login["factors"] == ["totp"], login
        login_step = int(time.time() // 30) + 1
        code = totp.at(login_step * 30)  # the next step: the enrolment's is used
        body = {"flow_id": login["flow_id"], "code": code, "factor": "totp"}
        signed_in = api.post("/login/verify", json=body)
        assert signed_in.status_code == 200 and "token" in signed_in.json(), signed_in.text
    finally:
        removed = api.post(
            "/account/totp/remove", json={}, headers=reauth_with_app(totp, login_step)
        )
        assert removed.json() == {"removed": True}, removed.text
    assert "token" in api.post("/login", json={"email": EMAIL, "password": PASSWORD}).json()
