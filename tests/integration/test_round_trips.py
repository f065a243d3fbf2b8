"""Round trips per request, held to a budget: each endpoint's DynamoDB, SSM and Telnyx calls on
the real handlers (tests/support/round_trips.py counts them). A change that adds a call fails
here; one that saves a call lowers the budget with it (docs/design.md, "Round trips per
request", explains each figure)."""

from __future__ import annotations

import pytest

from tests.support.round_trips import round_trips_per_endpoint

# endpoint -> (DynamoDB, SSM on a cold execution environment, Telnyx)
BUDGET: dict[str, tuple[int, int, int]] = {
    "POST /login (account with phone)": (7, 2, 1),
    "POST /login/resend": (4, 2, 1),
    "POST /login/verify (wrong code)": (4, 1, 1),
    "POST /login/verify (right code)": (4, 2, 1),
    "POST /register/start": (3, 2, 1),
    "POST /register/verify": (4, 2, 1),
    # The user, then the count, the lock's check and the payment in one transaction; the
    # processor (the ledger) and the payment completed.
    "POST /payments/initiate (below threshold)": (4, 0, 0),
    "POST /payments/initiate (below threshold, Idempotency-Key)": (6, 0, 0),
    "POST /payments/initiate (above threshold)": (5, 2, 1),
    # The count's reset rides in the end-of-request batch with the audit records.
    "POST /payments/confirm": (8, 1, 1),
    # The new number's code (counted on the same terms as a login's), its resend (the phone
    # generation check rides on the send limits' transaction), and the swap with the old
    # number's notice (its budget transaction; Telnyx Messaging is not counted here).
    "POST /account/phone/start": (6, 2, 1),
    "POST /account/phone/resend": (4, 2, 1),
    "POST /account/phone/verify": (6, 2, 1),
    "GET /verify/status": (1, 0, 0),
    # The flow by its verification id, then one transaction: the event's claim, the move
    # forward and the check of the flow's live-status watchers (none watch here).
    "Telnyx webhook (verify.sent)": (2, 1, 0),
    "Telnyx webhook (verify.delivered)": (2, 1, 0),
    "POST /verify/cancel": (3, 0, 0),
}


@pytest.fixture(scope="module")
def measured() -> dict[str, dict[str, int]]:
    return round_trips_per_endpoint()


def test_every_endpoint_of_the_table_is_measured(measured: dict[str, dict[str, int]]) -> None:
    assert set(measured) == set(BUDGET)


@pytest.mark.parametrize("endpoint", list(BUDGET))
def test_round_trips_stay_within_the_budget(
    measured: dict[str, dict[str, int]], endpoint: str
) -> None:
    dynamodb, ssm, telnyx = BUDGET[endpoint]
    assert measured[endpoint] == {"dynamodb": dynamodb, "ssm": ssm, "telnyx": telnyx}
