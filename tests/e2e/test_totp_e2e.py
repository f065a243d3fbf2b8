"""The authenticator app on the local stack (docs/factors.md): its secret sealed under the key
the stack seeds in SSM (no KMS locally), through the gateway. The phoneless demo account adds
an app, signs in with it, and removes it again (the other modules rely on its plain login).
A code is taken for the next time step, which the server's drift window accepts at once."""

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
        code = totp.at(time.time() + 30)  # the next step: the enrolment's is used
        body = {"flow_id": login["flow_id"], "code": code, "factor": "totp"}
        signed_in = api.post("/login/verify", json=body)
        assert signed_in.status_code == 200 and "token" in signed_in.json(), signed_in.text
    finally:
        removed = api.post("/account/totp/remove", json={}, headers=reauth())
        assert removed.json() == {"removed": True}, removed.text
    assert "token" in api.post("/login", json={"email": EMAIL, "password": PASSWORD}).json()
