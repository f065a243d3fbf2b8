"""The payment functions and their authorizer as Lambda runs them, on moto, with codes sent
through the Telnyx emulator. API Gateway's part (authorizer result -> requestContext.authorizer)
is done here by hand; tests/e2e/test_payments_e2e.py goes through the local gateway."""

from __future__ import annotations

import json
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from devtools.telnyx_emulator import TelnyxEmulator
from phoneverify.adapters.dynamo.exempt_payments import EXEMPT_KEY_PREFIX, exempt_key
from phoneverify.domain.models import User
from phoneverify.domain.passwords import PasswordHasher
from tests.support.function_stack import FunctionStack, function_stack
from tests.support.lambda_env import (
    ROOT,
    LambdaContext,
    api_event,
    invoke,
)
from tests.support.payments import bearer

PHONE = "+14155550123"
PASSWORD = "correct horse battery staple"
PAYER = "demo-user"  # the ids of the demo accounts, as in the sample events
NO_PHONE = "demo-no-phone"
PAYMENTS = ["payments_initiate", "payments_confirm", "payments_resend"]
ORDER = {"amount": "250.00", "currency": "USD", "recipient": "Acme Supplies"}


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch, emulator: TelnyxEmulator) -> Iterator[FunctionStack]:
    directories = [*PAYMENTS, "login", "login_verify", "logout", "verify_status"]
    with function_stack(monkeypatch, emulator, directories, {"BCRYPT_COST": "10"}) as running:
        hasher = PasswordHasher(cost=4)
        running.users.put_user(
            User(PAYER, "demo@example.com", hasher.hash(PASSWORD), PHONE), phone_verified_at=0
        )
        running.users.put_user(User(NO_PHONE, "nophone@example.com", hasher.hash(PASSWORD)))
        yield running


def pay(
    stack: FunctionStack,
    name: str,
    body: object,
    user: str | None = PAYER,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any], dict[str, str]]:
    """Call a payment function as API Gateway does after the authorizer allowed `user`."""
    if user is not None:
        return stack.call_as(user, name, body, headers)
    return invoke(stack.functions[name], api_event(stack.paths[name], body, headers=headers))


def items(stack: FunctionStack, env_name: str) -> list[dict[str, Any]]:
    """The table's items; for PaymentsTable the payments only, without the accounts' counts
    of payments made without a code (`exempt#<user>`)."""
    found = stack.scan(env_name)
    if env_name == "PAYMENTS_TABLE":
        return [i for i in found if not i["payment_id"]["S"].startswith(EXEMPT_KEY_PREFIX)]
    return found


def start_payment(stack: FunctionStack, **changes: object) -> str:
    status, body, _ = pay(stack, "payments_initiate", {**ORDER, **changes})
    assert status == 200 and body["requires_verification"] is True, body
    payment_id: str = body["payment_id"]
    return payment_id


def test_a_logged_in_user_pays_with_the_code_from_the_sms(
    stack: FunctionStack, authorizer: ModuleType
) -> None:
    # Given a token from login with 2FA
    _, started, _ = stack.call("login", {"email": "demo@example.com", "password": PASSWORD})
    _, login, _ = stack.call(
        "login_verify", {"flow_id": started["flow_id"], "code": stack.code_for(PHONE)}
    )
    # and the authorizer's verdict on it
    request = json.loads((ROOT / "events" / "authorizer.json").read_text())
    request["headers"]["Authorization"] = f"Bearer {login['token']}"
    verdict = authorizer.lambda_handler(request, LambdaContext(function_name="AuthorizerFunction"))
    assert verdict["principalId"] == PAYER
    # When the payment is initiated and confirmed as that user
    status, initiated, _ = pay(stack, "payments_initiate", ORDER, user=verdict["principalId"])
    assert status == 200, initiated
    assert initiated["phone_hint"] == "+1******0123" and initiated["amount"] == "250.00"
    status, confirmed, _ = pay(
        stack,
        "payments_confirm",
        {"payment_id": initiated["payment_id"], "code": stack.code_for(PHONE)},
    )
    # Then it is completed, once, and recorded in the ledger
    assert status == 200, confirmed
    assert confirmed["status"] == "completed"
    ledger = items(stack, "LEDGER_TABLE")
    assert [i["transaction_id"]["S"] for i in ledger] == [confirmed["transaction_id"]]
    assert ledger[0]["amount"]["S"] == "250.00"
    payment = items(stack, "PAYMENTS_TABLE")[0]
    assert payment["status"]["S"] == "completed"
    # The SMS carried the code and nothing about the payment.
    message = stack.emulator.messages(PHONE)[0]
    assert "250" not in message["text"] and "Acme" not in message["text"]


