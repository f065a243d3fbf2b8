"""The promises the soak checks at the end, each a function of the history and the tables.

Each returns the list of violations it found (empty: the promise held), described without a
code, a password or a token. `check_all` runs them all; one that cannot be checked yet says
why (`SKIPPED`)."""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from devtools.soak.history import VERIFY_PATHS, History, Snapshot
from phoneverify.config import Settings

ENDED_PAYMENT = {"failed", "expired", "cancelled"}
# A flow's sends (the first and its resends): the setting's default, which the template keeps.
MAX_SENDS: int = Settings.model_fields["max_sends_per_flow"].default
NO_RECONCILER = "skipped: no reconciler"


@dataclass(frozen=True)
class Verdict:
    name: str
    violations: list[str]
    skipped: str | None = None


def charges(snap: Snapshot) -> list[dict[str, Any]]:
    """The ledger's charges: a `voided` item is the reconciler's record that a payment id was
    never charged and never will be (docs/payments.md#reconciliation), not a charge."""
    return [item for item in snap.ledger if not item.get("voided")]


def charged_at_most_once(snap: Snapshot) -> list[str]:
    """One ledger item per payment, with the transaction id the payment records."""
    found = []
    counts = Counter(str(item["payment_id"]) for item in charges(snap))
    found += [f"{pid} charged {n} times" for pid, n in counts.items() if n > 1]
    txn = {str(p["payment_id"]): p.get("transaction_id") for p in snap.payments}
    for item in charges(snap):
        recorded = txn.get(str(item["payment_id"]))
        if recorded and recorded != item["transaction_id"]:
            found.append(f"{item['payment_id']} charged as another transaction than recorded")
    return found


def completed_in_ledger_once(history: History, snap: Snapshot) -> list[str]:
    """Every payment a client was told `completed` is in the ledger once, with that txn."""
    ledger: dict[str, list[str]] = defaultdict(list)
    for item in charges(snap):
        ledger[str(item["payment_id"])].append(str(item["transaction_id"]))
    found = []
    for ex in history.exchanges:
        if ex.ok and ex.body.get("status") == "completed" and "transaction_id" in ex.body:
            pid = str(ex.body.get("payment_id"))
            if ledger.get(pid) != [ex.body["transaction_id"]]:
                found.append(f"{pid} told completed but ledger holds {len(ledger.get(pid, []))}")
    return found


def none_processing_after_reconciler(snap: Snapshot) -> list[str]:
    return [
        f"{p['payment_id']} still processing"
        for p in snap.payments
        if p.get("status") == "processing"
    ]


def none_failed_and_charged(snap: Snapshot) -> list[str]:
    charged = {str(item["payment_id"]) for item in charges(snap)}
    return [
        f"{p['payment_id']} {p['status']} but charged"
        for p in snap.payments
        if p.get("status") in ENDED_PAYMENT and str(p["payment_id"]) in charged
    ]


def one_account_per_email_and_phone(snap: Snapshot) -> list[str]:
    found = []
    accounts = [u for u in snap.users if str(u.get("pk", "")).startswith("USER#")]
    for attribute in ("email", "phone_number"):
        counts = Counter(str(u[attribute]) for u in accounts if u.get(attribute))
        found += [f"{n} accounts share one {attribute}" for n in counts.values() if n > 1]
    return found


def signups_have_their_phone(history: History, snap: Snapshot) -> list[str]:
    """Every 201 of /register/verify names an account that holds a verified phone."""
    users = {
        str(u.get("user_id")): u for u in snap.users if str(u.get("pk", "")).startswith("USER#")
    }
    found = []
    for ex in history.exchanges:
        if ex.path == "/register/verify" and ex.status == 201:
            user = users.get(str(ex.body.get("user_id")))
            if user is None:
                found.append(f"account {ex.body.get('user_id')} answered 201 but is missing")
            elif not (user.get("phone_number") and user.get("phone_verified")):
                found.append(f"account {ex.body.get('user_id')} has no proven phone")
    return found


def no_code_after_flow_end(history: History) -> list[str]:
    """No verify succeeds with a code superseded by a resend or sent after its flow ended
    (completed, cancelled, locked), whether the client knew it or the history shows it."""
    found, ended_at = [], dict[str, float]()
    for ex in sorted(history.exchanges, key=lambda e: e.started):
        verify = ex.path in VERIFY_PATHS
        if verify and ex.ok and ex.code_state in ("superseded", "ended"):
            found.append(f"{ex.path} accepted a {ex.code_state} code ({ex.request_id})")
        elif verify and ex.ok and ex.flow in ended_at and ex.started > ended_at[ex.flow]:
            found.append(f"{ex.path} accepted a code after its flow ended ({ex.request_id})")
        ends = (verify and ex.ok) or (ex.path == "/verify/cancel" and ex.ok)
        ends = ends or (verify and ex.body.get("code") == "too_many_attempts")
        if ends and ex.flow:
            ended_at.setdefault(ex.flow, ex.ended)
    return found


