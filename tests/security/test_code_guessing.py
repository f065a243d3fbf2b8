"""Attacks on the code itself: brute force, racing the attempt counter, replay, and codes
carried from one flow to another."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from tests.security.conftest import Target, wrong_code


def test_brute_force_within_a_flow_stops_at_five_and_the_right_code_is_then_useless(
    target: Target,
) -> None:
    # Given an attacker who knows the password but not the code
    flow_id = target.login()
    code = target.code_for()
    guesses = [str(n).zfill(6) for n in range(1000) if str(n).zfill(6) != code][:20]
    # When they try twenty codes
    statuses = [
        target.api.post("/login/verify", json={"flow_id": flow_id, "code": g}).status_code
        for g in guesses
    ]
    # Then only five were ever checked, and the flow is dead even for the right code
    assert statuses[:4] == [401] * 4
    assert set(statuses[4:]) == {429}
    final = target.api.post("/login/verify", json={"flow_id": flow_id, "code": code})
    assert final.status_code == 429
    assert "token" not in final.json()


def test_concurrent_guesses_cannot_outrun_the_attempt_counter(target: Target) -> None:
    # Given
    flow_id = target.login()
    code = target.code_for()
    guesses = [wrong_code(code)] * 30

    def guess(value: str) -> int:
        with target.client() as client:
            return client.post(
                "/login/verify", json={"flow_id": flow_id, "code": value}
            ).status_code

    # When thirty wrong guesses arrive at once
    with ThreadPoolExecutor(max_workers=30) as pool:
        statuses = list(pool.map(guess, guesses))
    # Then none got past the counter: 401 while attempts remained, 409 while another check
    # held the flow, 429 once it was closed
    assert set(statuses) <= {401, 409, 429}
    # and, guessing on one by one until the flow closes, at most four wrong codes in all were
    # answered 401 before the closing 429: the cap of five held under the storm
    rejected = statuses.count(401)
    while (
        answer := target.api.post(
            "/login/verify", json={"flow_id": flow_id, "code": wrong_code(code)}
        )
    ).status_code != 429:
        assert answer.status_code in (401, 409)
        rejected += answer.status_code == 401
    assert rejected <= 4
    assert (
        target.api.post("/login/verify", json={"flow_id": flow_id, "code": code}).status_code == 429
    )


def test_a_used_code_cannot_be_replayed(target: Target) -> None:
    # Given a completed login
    flow_id = target.login()
    code = target.code_for()
    assert target.api.post("/login/verify", json={"flow_id": flow_id, "code": code}).is_success
    # When the same request is replayed
    replay = target.api.post("/login/verify", json={"flow_id": flow_id, "code": code})
    # Then
    assert replay.status_code == 400
    assert "token" not in replay.json()


def test_a_code_from_another_flow_of_the_same_user_is_refused(target: Target) -> None:
    # Given two logins pending for one account (e.g. two tabs)
    first = target.login()
    first_code = target.code_for()
    second = target.login()
    second_code = target.code_for()
    # When the second flow's code is used on the first flow
    response = target.api.post("/login/verify", json={"flow_id": first, "code": second_code})
    # Then it is rejected (two random codes are equal once in a million: then it proves nothing)
    if first_code != second_code:
        assert response.status_code == 401
    assert (
        target.api.post("/login/verify", json={"flow_id": second, "code": second_code}).status_code
        == 200
    )


def test_a_guessed_flow_id_gets_nothing(target: Target) -> None:
    response = target.api.post("/login/verify", json={"flow_id": "A" * 43, "code": "123456"})
    assert response.status_code == 400
    assert response.json()["code"] == "no_pending_verification"