def test_a_small_payment_completes_without_a_code(stack: FunctionStack) -> None:
    status, body, _ = pay(stack, "payments_initiate", {**ORDER, "amount": 50})
    assert status == 200
    assert body["status"] == "completed" and body["amount"] == "50.00"
    assert stack.emulator.messages(PHONE) == []
    assert len(items(stack, "LEDGER_TABLE")) == 1


def test_without_the_authorizers_verdict_the_handler_answers_401(stack: FunctionStack) -> None:
    for name, body in [
        ("payments_initiate", ORDER),
        ("payments_confirm", {"payment_id": "pay_" + "0" * 32, "code": "123456"}),
        ("payments_resend", {"payment_id": "pay_" + "0" * 32}),
    ]:
        status, answer, _ = pay(stack, name, body, user=None)
        assert (status, answer["code"]) == (401, "unauthorized")
    assert items(stack, "PAYMENTS_TABLE") == []


def test_the_user_id_is_never_taken_from_the_body(stack: FunctionStack) -> None:
    status, body, _ = pay(stack, "payments_initiate", {**ORDER, "user_id": NO_PHONE})
    assert status == 400 and body["field"] == "user_id"
    assert items(stack, "PAYMENTS_TABLE") == []


def test_another_users_payment_is_not_found(stack: FunctionStack) -> None:
    payment_id = start_payment(stack)
    code = stack.code_for(PHONE)
    status, body, _ = pay(
        stack, "payments_confirm", {"payment_id": payment_id, "code": code}, user=NO_PHONE
    )
    assert (status, body["error"]) == (404, "Payment not found")
    status, _, _ = pay(stack, "payments_confirm", {"payment_id": payment_id, "code": code})
    assert status == 200


def test_an_account_without_a_phone_gets_403_above_the_threshold(stack: FunctionStack) -> None:
    status, body, _ = pay(stack, "payments_initiate", ORDER, user=NO_PHONE)
    assert (status, body["code"]) == (403, "phone_required")
    assert items(stack, "PAYMENTS_TABLE") == []


def test_an_expired_payment_answers_410_and_is_expired(stack: FunctionStack) -> None:
    # Given a payment whose five minutes are over
    payment_id = start_payment(stack)
    stack.dynamodb.update_item(
        TableName=stack.env["PAYMENTS_TABLE"],
        Key={"payment_id": {"S": payment_id}},
        UpdateExpression="SET expires_at = :past",
        ExpressionAttributeValues={":past": {"N": "1"}},
    )
    # When
    status, body, _ = pay(
        stack, "payments_confirm", {"payment_id": payment_id, "code": stack.code_for(PHONE)}
    )
    # Then
    assert (status, body["error"]) == (410, "Verification expired. Initiate a new payment.")
    assert items(stack, "PAYMENTS_TABLE")[0]["status"]["S"] == "expired"
    status, body, _ = pay(stack, "payments_resend", {"payment_id": payment_id})
    assert (status, body["error"]) == (400, "Payment already expired")