def no_counter_over_cap(snap: Snapshot, max_sends: int = MAX_SENDS) -> list[str]:
    found = []
    for item in snap.verifications:
        attempts, cap = item.get("attempts"), item.get("max_attempts")
        if attempts is not None and cap is not None and int(attempts) > int(cap):
            found.append(f"a flow took {attempts} attempts over its cap of {cap}")
        sends = item.get("send_count")
        if sends is not None and int(sends) > max_sends:
            found.append(f"a flow sent {sends} codes over the cap of {max_sends}")
    return found


def ended_tokens_refused(history: History) -> list[str]:
    """A token ended by a logout, a reset or a phone change is refused once that answered."""
    ended: dict[str, float] = {}
    for ex in history.exchanges:
        if ex.ok:
            for token in ex.ends:
                ended[token] = min(ended.get(token, ex.ended), ex.ended)
    return [
        f"{ex.method} {ex.path} accepted an ended token ({ex.request_id})"
        for ex in history.exchanges
        if ex.ok and ex.token in ended and ex.started > ended[ex.token]
    ]


def no_500_and_retry_after(history: History) -> list[str]:
    """No 500; every 502/503 the project answers carries Retry-After (the gateway's own
    answers for killed invocations are counted apart: `killed_answers`; a 504, the gateway's
    integration timeout, is counted in the figures)."""
    found = []
    for ex in history.exchanges:
        if ex.request_id in history.killed:
            continue
        if ex.status == 500:
            found.append(f"500 on {ex.method} {ex.path} ({ex.request_id})")
        elif ex.status in (502, 503) and not ex.retry_after:
            found.append(
                f"{ex.status} without Retry-After on {ex.method} {ex.path} ({ex.request_id})"
            )
    return found


def killed_answers(history: History) -> Counter[int]:
    return Counter(ex.status for ex in history.exchanges if ex.request_id in history.killed)


def no_secrets_at_rest(history: History, snap: Snapshot) -> list[str]:
    """No audit record or log line holds a code or a password; no notice holds a code."""
    codes = (
        re.compile(
            r"(?<![0-9A-Za-z.:_-])("
            + "|".join(map(re.escape, sorted(history.codes)))
            + r")(?![0-9A-Za-z])"
        )
        if history.codes
        else None
    )
    found = []
    places = [("an audit record", json.dumps(a, default=str)) for a in snap.audit]
    places += [("a log line", line) for line in snap.log_lines]
    for where, text in places:
        if codes is not None and codes.search(text):
            found.append(f"a code in {where}")
        if any(p in text for p in history.passwords):
            found.append(f"a password in {where}")
    found += [
        "a code in a notice" for text in snap.notices if codes is not None and codes.search(text)
    ]
    return found


def check_all(history: History, snap: Snapshot) -> list[Verdict]:
    checks: list[tuple[str, Callable[[], list[str]]]] = [
        ("charged at most once", lambda: charged_at_most_once(snap)),
        (
            "every completed told is in the ledger once",
            lambda: completed_in_ledger_once(history, snap),
        ),
        ("none failed and charged", lambda: none_failed_and_charged(snap)),
        ("each email and phone at most one account", lambda: one_account_per_email_and_phone(snap)),
        ("every sign-up has its proven phone", lambda: signups_have_their_phone(history, snap)),
        ("no code accepted after its flow ended", lambda: no_code_after_flow_end(history)),
        ("no counter over its cap", lambda: no_counter_over_cap(snap)),
        ("no ended token accepted", lambda: ended_tokens_refused(history)),
        ("no 500; every 502/503 with Retry-After", lambda: no_500_and_retry_after(history)),
        ("no code or password at rest", lambda: no_secrets_at_rest(history, snap)),
    ]
    verdicts = [Verdict(name, run()) for name, run in checks]
    name = "no payment processing after the reconciler"
    if snap.reconciled:
        verdicts.insert(2, Verdict(name, none_processing_after_reconciler(snap)))
    else:
        verdicts.insert(2, Verdict(name, [], NO_RECONCILER))
    return verdicts
