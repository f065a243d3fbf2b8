"""Threshold splitting (PSD2 RTS Art. 16): an attacker with a stolen token, and no access to
the phone, tries to move money in payments that each stay below the step-up threshold of
100.00 USD: in slices, in many small payments, all at once, or after the account was locked.
At most one slice's worth goes through without a code, and nothing once the account is locked.

Each test pays from an account of its own: the count of payments made without a code is the
account's, so the demo account (and the session's other tests) keep theirs.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest

from devtools.local_stack.stack import LocalStack
from phoneverify.adapters.dynamo.account_lock import DynamoAccountLock
from phoneverify.domain.clock import SystemClock
from tests.security.conftest import Target
from tests.support import accounts
from tests.support.accounts import Account
from tests.support.payments import bearer, ledger_entries_of, payments_of, token_for
from tests.support.stacks import dynamodb_of

PASSWORD = "a passphrase the attacker phished"


@pytest.fixture
def victim(target: Target) -> Account:
    return accounts.seed_account(target.stack, "sliced", PASSWORD)


@pytest.fixture
def token(target: Target, victim: Account) -> str:
    """The victim's token, as the attacker stole it."""
    return token_for(target.stack, victim.email, PASSWORD, victim.phone)


@pytest.fixture
def dynamodb(security_stack: LocalStack) -> Any:
    return dynamodb_of(security_stack.aws_env)


def pay(
    api: httpx.Client,
    token: str,
    amount: str,
    recipient: str = "acct-mule",
    currency: str = "USD",
) -> httpx.Response:
    return api.post(
        "/payments/initiate",
        json={"amount": amount, "currency": currency, "recipient": recipient},
        headers=bearer(token),
    )


def paid_without_a_code(response: httpx.Response) -> bool:
    return response.status_code == 200 and response.json().get("status") == "completed"


def codes_sent(target: Target, victim: Account) -> int:
    return len(target.emulator.messages(victim.phone))


def lock(dynamodb: Any, victim: Account) -> DynamoAccountLock:
    """Lock the victim's account by 100 wrong codes (test_account_lockout.py guesses them
    through the API; here the failure counter takes them directly)."""
    counter = DynamoAccountLock(
        dynamodb,
        "RateLimitsTable",
        max_failures=100,
        lockout_secs=30 * 86_400,
        clock=SystemClock(),
    )
    for _ in range(100):
        counter.reserve(victim.user_id)
    return counter


def test_five_slices_of_99_99_to_one_recipient_move_one_slice_at_most(
    target: Target, victim: Account, token: str, dynamodb: Any
) -> None:
    # Given a stolen token, and 499.95 USD to move while staying below the threshold
    sent_before = codes_sent(target, victim)
    # When the attacker sends 5 x 99.99 USD to one recipient within a minute
    answers = [pay(target.api, token, "99.99") for _ in range(5)]
    # Then only the first is paid; every other slice waits for a code sent to the victim
    assert paid_without_a_code(answers[0]), answers[0].text
    for answer in answers[1:]:
        assert answer.status_code == 200, answer.text
        assert answer.json()["requires_verification"] is True
        assert answer.json()["reason"] == "cumulative_amount"
        assert "transaction_id" not in answer.json()
    assert len(ledger_entries_of(dynamodb, victim.user_id)) == 1
    assert codes_sent(target, victim) == sent_before + 4