def test_wrong_codes_then_429_and_the_payment_is_failed(stack: FunctionStack) -> None:
    payment_id = start_payment(stack)
    code = stack.code_for(PHONE)
    wrong = str((int(code) + 1) % 1_000_000).zfill(6)
    answers = [
        pay(stack, "payments_confirm", {"payment_id": payment_id, "code": wrong}) for _ in range(5)
    ]
    assert [(s, b.get("attempts_remaining")) for s, b, _ in answers] == [
        (401, 4),
        (401, 3),
        (401, 2),
        (401, 1),
        (429, None),
    ]
    assert answers[4][2]["Retry-After"] == "0"
    assert items(stack, "PAYMENTS_TABLE")[0]["status"]["S"] == "failed"
    status, body, _ = pay(stack, "payments_confirm", {"payment_id": payment_id, "code": code})
    assert (status, body["error"]) == (400, "Payment already failed")


def test_a_tampered_amount_is_refused(stack: FunctionStack) -> None:
    payment_id = start_payment(stack)
    stack.dynamodb.update_item(
        TableName=stack.env["PAYMENTS_TABLE"],
        Key={"payment_id": {"S": payment_id}},
        UpdateExpression="SET amount = :more",
        ExpressionAttributeValues={":more": {"S": "2500.00"}},
    )
    status, body, _ = pay(
        stack, "payments_confirm", {"payment_id": payment_id, "code": stack.code_for(PHONE)}
    )
    assert (status, body["code"]) == (409, "payment_details_changed")
    assert items(stack, "LEDGER_TABLE") == []
    assert items(stack, "PAYMENTS_TABLE")[0]["status"]["S"] == "failed"


def test_resend_respects_the_cooldown(stack: FunctionStack) -> None:
    payment_id = start_payment(stack)
    status, body, headers = pay(stack, "payments_resend", {"payment_id": payment_id})
    assert status == 429 and 1 <= int(headers["Retry-After"]) <= 30
    assert body["code"] == "resend_cooldown"


def test_telnyx_down_at_initiate_gives_502_and_writes_nothing(stack: FunctionStack) -> None:
    # Given
    stack.emulator.add_fault(endpoint="send", status=503, count=1)
    # When
    status, body, _ = pay(stack, "payments_initiate", ORDER, headers={"Idempotency-Key": "k-1"})
    # Then
    assert (status, body["error"]) == (502, "Failed to send verification code")
    assert items(stack, "PAYMENTS_TABLE") == []
    assert items(stack, "VERIFICATIONS_TABLE") == []
    assert items(stack, "IDEMPOTENCY_TABLE") == []  # so a retry with the key runs again
    status, body, _ = pay(stack, "payments_initiate", ORDER, headers={"Idempotency-Key": "k-1"})
    assert status == 200 and body["requires_verification"] is True


# -- Idempotency-Key -----------------------------------------------------------------------
def test_a_replayed_idempotency_key_returns_the_first_answer_and_creates_nothing(
    stack: FunctionStack,
) -> None:
    # When the same request is sent twice with one key
    key = {"Idempotency-Key": "order-2026-0001"}
    first = pay(stack, "payments_initiate", ORDER, headers=key)
    second = pay(stack, "payments_initiate", {**ORDER, "amount": 250}, headers=key)
    # Then
    assert first[0] == second[0] == 200
    assert first[1] == second[1]
    assert len(items(stack, "PAYMENTS_TABLE")) == 1
    assert len(stack.emulator.messages(PHONE)) == 1
    record = items(stack, "IDEMPOTENCY_TABLE")[0]
    assert record["status"]["S"] == "COMPLETED" and int(record["expiration"]["N"]) > 0


