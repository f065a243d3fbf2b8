"""Codes carried from one person's login to another's: a code is good only for the flow (and
the phone) it was sent for, whoever holds it."""

from __future__ import annotations

import random
import uuid

import pytest

from tests.security.conftest import DEMO_PHONE, Target

PASSWORD = "analytical engine notes"
# An area code no other test uses, in the 555-01XX range reserved for fiction
AREA_CODE = "617"


@pytest.fixture
def second_person(target: Target) -> tuple[str, str]:
    """A person registered through the API for this run: (email, phone)."""
    email = f"cross-{uuid.uuid4().hex[:12]}@example.com"
    phone = f"+1{AREA_CODE}5550{random.randint(100, 199):03d}"
    started = target.api.post(
        "/register/start",
        json={"name": "Eve Other", "email": email, "phone_number": phone, "password": PASSWORD},
    )
    assert started.status_code == 200, started.text
    created = target.api.post(
        "/register/verify",
        json={
            "flow_id": started.json()["flow_id"],
            "code": target.code_for(phone),
            "email_code": target.email_code_for(email),
        },
    )
    assert created.status_code == 201, created.text
    return email, phone


def test_a_code_sent_to_one_person_does_not_open_another_persons_login(
    target: Target, second_person: tuple[str, str]
) -> None:
    email, phone = second_person
    # Given both people have started a login, each with their own code on their own phone
    # (codes that happen to be equal would prove nothing: start again)
    for _ in range(5):
        demo_flow = target.login()
        other_flow = target.login(email, PASSWORD)
        demo_code, other_code = target.code_for(DEMO_PHONE), target.code_for(phone)
        if demo_code != other_code:
            break
    assert demo_code != other_code
    # When each code is tried on the other person's flow
    demo_code_on_other = target.api.post(
        "/login/verify", json={"flow_id": other_flow, "code": demo_code}
    )
    other_code_on_demo = target.api.post(
        "/login/verify", json={"flow_id": demo_flow, "code": other_code}
    )
    # Then both are wrong codes: no token, an attempt used
    for response in (demo_code_on_other, other_code_on_demo):
        assert response.status_code == 401, response.text
        assert response.json()["error"] == "Invalid code"
        assert response.json()["attempts_remaining"] == 4
        assert "token" not in response.json()
    # and each person's own code still opens their own login
    for flow_id, code in ((demo_flow, demo_code), (other_flow, other_code)):
        own = target.api.post("/login/verify", json={"flow_id": flow_id, "code": code})
        assert own.status_code == 200, own.text
        assert own.json()["token"]