def test_five_slices_in_five_currencies_move_one_slice_at_most(
    target: Target, victim: Account, token: str, dynamodb: Any
) -> None:
    # Given a fresh account, and the review's attack: five slices, each just below its own
    # currency's threshold, about USD 480 in all against the 100.00 limit (the local stack's
    # rates: EUR 1.08, CHF 1.13, GBP 1.27; none for KYD)
    slices = [("99.99", "USD"), ("89.99", "EUR"), ("84.99", "CHF"), ("74.99", "GBP")]
    # When the attacker pays them one after the other, then 79.99 KYD
    answers = [pay(target.api, token, amount, currency=currency) for amount, currency in slices]
    kyd = pay(target.api, token, "79.99", currency="KYD")
    # Then only the first is paid: 89.99 EUR (97.19 USD) would bring the converted sum to
    # 197.18 USD, so it and every later slice wait for a code sent to the victim
    assert paid_without_a_code(answers[0]), answers[0].text
    for answer in answers[1:]:
        assert answer.status_code == 200, answer.text
        assert answer.json()["requires_verification"] is True
        assert answer.json()["reason"] == "cumulative_amount"
    # and a currency without a rate asks for a code whatever the sum
    assert kyd.status_code == 200, kyd.text
    assert (kyd.json()["requires_verification"], kyd.json()["reason"]) == (
        True,
        "currency_without_rate",
    )
    assert len(ledger_entries_of(dynamodb, victim.user_id)) == 1


def test_a_currency_without_a_rate_asks_for_a_code_even_for_a_cent(
    target: Target, victim: Account, token: str, dynamodb: Any
) -> None:
    # When the first payment of a fresh account is one cent of a currency without a rate
    answer = pay(target.api, token, "0.01", currency="KYD")
    # Then it waits for a code: it cannot be added to the sum, so it is never exempt
    assert answer.status_code == 200, answer.text
    assert answer.json()["reason"] == "currency_without_rate"
    assert ledger_entries_of(dynamodb, victim.user_id) == []


def test_small_slices_in_many_currencies_stop_at_the_converted_limit(
    target: Target, victim: Account, token: str, dynamodb: Any
) -> None:
    # When 20.00 is paid in each of USD, EUR, CHF, GBP (20.00 + 21.60 + 22.60 + 25.40 USD:
    # 89.60), then 20.00 EUR more (21.60: 111.20 USD in all)
    slices = [("20.00", "USD"), ("20.00", "EUR"), ("20.00", "CHF"), ("20.00", "GBP")]
    answers = [pay(target.api, token, amount, currency=currency) for amount, currency in slices]
    fifth = pay(target.api, token, "20.00", currency="EUR")
    # Then the four go through, and the fifth, which brings the sum past 100.00 USD, asks
    assert all(paid_without_a_code(answer) for answer in answers), [a.text for a in answers]
    assert fifth.json()["reason"] == "cumulative_amount", fifth.text
    assert len(ledger_entries_of(dynamodb, victim.user_id)) == 4


def test_the_sixth_small_payment_in_a_row_asks_for_a_code(
    target: Target, victim: Account, token: str, dynamodb: Any
) -> None:
    # When the attacker keeps each payment tiny, to different recipients
    answers = [pay(target.api, token, "1.00", f"acct-{n}") for n in range(6)]
    # Then five go through, and the sixth waits for a code: too many in a row without one
    assert all(paid_without_a_code(answer) for answer in answers[:5])
    sixth = answers[5].json()
    assert (sixth["requires_verification"], sixth["reason"]) == (True, "payment_count")
    assert len(ledger_entries_of(dynamodb, victim.user_id)) == 5


def test_twenty_concurrent_60_usd_payments_do_not_all_pass_without_a_code(
    target: Target, victim: Account, token: str, dynamodb: Any
) -> None:
    # Given twenty 60.00 USD payments fired at the same moment with the stolen token
    def fire(n: int) -> httpx.Response:
        with target.client() as api:
            return pay(api, token, "60.00", f"acct-race-{n}")

    # When
    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(fire, range(20)))
    # Then one 60.00 is paid; the others (60 + 60 >= 100) wait for a code
    assert sum(paid_without_a_code(answer) for answer in answers) == 1, [a.text for a in answers]
    for answer in answers:
        assert answer.status_code == 200, answer.text
        if not paid_without_a_code(answer):
            assert answer.json()["reason"] == "cumulative_amount"
    assert len(ledger_entries_of(dynamodb, victim.user_id)) == 1