def test_the_same_key_with_another_body_is_a_422(stack: FunctionStack) -> None:
    key = {"Idempotency-Key": "order-2026-0002"}
    assert pay(stack, "payments_initiate", {**ORDER, "amount": "5"}, headers=key)[0] == 200
    status, body, _ = pay(stack, "payments_initiate", {**ORDER, "amount": "6"}, headers=key)
    assert (status, body["code"], body["field"]) == (
        422,
        "idempotency_key_reused",
        "Idempotency-Key",
    )
    assert len(items(stack, "PAYMENTS_TABLE")) == 1


def test_keys_are_per_user_and_requests_without_one_are_not_deduplicated(
    stack: FunctionStack,
) -> None:
    small = {**ORDER, "amount": "5"}
    key = {"Idempotency-Key": "same-key"}
    mine = pay(stack, "payments_initiate", small, headers=key)[1]
    theirs = pay(stack, "payments_initiate", small, user=NO_PHONE, headers=key)[1]
    plain = [pay(stack, "payments_initiate", small)[1] for _ in range(2)]
    ids = {mine["payment_id"], theirs["payment_id"], *(b["payment_id"] for b in plain)}
    assert len(ids) == 4
    assert len(items(stack, "LEDGER_TABLE")) == 4


# -- input ---------------------------------------------------------------------------------
# (function, body, headers, field named in the 400). One stack for all: none reaches a table.
BAD_INPUT: list[tuple[str, dict[str, object], dict[str, str] | None, str]] = [
    ("payments_initiate", {**ORDER, "amount": True}, None, "amount"),
    ("payments_initiate", {**ORDER, "amount": "1e3"}, None, "amount"),
    ("payments_initiate", {**ORDER, "amount": "0"}, None, "amount"),
    ("payments_initiate", {**ORDER, "amount": -10}, None, "amount"),
    ("payments_initiate", {**ORDER, "amount": "NaN"}, None, "amount"),
    ("payments_initiate", {**ORDER, "amount": "100.5", "currency": "JPY"}, None, "amount"),
    ("payments_initiate", {**ORDER, "amount": None}, None, "amount"),
    ("payments_initiate", {**ORDER, "currency": "XYZ"}, None, "currency"),
    ("payments_initiate", {"amount": "10", "recipient": "Acme"}, None, "currency"),
    ("payments_initiate", {**ORDER, "recipient": ""}, None, "recipient"),
    ("payments_initiate", {**ORDER, "recipient": "Acme\nBcc: mallory"}, None, "recipient"),
    ("payments_initiate", {**ORDER, "recipient": "x" * 129}, None, "recipient"),
    ("payments_initiate", {**ORDER, "description": "\u202eevil"}, None, "description"),
    ("payments_initiate", {**ORDER, "description": "d" * 257}, None, "description"),
    ("payments_initiate", ORDER, {"Idempotency-Key": "has spaces"}, "Idempotency-Key"),
    ("payments_initiate", ORDER, {"Idempotency-Key": "k" * 256}, "Idempotency-Key"),
    ("payments_confirm", {"payment_id": "pay_x", "code": "123456"}, None, "payment_id"),
    ("payments_confirm", {"payment_id": "pay_" + "0" * 32, "code": "12a456"}, None, "code"),
    ("payments_resend", {"payment_id": "../../etc/passwd"}, None, "payment_id"),
]


def test_bad_input_is_a_400_naming_the_field(stack: FunctionStack) -> None:
    for name, body, headers, field in BAD_INPUT:
        status, answer, _ = pay(stack, name, body, headers=headers)
        assert (status, answer.get("field")) == (400, field), (name, body, headers, answer)
        assert field in answer["error"]
    assert items(stack, "PAYMENTS_TABLE") == []


@pytest.mark.parametrize("name", PAYMENTS)
def test_every_sample_event_is_understood_by_its_handler(stack: FunctionStack, name: str) -> None:
    event = json.loads((ROOT / "events" / f"{name}.json").read_text())
    status, body, _ = invoke(stack.functions[name], event)
    expected = {"payments_initiate": 200, "payments_confirm": 404, "payments_resend": 404}[name]
    assert status == expected, body


