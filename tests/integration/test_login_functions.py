"""The three login functions as Lambda runs them: real handlers, tables built from template.yaml
on moto, secrets in (moto's) SSM, and codes sent through the Telnyx emulator over loopback."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import fields
from pathlib import Path
from typing import Any
from unittest import mock

import httpx
import pytest
from botocore.exceptions import ClientError

from devtools.aws_resources import LOCAL_ORIGIN
from devtools.telnyx_emulator import TelnyxEmulator
from phoneverify.adapters.dynamo.audit import DynamoAuditTrail
from phoneverify.domain.models import User
from phoneverify.domain.passwords import PasswordHasher
from tests.support.function_stack import FunctionStack, function_stack
from tests.support.lambda_env import ROOT, api_event, invoke

PHONE = "+14155550123"
FULL_WIDTH_DIGITS = "\uff11\uff12\uff13\uff14\uff15\uff16"  # "123456" outside ASCII
PASSWORD = "correct horse battery staple"
FUNCTIONS = ["login", "login_verify", "login_resend"]


class Stack(FunctionStack):
    def login(self) -> str:
        status, body, _ = self.call("login", {"email": "demo@example.com", "password": PASSWORD})
        assert status == 200, body
        assert isinstance(body["flow_id"], str)
        return body["flow_id"]


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch, emulator: TelnyxEmulator) -> Iterator[Stack]:
    with function_stack(monkeypatch, emulator, FUNCTIONS) as running:
        hasher = PasswordHasher(cost=4)
        running.users.put_user(
            User("u-demo", "demo@example.com", hasher.hash(PASSWORD), PHONE), phone_verified_at=0
        )
        running.users.put_user(User("u-plain", "plain@example.com", hasher.hash(PASSWORD), None))
        yield Stack(**{field.name: getattr(running, field.name) for field in fields(running)})


def other_than(code: str) -> str:
    """Another six-digit code than `code`."""
    return str((int(code) + 1) % 1_000_000).zfill(6)


def login_after_a_wrong_code(stack: Stack) -> tuple[str, str]:
    """A login whose first code was wrong (the account counts one failure): its flow id and
    its right code."""
    flow_id = stack.login()
    code = stack.emulator.latest_code(PHONE)
    assert code is not None
    stack.call("login_verify", {"flow_id": flow_id, "code": other_than(code)})
    return flow_id, code


def test_login_then_code_from_the_outbox_gives_a_token_for_the_user(stack: Stack) -> None:
    # Given
    flow_id = stack.login()
    code = stack.emulator.latest_code(PHONE)
    assert code is not None
    # When
    status, body, headers = stack.call(
        "login_verify", {"flow_id": flow_id, "code": code}, {"Origin": LOCAL_ORIGIN}
    )
    # Then
    assert status == 200, body
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert stack.decode(str(body["token"]))["sub"] == "u-demo"
    assert headers.get("Access-Control-Allow-Origin") == LOCAL_ORIGIN
    # and the flow is single use
    status, body, _ = stack.call("login_verify", {"flow_id": flow_id, "code": code})
    assert (status, body["error"]) == (400, "No pending verification. Start login again.")


def test_every_attempt_lands_in_the_audit_trail_without_the_code(stack: Stack) -> None:
    # Given a login with one wrong and one right code
    flow_id = stack.login()
    code = stack.emulator.latest_code(PHONE)
    assert code is not None
    wrong = other_than(code)
    stack.call("login_verify", {"flow_id": flow_id, "code": wrong})
    stack.call("login_verify", {"flow_id": flow_id, "code": code})
    # When
    trail = DynamoAuditTrail(stack.dynamodb, stack.env["AUDIT_TABLE"], retention_secs=1)
    events = trail.events_for("u-demo")
    # Then
    assert [e["event"] for e in events] == ["accepted", "rejected", "sent", "password_accepted"]
    assert {e["source_ip"] for e in events} == {"198.51.100.7"}  # from the API Gateway event
    assert all(e["masked_phone"] == "+1******0123" for e in events[:3])
    stored = json.dumps(stack.dynamodb.scan(TableName=stack.env["AUDIT_TABLE"])["Items"])  # type: ignore[attr-defined]
    assert code not in stored and wrong not in stored and PHONE not in stored


def test_a_wrong_code_401_still_leaves_its_audit_record(stack: Stack) -> None:
    # Given a pending login
    flow_id = stack.login()
    code = stack.emulator.latest_code(PHONE)
    assert code is not None
    wrong = other_than(code)
    # When a wrong code is answered with a 401 (the request ends in an error)
    status, body, _ = stack.call("login_verify", {"flow_id": flow_id, "code": wrong})
    assert (status, body["code"]) == (401, "invalid_code")
    # Then its rejection is in the audit trail all the same, written as the request ended
    trail = DynamoAuditTrail(stack.dynamodb, stack.env["AUDIT_TABLE"], retention_secs=1)
    newest = trail.events_for("u-demo")[0]
    assert (newest["event"], newest["detail"]) == ("rejected", {"attempts": "1", "remaining": "4"})


def test_a_right_codes_records_go_in_one_write_and_clear_the_failures(stack: Stack) -> None:
    # Given a login whose first code was wrong (the account counts one failure)
    flow_id, code = login_after_a_wrong_code(stack)
    client = stack.functions["login_verify"].runtime.dynamodb
    calls: list[str] = []

    def seen(event_name: str, **_: object) -> None:
        calls.append(event_name.rsplit(".", 1)[-1])

    # When the right code is sent
    client.meta.events.register("before-call.dynamodb", seen)
    try:
        status, _, _ = stack.call("login_verify", {"flow_id": flow_id, "code": code})
    finally:
        client.meta.events.unregister("before-call.dynamodb", seen)
    # Then the acceptance and the failures' reset are one BatchWriteItem, the last call
    assert status == 200
    assert calls[-1] == "BatchWriteItem" and calls.count("BatchWriteItem") == 1
    assert "DeleteItem" not in calls and "PutItem" not in calls
    trail = DynamoAuditTrail(stack.dynamodb, stack.env["AUDIT_TABLE"], retention_secs=1)
    assert trail.events_for("u-demo")[0]["event"] == "accepted"
    failures = stack.dynamodb.get_item(
        TableName=stack.env["RATE_LIMITS_TABLE"], Key={"pk": {"S": "fail#u-demo"}}
    )
    assert "Item" not in failures  # the next wrong code counts from zero


def test_a_throttled_audit_batch_is_logged_and_the_login_goes_through(
    stack: Stack, caplog: pytest.LogCaptureFixture
) -> None:
    # Given DynamoDB throttling the end-of-request batch of the verify function
    flow_id, code = login_after_a_wrong_code(stack)
    client = stack.functions["login_verify"].runtime.dynamodb
    throttled = ClientError(
        {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}},
        "BatchWriteItem",
    )
    # When the right code is sent
    with mock.patch.object(client, "batch_write_item", side_effect=throttled):
        status, body, _ = stack.call("login_verify", {"flow_id": flow_id, "code": code})
    # Then the login goes through, and the lost records are in the logs, without the code
    assert status == 200, body
    assert "audit write failed" in caplog.text
    assert "failure count not reset" in caplog.text
    assert code not in caplog.text


def test_login_answers_with_the_contract_fields(stack: Stack) -> None:
    status, body, _ = stack.call("login", {"email": "demo@example.com", "password": PASSWORD})
    assert status == 200
    assert body["requires_2fa"] is True
    assert body["phone_hint"] == "+1******0123"
    assert (body["timeout_secs"], body["code_length"], body["resend_after_secs"]) == (300, 6, 30)


def test_account_without_phone_gets_a_token_directly(stack: Stack) -> None:
    status, body, _ = stack.call("login", {"email": "plain@example.com", "password": PASSWORD})
    assert status == 200
    assert stack.decode(str(body["token"]))["sub"] == "u-plain"
    assert stack.emulator.messages() == []


def test_wrong_password_and_unknown_email_get_the_same_401(stack: Stack) -> None:
    wrong = stack.call("login", {"email": "demo@example.com", "password": "nope nope"})
    unknown = stack.call("login", {"email": "who@example.com", "password": PASSWORD})
    assert (
        wrong[:2]
        == unknown[:2]
        == (401, {"error": "Invalid credentials", "code": "invalid_credentials"})
    )


def test_a_known_and_an_unknown_email_cost_login_the_same_calls(stack: Stack) -> None:
    # Given every DynamoDB call of /login recorded, with what it read
    client = stack.functions["login"].runtime.dynamodb
    calls: list[tuple[str, bool]] = []

    def seen(model: Any, params: dict[str, Any], **_: object) -> None:
        calls.append((model.name, bool(params.get("ConsistentRead"))))

    def login_calls(email: str) -> list[tuple[str, bool]]:
        calls.clear()
        client.meta.events.register("before-parameter-build.dynamodb", seen)
        try:
            status, _, _ = stack.call("login", {"email": email, "password": "not the password"})
        finally:
            client.meta.events.unregister("before-parameter-build.dynamodb", seen)
        assert status == 401
        return list(calls)

    # When a wrong password is tried for a known email and for an unknown one
    known, unknown = login_calls("demo@example.com"), login_calls("nobody-here@example.com")
    # Then both make the same calls, in the same order: two consistent reads among them (the
    # email's pointer, then the account, or a key no account has), so timing tells nothing
    assert known == unknown
    assert known.count(("GetItem", True)) == 2


def test_wrong_codes_then_lockout(stack: Stack) -> None:
    # Given
    flow_id = stack.login()
    code = stack.emulator.latest_code(PHONE)
    assert code is not None
    wrong = other_than(code)
    # When
    answers = [stack.call("login_verify", {"flow_id": flow_id, "code": wrong}) for _ in range(5)]
    # Then
    assert [(s, b.get("attempts_remaining")) for s, b, _ in answers[:4]] == [
        (401, 4),
        (401, 3),
        (401, 2),
        (401, 1),
    ]
    assert answers[0][1]["response_code"] == "rejected"
    status, body, headers = answers[4]
    assert status == 429 and headers["Retry-After"] == "0"
    assert body["error"] == "Too many attempts. Please start the login process again."
    assert stack.call("login_verify", {"flow_id": flow_id, "code": code})[0] == 429


def test_expired_flow_gives_410(stack: Stack) -> None:
    # Given a flow whose expiry has passed (TTL has not deleted it yet)
    flow_id = stack.login()
    table = stack.env["VERIFICATIONS_TABLE"]
    items = stack.dynamodb.scan(TableName=table)["Items"]  # type: ignore[attr-defined]
    stack.dynamodb.update_item(  # type: ignore[attr-defined]
        TableName=table,
        Key={"pk": items[0]["pk"]},
        UpdateExpression="SET expires_at = :past",
        ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 10)}},
    )
    # When
    status, body, _ = stack.call(
        "login_verify", {"flow_id": flow_id, "code": stack.emulator.latest_code(PHONE)}
    )
    # Then
    assert (status, body["error"]) == (410, "Verification expired. Start login again.")


def test_resend_respects_the_cooldown(stack: Stack) -> None:
    flow_id = stack.login()
    status, body, headers = stack.call("login_resend", {"flow_id": flow_id})
    assert status == 429
    assert 1 <= int(headers["Retry-After"]) <= 30 and body["retry_after"] == int(
        headers["Retry-After"]
    )


def test_telnyx_down_gives_502_and_writes_nothing(stack: Stack) -> None:
    # Given
    stack.emulator.add_fault(endpoint="send", status=503, count=1)
    # When
    status, body, _ = stack.call("login", {"email": "demo@example.com", "password": PASSWORD})
    # Then
    assert (status, body["error"]) == (502, "Failed to send verification code")
    items = stack.dynamodb.scan(TableName=stack.env["VERIFICATIONS_TABLE"])["Items"]  # type: ignore[attr-defined]
    assert items == []


def test_telnyx_timing_out_at_check_gives_502_and_keeps_the_attempt(stack: Stack) -> None:
    # Given a pending login, and Telnyx answering the check too late (client timeout 1 s)
    flow_id = stack.login()
    code = stack.emulator.latest_code(PHONE)
    verify = stack.functions["login_verify"].runtime
    verify.telnyx._http.timeout = httpx.Timeout(1.0)
    stack.emulator.add_fault(endpoint="verify", delay_ms=1500, count=1)
    # When
    status, body, _ = stack.call("login_verify", {"flow_id": flow_id, "code": code})
    # Then a clean 502, and the flow is still usable with all its attempts
    assert (status, body["error"]) == (502, "Verification failed")
    wrong = other_than(str(code))
    status, body, _ = stack.call("login_verify", {"flow_id": flow_id, "code": wrong})
    assert (status, body["attempts_remaining"]) == (401, 4)


def test_dynamodb_throttling_gives_a_clean_503_with_retry_after(stack: Stack) -> None:
    # Given DynamoDB throttling every read of the login function
    client = stack.functions["login"].runtime.dynamodb
    throttled = ClientError(
        {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}},
        "GetItem",
    )
    # When
    with mock.patch.object(client, "get_item", side_effect=throttled):
        status, body, headers = stack.call(
            "login", {"email": "demo@example.com", "password": PASSWORD}
        )
    # Then
    assert status == 503
    assert body["code"] == "service_unavailable"
    assert int(headers["Retry-After"]) >= 1
    assert stack.emulator.messages() == []  # nothing was sent


@pytest.mark.parametrize(
    ("name", "body", "field"),
    [
        ("login", {"email": "demo@example.com"}, "password"),
        ("login", {"email": "demo@example.com", "password": PASSWORD, "admin": True}, "admin"),
        ("login", {"email": 5, "password": PASSWORD}, "email"),
        ("login_verify", {"flow_id": "x" * 43, "code": FULL_WIDTH_DIGITS}, "code"),
        ("login_verify", {"flow_id": "x" * 43, "code": 123456}, "code"),
        ("login_resend", {"flow_id": "../../etc"}, "flow_id"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(
    stack: Stack, name: str, body: dict[str, object], field: str
) -> None:
    status, answer, _ = stack.call(name, body)
    assert status == 400
    assert answer["code"] == "invalid_request" and answer["field"] == field
    assert field in str(answer["error"])


@pytest.mark.parametrize(
    ("headers", "body", "status", "code"),
    [
        ({"Content-Type": "text/plain"}, '{"flow_id": "x"}', 415, "unsupported_media_type"),
        (
            {"Content-Type": "application/x-www-form-urlencoded"},
            "a=b",
            415,
            "unsupported_media_type",
        ),
        ({"Content-Type": "application/json; charset=utf-8"}, "x" * 70_000, 413, "body_too_large"),
    ],
    ids=["text-plain", "form", "oversized"],
)
def test_wrong_content_type_and_oversized_bodies_are_refused_before_parsing(
    stack: Stack, headers: dict[str, str], body: str, status: int, code: str
) -> None:
    response = invoke(stack.functions["login"], api_event("/login", body, headers=headers))
    assert response[0] == status
    assert response[1]["code"] == code


@pytest.mark.parametrize("raw", ["{not json", "[]", None])
def test_unreadable_bodies_are_400(stack: Stack, raw: str | None) -> None:
    status, answer, _ = invoke(stack.functions["login"], api_event("/login", raw))
    assert status == 400 and answer["code"] == "invalid_request"


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_sample_event_is_understood_by_its_handler(stack: Stack, name: str) -> None:
    # The committed events feed `sam local invoke`; they must stay valid requests.
    event = json.loads((ROOT / "events" / f"{name}.json").read_text())
    status, body, _ = invoke(stack.functions[name], event)
    expected = {"login": 200, "login_verify": 400, "login_resend": 400}[name]
    assert status == expected, body
    if name != "login":
        assert body["code"] == "no_pending_verification"


def test_sample_events_exist_for_every_function() -> None:
    template = (ROOT / "template.yaml").read_text()
    for directory in sorted(p.name for p in (ROOT / "functions").iterdir() if p.is_dir()):
        assert f"functions/{directory}/" in template
        assert Path(ROOT / "events" / f"{directory}.json").is_file()


def test_wrong_passwords_are_audited_with_who_asked_never_the_password(stack: Stack) -> None:
    # Given a wrong password for a known and for an unknown email
    headers = {"User-Agent": "credential-stuffer/1.0"}
    for email in ("demo@example.com", "nobody@example.com"):
        status, _, _ = stack.call(
            "login", {"email": email, "password": "hunter2-guess"}, headers=headers
        )
        assert status == 401
    # When
    trail = DynamoAuditTrail(stack.dynamodb, stack.env["AUDIT_TABLE"], retention_secs=1)
    known = trail.events_for("u-demo")
    everything = json.dumps(stack.dynamodb.scan(TableName=stack.env["AUDIT_TABLE"])["Items"])  # type: ignore[attr-defined]
    # Then each refusal is in the audit trail with its address and user agent
    assert [e["event"] for e in known] == ["password_rejected"]
    assert known[0]["source_ip"] == "198.51.100.7"
    assert known[0]["user_agent"] == "credential-stuffer/1.0"
    assert known[0]["detail"] == {"failures": "1", "next_wait_secs": "0"}
    assert everything.count("password_rejected") == 2
    assert '"subject": {"S": "email#' in everything  # the unknown email, hashed
    # and it holds neither the password nor the unknown email in clear
    assert "hunter2-guess" not in everything
    assert "nobody@example.com" not in everything