def test_twenty_concurrent_payments_in_four_currencies_do_not_all_pass_without_a_code(
    target: Target, victim: Account, token: str, dynamodb: Any
) -> None:
    # Given twenty payments of 55.00 fired at once in USD, EUR, GBP and CHF (55.00 to 69.85
    # USD once converted: any two reach 100.00 USD), each far below its own threshold
    currencies = ("USD", "EUR", "GBP", "CHF")

    def fire(n: int) -> httpx.Response:
        with target.client() as api:
            return pay(api, token, "55.00", f"acct-fx-{n}", currencies[n % 4])

    # When
    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(fire, range(20)))
    # Then one is paid: the converted sum is compared in the write that adds to it
    assert sum(paid_without_a_code(answer) for answer in answers) == 1, [a.text for a in answers]
    for answer in answers:
        assert answer.status_code == 200, answer.text
        if not paid_without_a_code(answer):
            assert answer.json()["reason"] == "cumulative_amount"
    assert len(ledger_entries_of(dynamodb, victim.user_id)) == 1


def test_after_the_owner_confirms_a_payment_small_payments_go_through_again(
    target: Target, victim: Account, token: str, dynamodb: Any
) -> None:
    # Given the slices that asked for a code
    assert paid_without_a_code(pay(target.api, token, "99.99"))
    stepped_up = pay(target.api, token, "99.99").json()
    assert stepped_up["reason"] == "cumulative_amount"
    # When the owner, who has the phone, confirms it with the code
    confirmed = target.api.post(
        "/payments/confirm",
        json={"payment_id": stepped_up["payment_id"], "code": target.code_for(victim.phone)},
        headers=bearer(token),
    )
    assert confirmed.status_code == 200, confirmed.text
    # Then the count starts over: 99.99 goes through without a code, once
    assert paid_without_a_code(pay(target.api, token, "99.99"))
    assert pay(target.api, token, "0.01").json()["reason"] == "cumulative_amount"
    assert len(ledger_entries_of(dynamodb, victim.user_id)) == 3


def test_a_locked_account_cannot_pay_even_a_cent(
    target: Target, victim: Account, token: str, dynamodb: Any
) -> None:
    # Given the account was locked by 100 wrong codes
    lock(dynamodb, victim)
    sent_before = codes_sent(target, victim)
    # When the attacker, still holding a valid token, pays below and above the threshold
    answers = [pay(target.api, token, amount) for amount in ("0.01", "99.99", "250.00")]
    # Then every one is 429 account_locked: nothing paid, and no SMS sent
    for answer in answers:
        assert answer.status_code == 429, answer.text
        assert answer.json()["code"] == "account_locked"
        assert int(answer.headers["Retry-After"]) > 0
    assert ledger_entries_of(dynamodb, victim.user_id) == []
    assert codes_sent(target, victim) == sent_before


def test_a_burst_of_small_payments_while_locked_leaves_nothing_to_spend_later(
    target: Target, victim: Account, token: str, dynamodb: Any
) -> None:
    # Given the account was locked by 100 wrong codes
    counter = lock(dynamodb, victim)
    # When the attacker fires twenty 5.00 USD payments at once while it is locked
    with ThreadPoolExecutor(max_workers=20) as pool:
        answers = list(pool.map(lambda _: pay(target.api, token, "5.00"), range(20)))
    # Then every one is 429 account_locked, and none was written, even for a moment
    assert [answer.status_code for answer in answers] == [429] * 20
    assert payments_of(dynamodb, victim.user_id) == []
    # and none was counted: once the lock has ended, a full 99.99 slice still goes through
    # without a code (then the next cent asks for one)
    counter.reset(victim.user_id)
    assert paid_without_a_code(pay(target.api, token, "99.99"))
    assert pay(target.api, token, "0.01").json()["reason"] == "cumulative_amount"
