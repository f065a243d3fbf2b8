"""An account's deletion after its one transaction (docs/privacy.md#deleting-an-account): the
marker that transaction leaves, and what pseudonymising an audit record keeps. The DynamoDB
adapters (adapters/dynamo/account_deletion.py, deletion_cleanup.py) build their items and
updates from these rules; the flow (flows/account_deletion.py) follows the marker's life.

The marker (`DELETED#<user_id>` in UsersTable) is written by the deletion's transaction and
deleted when the cleanup after it is done: the pending payments cancelled, the count of
payments without a code forgotten, every audit record of the person pseudonymised. A crash in
between leaves the marker, and `finish_deletions` finishes what it names. It holds no email
and no number: the account's id (a random UUID that names nobody once the account is gone)
and the audit subjects to pseudonymise, each a keyed digest as the audit trail stores it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from phoneverify.domain.models import RequestOrigin

MARKER_PREFIX = "DELETED#"
# How long a marker waits to be finished before DynamoDB's TTL removes it (a backstop: the
# scheduled finish runs every few minutes).
MARKER_KEEP_SECS = 14 * 86_400
# A marker younger than this is its own request's to finish: the scheduled run leaves it.
MARKER_GRACE_SECS = 120
# Who the cleanup's own audit records (a payment's code ended) come from, when no request does.
DELETION_ORIGIN = RequestOrigin(source_ip="-", user_agent="account-deletion")

# What an audit record keeps after its person's deletion: what happened and when, under the
# pseudonymous subject (a user id or a keyed digest). Dropped: the masked number, the source
# address, the user agent, and every detail but these (a masked number's `old_phone`, ...).
PERSONAL_FIELDS = ("masked_phone", "source_ip", "user_agent")
KEPT_DETAIL = frozenset({"reason", "notice", "action", "channel", "kind", "status"})


@dataclass(frozen=True)
class DeletionMarker:
    user_id: str
    subjects: tuple[str, ...]  # the audit subjects to pseudonymise (keyed, never plain)
    deleted_at: float


def marker_key(user_id: str) -> str:
    return f"{MARKER_PREFIX}{user_id}"


def marker_ttl(marker: DeletionMarker) -> int:
    return int(marker.deleted_at + MARKER_KEEP_SECS)


def left_behind(marker: DeletionMarker, now: float) -> bool:
    """A marker the scheduled run finishes: older than its request could still be."""
    return now - marker.deleted_at >= MARKER_GRACE_SECS


def pseudonymised_detail(detail: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The detail an audit record keeps after the deletion (None: none)."""
    kept = {key: value for key, value in (detail or {}).items() if key in KEPT_DETAIL}
    return kept or None


def still_personal(record: Mapping[str, Any]) -> bool:
    """An audit record that still holds more than its pseudonymised form."""
    detail = record.get("detail") or None
    return any(field in record for field in PERSONAL_FIELDS) or (
        detail is not None and pseudonymised_detail(detail) != detail
    )
