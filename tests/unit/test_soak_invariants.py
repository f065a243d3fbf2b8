"""Each soak invariant fails on a history that breaks it, and holds on one that does not."""

from __future__ import annotations

from typing import Any

from devtools.soak import invariants as inv
from devtools.soak.history import Exchange, History, Snapshot


def ex(path: str, status: int = 200, t: float = 0.0, **fields: Any) -> Exchange:
    body = fields.pop("body", {})
    rid = fields.pop("request_id", f"r{t}")
    return Exchange(
        "j", "POST", path, status, body, fields.pop("retry_after", None), rid, t, t + 0.5, **fields
    )


def history(*exchanges: Exchange, **extra: Any) -> History:
    h = History(**extra)
    for e in exchanges:
        h.add(e)
    return h


def test_a_payment_charged_twice_or_as_another_transaction_is_a_violation() -> None:
    ledger = [
        {"payment_id": "p1", "transaction_id": "t1"},
        {"payment_id": "p1", "transaction_id": "t2"},
    ]
    snap = Snapshot(payments=[{"payment_id": "p1", "transaction_id": "t1"}], ledger=ledger)
    assert inv.charged_at_most_once(snap) == [
        "p1 charged 2 times",
        "p1 charged as another transaction than recorded",
    ]
    assert inv.charged_at_most_once(Snapshot(ledger=ledger[:1])) == []


def test_a_completed_payment_missing_from_the_ledger_is_a_violation() -> None:
    told = ex(
        "/payments/confirm",
        body={"payment_id": "p1", "status": "completed", "transaction_id": "t1"},
    )
    assert inv.completed_in_ledger_once(history(told), Snapshot()) == [
        "p1 told completed but ledger holds 0"
    ]
    ledger = [{"payment_id": "p1", "transaction_id": "t1"}]
    assert inv.completed_in_ledger_once(history(told), Snapshot(ledger=ledger)) == []


def test_processing_after_the_reconciler_and_failed_but_charged_are_violations() -> None:
    snap = Snapshot(
        payments=[
            {"payment_id": "p1", "status": "processing"},
            {"payment_id": "p2", "status": "failed"},
        ],
        ledger=[{"payment_id": "p2", "transaction_id": "t"}],
    )
    assert inv.none_processing_after_reconciler(snap) == ["p1 still processing"]
    assert inv.none_failed_and_charged(snap) == ["p2 failed but charged"]
    verdicts = {v.name: v for v in inv.check_all(History(), snap)}
    assert verdicts["no payment processing after the reconciler"].skipped == inv.NO_RECONCILER
    snap.reconciled = True
    verdicts = {v.name: v for v in inv.check_all(History(), snap)}
    assert verdicts["no payment processing after the reconciler"].violations == [
        "p1 still processing"
    ]


def test_a_payment_the_reconciler_voided_is_not_a_charge() -> None:
    """A `voided` ledger item (the processor settled the id as never charged) beside a failed
    payment is no violation; a charge beside it is."""
    snap = Snapshot(
        payments=[{"payment_id": "p1", "status": "failed"}],
        ledger=[{"payment_id": "p1", "voided": True}],
    )
    assert inv.charged_at_most_once(snap) == []
    assert inv.none_failed_and_charged(snap) == []
    snap.ledger = [{"payment_id": "p1", "transaction_id": "t1"}]
    assert inv.none_failed_and_charged(snap) == ["p1 failed but charged"]


def test_two_accounts_with_one_email_or_phone_are_a_violation() -> None:
    users = [
        {"pk": "USER#a", "email": "x@example.com", "phone_number": "+14155550100"},
        {"pk": "USER#b", "email": "x@example.com", "phone_number": "+14155550101"},
        {"pk": "EMAIL#x@example.com", "user_id": "a"},
    ]
    assert inv.one_account_per_email_and_phone(Snapshot(users=users)) == [
        "2 accounts share one email"
    ]


