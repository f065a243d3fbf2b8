"""Attacks on the account deletion (docs/privacy.md#deleting-an-account), through the functions
on moto with the Telnyx emulator: a payment confirmation and a login racing the deletion, each
run in a thread at an injected point of the other (no sleep, no wall clock). Whichever order
the two writes land in, the state is one the deletion can stand behind: a payment confirmed
after the deletion began is cancelled, never charged; one confirmed before it completes and
is kept under the payer's pseudonymous id; a login racing it gets no usable token."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from devtools.telnyx_emulator import TelnyxEmulator
from phoneverify.domain.models import User
from phoneverify.domain.passwords import PasswordHasher
from tests.support.fakes import FakeClock
from tests.support.function_stack import FunctionStack, function_stack

PHONE = "+14155550123"
PASSWORD = "correct horse battery staple"
OWNER = "racing-user"
EMAIL = "racing@example.com"
PHONELESS = "phoneless-user"
PHONELESS_EMAIL = "phoneless@example.com"
LARGE = {"amount": "250.00", "currency": "USD", "recipient": "Acme Supplies"}
FUNCTIONS = [
    "account_delete",
    "account_reauth_start",
    "account_reauth_verify",
    "login",
    "login_verify",
    "logout",
    "payments_initiate",
    "payments_confirm",
]


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch, emulator: TelnyxEmulator) -> Iterator[FunctionStack]:
    with function_stack(monkeypatch, emulator, FUNCTIONS, {"BCRYPT_COST": "10"}) as running:
        clock = FakeClock(float(int(time.time())))
        for function in running.functions.values():
            function.runtime.clock = clock
        hasher = PasswordHasher(cost=4)
        running.users.put_user(
            User(OWNER, EMAIL, hasher.hash(PASSWORD), PHONE), phone_verified_at=0
        )
        running.users.put_user(User(PHONELESS, PHONELESS_EMAIL, hasher.hash(PASSWORD)))
        yield running


def reauth_of(stack: FunctionStack, user: str = OWNER) -> dict[str, str]:
    status, started, _ = stack.call_as(user, "account_reauth_start", {"password": PASSWORD})
    assert status == 200, started
    if "reauth_token" not in started:  # an account without a phone: the password alone
        body = {"flow_id": started["flow_id"], "code": stack.code_for(PHONE)}
        status, started, _ = stack.call_as(user, "account_reauth_verify", body)
        assert status == 200, started
    return {"Reauth-Token": str(started["reauth_token"])}


def in_a_thread(work: Callable[[], Any]) -> Any:
    """Run `work` in another thread, to its end: the racing request, at the injected point."""
    answer: list[Any] = []
    thread = threading.Thread(target=lambda: answer.append(work()))
    thread.start()
    thread.join(timeout=60)
    assert answer, "the racing request did not finish"
    return answer[0]


def payment_status(stack: FunctionStack, payment_id: str) -> str:
    rows = {i["payment_id"]["S"]: i for i in stack.scan("PAYMENTS_TABLE")}
    return str(rows[payment_id]["status"]["S"])


def charged(stack: FunctionStack) -> list[str]:
    return [i["payment_id"]["S"] for i in stack.dynamodb.scan(TableName="LedgerTable")["Items"]]


def test_a_confirmation_whose_code_is_accepted_as_the_account_is_deleted_charges_nothing(
    stack: FunctionStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    status, pending, _ = stack.call_as(OWNER, "payments_initiate", LARGE)
    assert status == 200 and pending["status"] == "pending", pending
    code = stack.code_for(PHONE)
    reauth = reauth_of(stack)
    repository = stack.functions["payments_confirm"].runtime.payments
    before = repository.begin_processing
    deleted: list[Any] = []

    def deletion_first(*args: Any, **kwargs: Any) -> bool:
        # The injected point: the code is accepted, the payment not yet moved to processing.
        deleted.append(in_a_thread(lambda: stack.call_as(OWNER, "account_delete", {}, reauth)))
        return bool(before(*args, **kwargs))

    monkeypatch.setattr(repository, "begin_processing", deletion_first)
    body = {"payment_id": pending["payment_id"], "code": code}
    status, answer, _ = stack.call_as(OWNER, "payments_confirm", body)
    assert deleted and deleted[0][0] == 200, deleted
    assert status != 200 and "transaction_id" not in answer, answer
    assert payment_status(stack, pending["payment_id"]) == "cancelled"
    assert pending["payment_id"] not in charged(stack)


def test_a_confirmation_that_lands_first_completes_and_the_deletion_still_happens(
    stack: FunctionStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    status, pending, _ = stack.call_as(OWNER, "payments_initiate", LARGE)
    assert status == 200, pending
    body = {"payment_id": pending["payment_id"], "code": stack.code_for(PHONE)}
    reauth = reauth_of(stack)
    deletion = stack.functions["account_delete"].runtime.account_data._deletion
    before = deletion.delete
    confirmed: list[Any] = []

    def confirmation_first(user_id: str, alongside: Any = None) -> Any:
        # The injected point: the step-up passed, the deletion's transaction not yet written.
        confirmed.append(in_a_thread(lambda: stack.call_as(OWNER, "payments_confirm", body)))
        return before(user_id, alongside)

    monkeypatch.setattr(deletion, "delete", confirmation_first)
    status, answer, _ = stack.call_as(OWNER, "account_delete", {}, reauth)
    assert (status, answer) == (200, {"deleted": True})
    assert confirmed and confirmed[0][0] == 200, confirmed
    assert payment_status(stack, pending["payment_id"]) == "completed"
    assert pending["payment_id"] in charged(stack)
    # Kept for the operator's retention under the payer's id alone: no name, email or phone.
    kept = next(
        i for i in stack.scan("PAYMENTS_TABLE") if i["payment_id"]["S"] == pending["payment_id"]
    )
    assert {"name", "email", "phone_number"}.isdisjoint(kept) and "ttl" in kept
    assert stack.users.get(OWNER) is None


def test_a_login_whose_code_is_accepted_as_the_account_is_deleted_gets_no_token(
    stack: FunctionStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    status, login, _ = stack.call("login", {"email": EMAIL, "password": PASSWORD})
    assert status == 200 and "flow_id" in login, login
    code = stack.code_for(PHONE)
    reauth = reauth_of(stack)
    store = stack.functions["login_verify"].runtime.verifications
    before = store.mark_verified
    deleted: list[Any] = []

    def deletion_first(*args: Any, **kwargs: Any) -> Any:
        # The injected point: Telnyx accepted the code; the flow is not yet marked verified.
        deleted.append(in_a_thread(lambda: stack.call_as(OWNER, "account_delete", {}, reauth)))
        return before(*args, **kwargs)

    monkeypatch.setattr(store, "mark_verified", deletion_first)
    status, answer, _ = stack.call("login_verify", {"flow_id": login["flow_id"], "code": code})
    assert deleted and deleted[0][0] == 200, deleted
    assert status in (400, 401) and "token" not in answer, answer


def test_a_password_login_racing_the_deletion_gets_a_token_that_nothing_accepts(
    stack: FunctionStack, monkeypatch: pytest.MonkeyPatch
) -> None:
    reauth = reauth_of(stack, PHONELESS)
    users = stack.functions["login"].runtime.users
    before = users.find_by_email
    deleted: list[Any] = []

    def deletion_after_the_read(email: str) -> Any:
        found = before(email)
        # The injected point: the account was read and its password is about to be checked.
        deleted.append(in_a_thread(lambda: stack.call_as(PHONELESS, "account_delete", {}, reauth)))
        return found

    monkeypatch.setattr(users, "find_by_email", deletion_after_the_read)
    status, answer, _ = stack.call("login", {"email": PHONELESS_EMAIL, "password": PASSWORD})
    assert deleted and deleted[0][0] == 200, deleted
    if status == 200:  # issued from the read made before the deletion: refused at every use
        bearer = {"Authorization": f"Bearer {answer['token']}"}
        assert stack.call("logout", {}, headers=bearer)[0] == 401
    assert stack.users.get(PHONELESS) is None
