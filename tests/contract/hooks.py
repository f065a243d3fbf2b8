"""schemathesis hooks (SCHEMATHESIS_HOOKS): a real bearer token for the routes that take one,
from signing in through the stack (password, then the code from the emulator's outbox). A
fuzzed /logout ends the token; a 401 then signs in again."""

from __future__ import annotations

import os
from typing import Any

import httpx
import schemathesis

API = os.environ["CONTRACT_API_URL"]
OUTBOX = os.environ["CONTRACT_OUTBOX_URL"]
EMAIL = os.environ["CONTRACT_EMAIL"]
PASSWORD = os.environ["CONTRACT_PASSWORD"]
PHONE = os.environ["CONTRACT_PHONE"]


def sign_in() -> str:
    with httpx.Client(base_url=API, timeout=60) as client:
        answer = client.post("/login", json={"email": EMAIL, "password": PASSWORD}).json()
        if "token" not in answer:
            data = httpx.get(OUTBOX, params={"phone_number": PHONE}, timeout=30).json()["data"]
            code = next(message["code"] for message in data if message.get("code"))
            answer = client.post(
                "/login/verify", json={"flow_id": answer["flow_id"], "code": code}
            ).json()
        token: str = answer["token"]
        return token


@schemathesis.auth(retry_on=[401]).apply_to(path_regex=r"^/(payments/|logout$|verify/)")
class Bearer:
    def get(self, case: Any, context: Any) -> str:
        return sign_in()

    def set(self, case: Any, data: str, context: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}