def test_a_sign_up_without_its_proven_phone_is_a_violation() -> None:
    created = ex("/register/verify", 201, body={"user_id": "a"})
    users = [
        {"pk": "USER#a", "user_id": "a", "phone_number": "+14155550100", "phone_verified": False}
    ]
    assert inv.signups_have_their_phone(history(created), Snapshot(users=users)) == [
        "account a has no proven phone"
    ]
    assert inv.signups_have_their_phone(history(created), Snapshot()) == [
        "account a answered 201 but is missing"
    ]
    users[0]["phone_verified"] = True
    assert inv.signups_have_their_phone(history(created), Snapshot(users=users)) == []


def test_a_code_accepted_after_its_flow_ended_or_was_superseded_is_a_violation() -> None:
    cancelled = ex("/verify/cancel", 200, t=1, flow="f1")
    late = ex("/login/verify", 200, t=2, flow="f1", request_id="late")
    superseded = ex("/login/verify", 200, t=3, flow="f2", code_state="superseded", request_id="old")
    locked = ex("/payments/confirm", 429, t=4, flow="p1", body={"code": "too_many_attempts"})
    after_lock = ex("/payments/confirm", 200, t=5, flow="p1", request_id="after")
    found = inv.no_code_after_flow_end(history(cancelled, late, superseded, locked, after_lock))
    assert found == [
        "/login/verify accepted a code after its flow ended (late)",
        "/login/verify accepted a superseded code (old)",
        "/payments/confirm accepted a code after its flow ended (after)",
    ]
    assert inv.no_code_after_flow_end(history(ex("/login/verify", 200, flow="f3"))) == []


def test_a_counter_over_its_cap_is_a_violation() -> None:
    snap = Snapshot(verifications=[{"attempts": 6, "max_attempts": 5, "send_count": 6}])
    assert inv.no_counter_over_cap(snap) == [
        "a flow took 6 attempts over its cap of 5",
        "a flow sent 6 codes over the cap of 5",
    ]
    assert (
        inv.no_counter_over_cap(Snapshot(verifications=[{"attempts": 5, "max_attempts": 5}])) == []
    )


def test_a_token_accepted_after_its_logout_is_a_violation() -> None:
    logout = ex("/logout", 200, t=1, token="tk", ends=("tk",))
    used = ex("/payments/initiate", 200, t=2, token="tk", request_id="used")
    refused = ex("/payments/initiate", 401, t=3, token="tk")
    assert inv.ended_tokens_refused(history(logout, used, refused)) == [
        "POST /payments/initiate accepted an ended token (used)"
    ]
    before = ex("/payments/initiate", 200, t=0.2, token="tk")  # sent before the logout answered
    assert inv.ended_tokens_refused(history(logout, before)) == []


def test_a_500_or_a_502_without_retry_after_is_a_violation_unless_the_function_was_killed() -> None:
    h = history(
        ex("/login", 500, request_id="a"),
        ex("/login", 502, request_id="b"),
        ex("/login", 503, request_id="c", retry_after="1"),
        ex("/login", 502, request_id="killed"),
        ex("/login", 504, request_id="d"),
        killed={"killed"},
    )
    assert inv.no_500_and_retry_after(h) == [
        "500 on POST /login (a)",
        "502 without Retry-After on POST /login (b)",
    ]
    assert inv.killed_answers(h) == {502: 1}


def test_a_code_or_password_in_an_audit_record_log_line_or_notice_is_a_violation() -> None:
    h = History(codes={"123456"}, passwords={"a long passphrase"})
    snap = Snapshot(
        audit=[{"event": "login", "detail": "code 123456"}],
        log_lines=["password=a long passphrase", "took 1123456 ms", "at 12:00:00.123456"],
        notices=["Your code is 123456"],
    )
    assert inv.no_secrets_at_rest(h, snap) == [
        "a code in an audit record",
        "a password in a log line",
        "a code in a notice",
    ]