def test_the_sample_authorizer_event_is_refused(authorizer: ModuleType) -> None:
    # Its token is a placeholder: `sam local invoke` shows the refusal path, an explicit Deny
    event = json.loads((ROOT / "events" / "authorizer.json").read_text())
    verdict = authorizer.lambda_handler(event, LambdaContext(function_name="AuthorizerFunction"))
    assert verdict["principalId"] == "anonymous"
    assert [s["Effect"] for s in verdict["policyDocument"]["Statement"]] == ["Deny"]


# -- GET /verify/status?payment_id=… with the payer's token ---------------------------------
def sign_in(stack: FunctionStack, email: str = "demo@example.com") -> str:
    return stack.sign_in(email, PASSWORD, PHONE)


def payment_status(
    stack: FunctionStack, query: dict[str, str] | None, token: str | None = None
) -> tuple[int, dict[str, Any]]:
    headers = bearer(token) if token else None
    event = api_event("/verify/status", None, method="GET", query=query, headers=headers)
    status, body, _ = invoke(stack.functions["verify_status"], event)
    return status, body


def test_the_payer_follows_the_payment_code_by_payment_id(stack: FunctionStack) -> None:
    # Given the payer's token and a payment waiting for its code
    token = sign_in(stack)
    payment_id = start_payment(stack)
    # When the code screen polls the status with the payment id and the token
    status, body = payment_status(stack, {"payment_id": payment_id}, token)
    # Then it sees where the code stands, and nothing that identifies the flow or the phone
    assert status == 200, body
    assert set(body) == {"status", "delivery_status", "expires_in", "channel", "payment_status"}
    assert (body["status"], body["delivery_status"]) == ("pending", "unknown")
    assert body["payment_status"] == "pending"
    assert 295 <= body["expires_in"] <= 300
    assert PHONE not in json.dumps(body)
    # And once the code is accepted, the status follows
    pay(stack, "payments_confirm", {"payment_id": payment_id, "code": stack.code_for(PHONE)})
    after = payment_status(stack, {"payment_id": payment_id}, token)[1]
    assert (after["status"], after["payment_status"]) == ("verified", "completed")


def test_someone_elses_payment_and_an_unknown_one_get_the_same_404(stack: FunctionStack) -> None:
    # Given the payer's pending payment, and another account's token
    payment_id = start_payment(stack)
    stranger = sign_in(stack, "nophone@example.com")
    # When the stranger asks for its status, and for a payment that does not exist
    theirs = payment_status(stack, {"payment_id": payment_id}, stranger)
    unknown = payment_status(stack, {"payment_id": "pay_" + "0" * 32}, stranger)
    # Then both are the same 404
    not_found = (404, {"error": "Payment not found", "code": "payment_not_found"})
    assert theirs == unknown == not_found


def test_a_payment_id_without_a_live_token_is_401(stack: FunctionStack) -> None:
    # Given the payer's payment and a token that was ended by logging out
    token = sign_in(stack)
    payment_id = start_payment(stack)
    assert stack.call("logout", {}, bearer(token))[0] == 200
    # When / Then: no token, a forged one and the ended one are refused alike
    for presented in (None, "not.a.token", token):
        status, body = payment_status(stack, {"payment_id": payment_id}, presented)
        assert (status, body["code"]) == (401, "unauthorized"), presented


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"payment_id": "pay_" + "0" * 32, "flow_id": "f" * 43}, "payment_id"),
        ({}, "flow_id"),
        ({"payment_id": "pay_x"}, "payment_id"),
        ({"payment_id": "../../etc/passwd"}, "payment_id"),
    ],
    ids=["both", "neither", "too-short", "bad-chars"],
)
def test_a_status_query_without_exactly_one_valid_id_is_a_400_naming_it(
    stack: FunctionStack, query: dict[str, str], field: str
) -> None:
    status, body = payment_status(stack, query, sign_in(stack))
    assert (status, body["code"], body["field"]) == (400, "invalid_request", field)
    assert field in body["error"]


