"""POST /verify/cancel and GET /verify/status as Lambda runs them: real handlers with their
template environment on moto, codes sent through the Telnyx emulator."""

from __future__ import annotations

import json
import time
import uuid

import pytest

from phoneverify.adapters.dynamo.audit import DynamoAuditTrail
from phoneverify.adapters.dynamo.verifications import DynamoVerificationStore
from phoneverify.domain.models import FlowKind, FlowStatus, PendingVerification
from phoneverify.flows.engine.any_flow import flow_key
from tests.support.lambda_env import ROOT, invoke
from tests.support.verify_stack import VerifyStack

NO_PENDING = "No pending verification. Start login again."


@pytest.fixture
def stack(shared_verify_stack: VerifyStack) -> VerifyStack:
    """The module's stack, for an account (and phone) no other test uses."""
    return shared_verify_stack.with_new_account()


def wrong(code: str) -> str:
    return str((int(code) + 1) % 1_000_000).zfill(6)


def move_expiry_to_the_past(stack: VerifyStack, flow_id: str) -> None:
    stack.functions.dynamodb.update_item(
        TableName=stack.functions.env["VERIFICATIONS_TABLE"],
        Key={"pk": {"S": flow_key(flow_id)}},
        UpdateExpression="SET expires_at = :past",
        ExpressionAttributeValues={":past": {"N": str(int(time.time()) - 10)}},
    )


# -- cancel ------------------------------------------------------------------------------------
def test_a_cancelled_login_cannot_be_verified_or_resent(stack: VerifyStack) -> None:
    # Given a pending login whose code the person has
    flow_id = stack.login()
    code = stack.code()
    # When they walk away and the page cancels it
    status, body = stack.cancel(flow_id)
    # Then it is cancelled, and the right code no longer signs anyone in
    assert (status, body) == (200, {"cancelled": True})
    status, body, _ = stack.call("login_verify", {"flow_id": flow_id, "code": code})
    assert (status, body["error"]) == (400, NO_PENDING)
    status, body, _ = stack.call("login_resend", {"flow_id": flow_id})
    assert (status, body["error"]) == (400, NO_PENDING)
    assert len(stack.emulator.messages(stack.phone)) == 1  # no new SMS went out


def test_cancel_is_idempotent(stack: VerifyStack) -> None:
    flow_id = stack.login()
    assert stack.cancel(flow_id) == (200, {"cancelled": True})
    assert stack.cancel(flow_id) == (200, {"cancelled": False})


def test_cancel_answers_false_when_nothing_was_pending(stack: VerifyStack) -> None:
    # Given a flow that was used, and one that never existed
    used = stack.login()
    status, _, _ = stack.call("login_verify", {"flow_id": used, "code": stack.code()})
    assert status == 200
    # When / Then
    assert stack.cancel(used) == (200, {"cancelled": False})
    assert stack.cancel("x" * 43) == (200, {"cancelled": False})
    assert stack.status_of(used)["status"] == "verified"


def test_an_expired_login_can_still_be_cancelled_so_it_cannot_be_resent(
    stack: VerifyStack,
) -> None:
    # Given a login whose code expired (a resend could still revive it)
    flow_id = stack.login()
    move_expiry_to_the_past(stack, flow_id)
    # When / Then
    assert stack.cancel(flow_id) == (200, {"cancelled": True})
    status, body, _ = stack.call("login_resend", {"flow_id": flow_id})
    assert (status, body["error"]) == (400, NO_PENDING)


def test_a_pending_registration_is_cancelled_by_its_flow_id_and_forgets_its_data(
    stack: VerifyStack,
) -> None:
    # Given a pending registration (any kind of flow) holding a password hash
    flow_id = f"registration-flow-{uuid.uuid4().hex}"
    now = time.time()
    store = DynamoVerificationStore(
        stack.functions.dynamodb, stack.functions.env["VERIFICATIONS_TABLE"]
    )
    store.create(
        PendingVerification(
            flow_key=flow_key(flow_id),
            kind=FlowKind.REGISTRATION,
            subject="reg-1",
            phone_number="+14155550199",
            verification_id="v-reg",
            status=FlowStatus.PENDING,
            attempts=0,
            max_attempts=5,
            send_count=1,
            last_sent_at=now,
            expires_at=now + 600,
            created_at=now,
            data={"email": "new@example.com", "password_hash": "$2b$12$abc"},
        ),
        ttl=int(now) + 600,
    )
    # When
    assert stack.cancel(flow_id) == (200, {"cancelled": True})
    # Then
    assert "data" not in stack.item(flow_id)
    assert stack.status_of(flow_id)["status"] == "cancelled"