def test_dynamodb_round_trips_of_a_status_poll(stack: FunctionStack) -> None:
    # Given every DynamoDB call of the status function recorded
    calls: list[tuple[str, tuple[str, ...]]] = []

    def record(model: Any, params: dict[str, Any], **_: Any) -> None:
        tables = params.get("RequestItems") or {params.get("TableName", ""): None}
        calls.append((model.name, tuple(sorted(str(t) for t in tables))))

    client = stack.functions["verify_status"].runtime.dynamodb
    client.meta.events.register("before-parameter-build.dynamodb.*", record)
    _, login, _ = stack.call("login", {"email": "demo@example.com", "password": PASSWORD})
    token = sign_in(stack)
    payment_id = start_payment(stack)
    # When a login's code screen polls once by flow id, and a payment's by payment id
    assert payment_status(stack, {"flow_id": login["flow_id"]})[0] == 200
    by_flow, calls[:] = list(calls), []
    assert payment_status(stack, {"payment_id": payment_id}, token)[0] == 200
    # Then the flow id costs one read, and the payment id the token check, the payment and
    # its flow
    settings = stack.functions["verify_status"].runtime.settings.model_dump()
    names = {value: key.upper() for key, value in settings.items() if key.endswith("_table")}

    def named(recorded: list[tuple[str, tuple[str, ...]]]) -> list[tuple[str, str]]:
        return [(op, ",".join(names.get(t, t) for t in tables)) for op, tables in recorded]

    assert named(by_flow) == [("GetItem", "VERIFICATIONS_TABLE")]
    assert sorted(named(calls)) == sorted(
        [
            ("BatchGetItem", ",".join(sorted(["REVOKED_TOKENS_TABLE", "USERS_TABLE"]))),
            ("GetItem", "PAYMENTS_TABLE"),
            ("GetItem", "VERIFICATIONS_TABLE"),
        ]
    )


# -- no threshold splitting (PSD2 RTS Art. 16) ---------------------------------------------
def exempt_count(stack: FunctionStack, user: str = PAYER) -> dict[str, Any] | None:
    item: dict[str, Any] | None = stack.dynamodb.get_item(
        TableName=stack.env["PAYMENTS_TABLE"],
        Key={"payment_id": {"S": exempt_key(user)}},
        ConsistentRead=True,
    ).get("Item")
    return item


def test_a_sliced_payment_asks_for_a_code_and_says_why(stack: FunctionStack) -> None:
    # Given 99.99 USD paid without a code
    slice_ = {**ORDER, "amount": "99.99"}
    status, first, _ = pay(stack, "payments_initiate", slice_)
    assert (status, first["status"]) == (200, "completed")
    # When the same amount follows
    status, second, _ = pay(stack, "payments_initiate", slice_)
    # Then a code is sent for it, with the reason; one payment was executed
    assert status == 200, second
    assert (second["requires_verification"], second["reason"]) == (True, "cumulative_amount")
    assert len(stack.emulator.messages(PHONE)) == 1
    assert len(items(stack, "LEDGER_TABLE")) == 1
    # and the account's count holds the first one only, in cents
    count = exempt_count(stack)
    assert count is not None
    assert (count["payments"]["N"], count["sum_USD"]["N"]) == ("1", "9999")