def test_a_cancellation_lands_in_the_audit_trail(stack: VerifyStack) -> None:
    flow_id = stack.login()
    stack.cancel(flow_id)
    trail = DynamoAuditTrail(
        stack.functions.dynamodb, stack.functions.env["AUDIT_TABLE"], retention_secs=1
    )
    events = trail.events_for(stack.user_id)
    assert [e["event"] for e in events] == ["cancelled", "sent", "password_accepted"]
    assert events[0]["masked_phone"] == "+1******" + stack.phone[-4:]
    assert events[0]["source_ip"] == "198.51.100.7"


@pytest.mark.parametrize(
    "body",
    [{}, {"flow_id": "../../etc"}, {"flow_id": 5}, {"flow_id": "x" * 43, "extra": 1}],
    ids=["missing", "bad-chars", "number", "extra-field"],
)
def test_cancel_refuses_bad_input_naming_the_field(
    stack: VerifyStack, body: dict[str, object]
) -> None:
    status, answer, _ = stack.call("verify_cancel", body)
    assert status == 400 and answer["code"] == "invalid_request"
    assert answer["field"] in ("flow_id", "extra")


# -- status ------------------------------------------------------------------------------------
def test_status_of_a_pending_login_says_only_what_the_holder_needs(stack: VerifyStack) -> None:
    # Given
    flow_id = stack.login()
    # When
    body = stack.status_of(flow_id)
    # Then
    assert set(body) == {"status", "delivery_status", "expires_in", "channel"}
    assert (body["status"], body["delivery_status"]) == ("pending", "unknown")
    assert 295 <= body["expires_in"] <= 300
    assert stack.phone not in json.dumps(body) and stack.user_id not in json.dumps(body)


def test_status_follows_the_flow_to_verified(stack: VerifyStack) -> None:
    flow_id = stack.login()
    stack.call("login_verify", {"flow_id": flow_id, "code": stack.code()})
    assert stack.status_of(flow_id) == {
        "status": "verified",
        "delivery_status": "unknown",
        "expires_in": 0,
        "channel": "sms",
    }


def test_status_says_expired_once_the_code_expired(stack: VerifyStack) -> None:
    # Given a login whose expiry passed (DynamoDB's TTL has not deleted it)
    flow_id = stack.login()
    move_expiry_to_the_past(stack, flow_id)
    # When / Then
    body = stack.status_of(flow_id)
    assert (body["status"], body["expires_in"]) == ("expired", 0)


def test_status_of_a_cancelled_flow(stack: VerifyStack) -> None:
    flow_id = stack.login()
    stack.cancel(flow_id)
    body = stack.status_of(flow_id)
    assert (body["status"], body["expires_in"]) == ("cancelled", 0)


def test_status_says_locked_after_too_many_wrong_codes(stack: VerifyStack) -> None:
    # Given a login that used up its attempts
    flow_id = stack.login()
    bad = wrong(stack.code())
    answers = [stack.call("login_verify", {"flow_id": flow_id, "code": bad})[0] for _ in range(5)]
    assert answers[-1] == 429
    # When / Then
    body = stack.status_of(flow_id)
    assert (body["status"], body["expires_in"]) == ("locked", 0)
    # and a locked flow has nothing left to cancel
    assert stack.cancel(flow_id) == (200, {"cancelled": False})


def test_status_of_an_unknown_flow_is_a_404(stack: VerifyStack) -> None:
    assert stack.status({"flow_id": "x" * 43}) == (
        404,
        {"error": "Verification not found", "code": "not_found"},
    )


@pytest.mark.parametrize(
    "query",
    [None, {}, {"flow_id": "short"}, {"flow_id": "../../../etc/passwd-xxxxxxxxx"}, {"id": "x"}],
    ids=["no-query", "empty", "too-short", "bad-chars", "other-param"],
)
def test_status_without_a_valid_flow_id_is_a_400_naming_it(
    stack: VerifyStack, query: dict[str, str] | None
) -> None:
    status, body = stack.status(query)
    assert status == 400
    assert (body["code"], body["field"]) == ("invalid_request", "flow_id")
    assert "flow_id" in body["error"]


# -- the committed sample events ---------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("verify_cancel", (200, {"cancelled": False})),
        ("verify_status", (404, {"error": "Verification not found", "code": "not_found"})),
        # Its token is a placeholder: `sam local invoke` shows the refusal path.
        ("verify_status_payment", (401, {"error": "Unauthorized", "code": "unauthorized"})),
    ],
)
def test_sample_events_are_understood_by_their_handlers(
    stack: VerifyStack, name: str, expected: tuple[int, dict[str, object]]
) -> None:
    # The committed events feed `sam local invoke`; they must stay valid requests.
    event = json.loads((ROOT / "events" / f"{name}.json").read_text())
    handler = stack.functions.functions[name.removesuffix("_payment")]
    status, body, _ = invoke(handler, event)
    assert (status, body) == expected