def test_a_confirmed_payment_starts_the_count_over(stack: FunctionStack) -> None:
    # Given five small payments, and a sixth that asks for a code
    for _ in range(5):
        assert pay(stack, "payments_initiate", {**ORDER, "amount": "1.00"})[1]["status"] == (
            "completed"
        )
    _, sixth, _ = pay(stack, "payments_initiate", {**ORDER, "amount": "1.00"})
    assert sixth["reason"] == "payment_count"
    batches: list[dict[str, Any]] = []
    client = stack.functions["payments_confirm"].runtime.dynamodb
    client.meta.events.register(
        "before-parameter-build.dynamodb.BatchWriteItem",
        lambda params, **_: batches.append(params["RequestItems"]),
    )
    # When it is confirmed with the code
    status, _, _ = pay(
        stack,
        "payments_confirm",
        {"payment_id": sixth["payment_id"], "code": stack.code_for(PHONE)},
    )
    # Then the count is gone, and small payments go through again
    assert status == 200
    assert exempt_count(stack) is None
    # (deleted in the end-of-request batch, with the audit records: a best-effort write)
    [batch] = batches
    deleted = [w["DeleteRequest"]["Key"] for w in batch[stack.env["PAYMENTS_TABLE"]]]
    assert deleted == [{"payment_id": {"S": exempt_key(PAYER)}}]
    assert pay(stack, "payments_initiate", {**ORDER, "amount": "1.00"})[1]["status"] == (
        "completed"
    )


def test_a_locked_account_cannot_pay_a_small_amount(stack: FunctionStack) -> None:
    # Given the account is locked by 100 wrong codes (the failure counter's item)
    stack.dynamodb.put_item(
        TableName=stack.env["RATE_LIMITS_TABLE"],
        Item={
            "pk": {"S": f"fail#{PAYER}"},
            "failures": {"N": "100"},
            "ttl": {"N": "4102444800"},  # 2100-01-01: locked for the whole lockout
        },
    )
    # When a payment far below the threshold is initiated
    status, body, headers = pay(stack, "payments_initiate", {**ORDER, "amount": "5.00"})
    # Then 429 account_locked, and nothing is paid, written or counted (not even counted
    # and given back: the count, the lock and the payment are one transaction)
    assert (status, body["code"]) == (429, "account_locked")
    assert int(headers["Retry-After"]) > 0
    assert items(stack, "PAYMENTS_TABLE") == [] and items(stack, "LEDGER_TABLE") == []
    assert exempt_count(stack) is None


def test_dynamodb_round_trips_of_a_payment_without_a_code_and_of_a_refused_one(
    stack: FunctionStack,
) -> None:
    # Given every DynamoDB call of the initiate function recorded
    calls: list[tuple[str, str]] = []

    def record(model: Any, params: dict[str, Any], **_: Any) -> None:
        calls.append((model.name, str(params.get("TableName", ""))))

    client = stack.functions["payments_initiate"].runtime.dynamodb
    client.meta.events.register("before-parameter-build.dynamodb.*", record)
    # When a small payment is made, then a slice that needs a code
    pay(stack, "payments_initiate", {**ORDER, "amount": "99.99"})
    exempt_calls, calls[:] = list(calls), []
    pay(stack, "payments_initiate", {**ORDER, "amount": "99.99"})
    # Then the small payment read the user, was counted and written under the account lock's
    # check in one transaction, then executed and completed
    tables = {stack.env[name]: name for name in stack.env if name.endswith("_TABLE")}
    named = [(op, tables.get(table, table)) for op, table in exempt_calls]
    assert named == [
        ("GetItem", "USERS_TABLE"),
        ("TransactWriteItems", ""),  # the count, the lock's ConditionCheck, the payment
        ("PutItem", "LEDGER_TABLE"),
        ("UpdateItem", "PAYMENTS_TABLE"),
    ]
    # and the refused count cost one call and no read: the lock is not read at all, but
    # checked in the send limits' transaction (Challenges.open)
    named = [(op, tables.get(table, table)) for op, table in calls]
    assert named[:3] == [
        ("GetItem", "USERS_TABLE"),
        ("TransactWriteItems", ""),  # the count, refused with its reason: nothing written
        ("TransactWriteItems", ""),  # the send limits, with the lock's ConditionCheck
    ]
    assert [op for op, _ in named].count("GetItem") == 1, named
