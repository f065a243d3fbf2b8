"""The fraud guard's operator-facing state in RateLimitsTable, read and changed as the
functions expect it (CONTRACT "Abuse gates"; docs/abuse-controls.md):

- one rules item, `pk = "rules#fraud"`: string sets `allow_prefixes`, `deny_prefixes`,
  `allow_countries`, `deny_countries` (a missing set is empty) and a number `version`;
- holds, `hold#prefix#<prefix>` and `hold#country#<CC>`: `until` (epoch seconds; in force
  while it is ahead), `ttl`, `held_at`, `reason` ("pumping" or "operator").

Every change is one TransactWriteItems of two items: the conditional write itself and its
audit record (subject "operator"), so a change is never unaudited and an audit record never
describes a change that did not happen. The conditions make every command idempotent: a
change that would change nothing is refused by its condition, writes nothing and records
nothing. Sets are changed with ADD and DELETE, never read, modified and written back, so two
operators (or an operator and a function) never undo each other.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from ops.inputs import Scope
from phoneverify.adapters.dynamo.audit import DynamoAuditTrail, audit_values
from phoneverify.adapters.dynamo.toolkit import (
    REASON_CONDITION_FAILED,
    conflicts_after_cancellation,
    dynamodb_errors,
    from_item,
    read_item,
    to_item,
    transact_write_items,
    update_request,
)
from phoneverify.domain import fraud as domain_fraud
from phoneverify.domain.audit_events import VerificationEvent, VerificationEventType
from phoneverify.domain.clock import Clock, SystemClock
from phoneverify.domain.fraud import RULE_LISTS, RULES_KEY
from phoneverify.domain.models import FlowKind, RequestOrigin

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
else:
    DynamoDBClient = Any

HOLD_PREFIX = "hold#"
OPERATOR_SUBJECT = "operator"  # the audit trail's subject of every operator change
OPERATOR_REASON = "operator"  # the reason of a hold an operator placed
ORIGIN = RequestOrigin(source_ip="-", user_agent="ops")
# As the functions' own holds: readable a day after they end (holds list shows them), checked
# by `until`, never by TTL.
HOLD_TTL_MARGIN_SECS = 86_400
AUDIT_RETENTION_SECS = 365 * 86_400  # AUDIT_RETENTION_DAYS' default, as the functions keep it
# The sets of each scope: (allow, deny).
LISTS = {
    Scope.PREFIX: ("allow_prefixes", "deny_prefixes"),
    Scope.COUNTRY: ("allow_countries", "deny_countries"),
}
LIST_NAMES = {Scope.PREFIX: "prefixes", Scope.COUNTRY: "countries"}
# Names the expressions use through placeholders (some are DynamoDB reserved words).
NAMES = {"#version": "version", "#until": "until", "#ttl": "ttl", "#reason": "reason"}


# Every change of the rules item also says when and by whom it was last changed.
STAMP = "SET updated_at = :now, updated_by = :by"


class Change(StrEnum):
    """What an operator does to a value's place in the lists."""

    ALLOW = "allow"  # into the allow list (out of the deny list)
    DENY = "deny"  # into the deny list (out of the allow list)
    UNLIST = "unlist"  # out of both


@dataclass(frozen=True)
class Tables:
    rate_limits: str
    audit: str


@dataclass(frozen=True)
class FraudRules(domain_fraud.FraudRules):
    """The lists as the functions read them (domain/fraud.py), and the item's version."""

    version: int = 0

    def as_json(self) -> dict[str, Any]:
        return {
            "allow_prefixes": sorted(self.allow_prefixes),
            "deny_prefixes": sorted(self.deny_prefixes),
            "allow_countries": sorted(self.allow_countries),
            "deny_countries": sorted(self.deny_countries),
            "version": self.version,
        }

    def place_of(self, scope: Scope, value: str) -> Change:
        """Where `value` is: allowed, denied, or in neither list (UNLIST)."""
        allow, deny = LISTS[scope]
        if value in getattr(self, allow):
            return Change.ALLOW
        if value in getattr(self, deny):
            return Change.DENY
        return Change.UNLIST


@dataclass(frozen=True)
class Hold:
    scope: Scope
    target: str
    until: int
    held_at: int | None = None
    reason: str | None = None

    @property
    def key(self) -> str:
        return hold_key(self.scope, self.target)

    def in_force(self, now: float) -> bool:
        return self.until > now

    def as_json(self, now: float) -> dict[str, Any]:
        return {
            "scope": self.scope.value,
            "target": self.target,
            "until": iso(self.until),
            "in_force": self.in_force(now),
            "held_at": None if self.held_at is None else iso(self.held_at),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class Placed:
    """What `place` did: `placed` False when a hold lasting at least as long was in force
    already (`hold` is then that one, unchanged)."""

    placed: bool
    hold: Hold


def hold_key(scope: Scope, target: str) -> str:
    return domain_fraud.hold_key(scope.value, target)


def iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


def _rules_of(values: dict[str, Any] | None) -> FraudRules:
    lists = domain_fraud.FraudRules.from_item(values)
    version = int((values or {}).get("version") or 0)
    return FraudRules(**{name: getattr(lists, name) for name in RULE_LISTS}, version=version)


def _hold_of(values: dict[str, Any]) -> Hold | None:
    """The hold of an item of RateLimitsTable, None when its key is not a hold's."""
    _, _, rest = str(values.get("pk", "")).partition(HOLD_PREFIX)
    scope, _, target = rest.partition("#")
    if scope not in {s.value for s in Scope} or not target or "until" not in values:
        return None

    def number(name: str) -> int | None:
        value = values.get(name)
        return int(value) if isinstance(value, Decimal | int | float) else None

    reason = values.get("reason")
    return Hold(
        Scope(scope),
        target,
        int(values["until"]),
        number("held_at"),
        str(reason) if reason is not None else None,
    )


class FraudAdmin:
    """The operators' reads and changes of the rules item and the holds, each change audited
    under `by` (the caller's identity: an IAM ARN, or "local")."""

    def __init__(
        self,
        client: DynamoDBClient,
        tables: Tables,
        *,
        by: str,
        clock: Clock | None = None,
        audit_retention_secs: int = AUDIT_RETENTION_SECS,
    ) -> None:
        self._client = client
        self._tables = tables
        self._by = by
        self._clock = clock or SystemClock()
        self._retention = audit_retention_secs

    # -- the lists ------------------------------------------------------------------------
    def rules(self) -> FraudRules:
        return _rules_of(read_item(self._client, self._tables.rate_limits, {"pk": RULES_KEY}))

    def change(self, scope: Scope, change: Change, value: str) -> bool:
        """Allow, deny or unlist `value` (a prefix or a country, already checked): True when
        the lists changed, False when they were so already (nothing written)."""
        allow, deny = LISTS[scope]
        names = {**NAMES, "#allow": allow, "#deny": deny}
        if change is Change.UNLIST:
            update = "DELETE #allow :v, #deny :v ADD #version :one"
            condition = "contains(#allow, :s) OR contains(#deny, :s)"
        else:
            into, out = ("#allow", "#deny") if change is Change.ALLOW else ("#deny", "#allow")
            update = f"ADD {into} :v, #version :one DELETE {out} :v"
            condition = f"NOT contains({into}, :s) OR contains({out}, :s)"
        request = update_request(
            self._tables.rate_limits,
            {"pk": RULES_KEY},
            f"{update} {STAMP}",
            condition,
            {
                ":v": {value},
                ":s": value,
                ":one": 1,
                ":now": int(self._clock.now()),
                ":by": self._by,
            },
            names,
        )
        return self._write(
            {"Update": request},
            VerificationEventType.FRAUD_RULES_CHANGED,
            {"change": change.value, "list": LIST_NAMES[scope], "value": value},
        )

    # -- holds ----------------------------------------------------------------------------
    def holds(self) -> list[Hold]:
        """Every hold item (in force or expired but not yet removed by TTL): a Scan, fine
        for an operator's occasional look, projected to a hold's attributes only."""
        found: list[Hold] = []
        request: dict[str, Any] = {
            "TableName": self._tables.rate_limits,
            "FilterExpression": "begins_with(pk, :hold)",
            "ProjectionExpression": "pk, #until, held_at, #reason",
            "Select": "SPECIFIC_ATTRIBUTES",
            "ExpressionAttributeNames": {"#until": "until", "#reason": "reason"},
            "ExpressionAttributeValues": to_item({":hold": HOLD_PREFIX}),
        }
        while True:
            with dynamodb_errors():
                page = self._client.scan(**request)
            found += [
                hold
                for item in page.get("Items", [])
                if (hold := _hold_of(from_item(item))) is not None
            ]
            if "LastEvaluatedKey" not in page:
                break
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return sorted(found, key=lambda hold: (hold.scope.value, hold.target))

    def release(self, scope: Scope, target: str) -> bool:
        """Delete the hold on `target`: False when there was none (nothing written)."""
        delete = {
            "TableName": self._tables.rate_limits,
            "Key": to_item({"pk": hold_key(scope, target)}),
            "ConditionExpression": "attribute_exists(pk)",
        }
        return self._write(
            {"Delete": delete},
            VerificationEventType.HOLD_RELEASED,
            {"change": "release", "list": "holds", "scope": scope.value, "target": target},
        )

    def place(self, scope: Scope, target: str, hours: int) -> Placed:
        """Hold `target` for `hours` from now, unless a hold lasting at least as long is in
        force already (then it is left as it is, and answered)."""
        now = int(self._clock.now())
        until = now + hours * 3_600
        hold = Hold(scope, target, until, now, OPERATOR_REASON)
        request = update_request(
            self._tables.rate_limits,
            {"pk": hold.key},
            "SET #until = :until, #ttl = :ttl, held_at = :now, #reason = :reason",
            "attribute_not_exists(#until) OR #until < :until",
            {
                ":until": until,
                ":ttl": until + HOLD_TTL_MARGIN_SECS,
                ":now": now,
                ":reason": OPERATOR_REASON,
            },
            NAMES,
        )
        request["ReturnValuesOnConditionCheckFailure"] = "ALL_OLD"
        detail = {
            "change": "place",
            "list": "holds",
            "scope": scope.value,
            "target": target,
            "until": iso(until),
            "reason": OPERATOR_REASON,
        }
        found: list[dict[str, Any] | None] = []
        if self._write({"Update": request}, VerificationEventType.HOLD_PLACED, detail, found):
            return Placed(True, hold)
        existing = _hold_of(found[0] or {})
        return Placed(False, existing or hold)

    # -- the trail ------------------------------------------------------------------------
    def audit(self, limit: int) -> list[dict[str, Any]]:
        """The newest `limit` operator changes, newest first (their audit records)."""
        trail = DynamoAuditTrail(self._client, self._tables.audit, self._retention)
        return trail.events_for(OPERATOR_SUBJECT, limit)

    # -- one change and its audit record --------------------------------------------------
    def _write(
        self,
        change: dict[str, Any],
        event_type: VerificationEventType,
        detail: dict[str, str],
        refused_item: list[dict[str, Any] | None] | None = None,
    ) -> bool:
        """The change and its audit record in one transaction: True when written, False when
        the change's condition refused it (the item it found appended to `refused_item`)."""
        conflicts = 0
        while True:
            event = VerificationEvent(
                type=event_type,
                kind=FlowKind.FRAUD_GUARD,
                subject=OPERATOR_SUBJECT,
                masked_phone="",
                at=self._clock.now(),
                origin=ORIGIN,
                # `value` is what changed; `by` who changed it.
                detail={"value": detail.get("target", ""), **detail, "by": self._by},
            )
            record = {
                "Put": {
                    "TableName": self._tables.audit,
                    "Item": to_item(audit_values(event, self._retention)),
                    "ConditionExpression": "attribute_not_exists(sk)",
                }
            }
            cancelled = transact_write_items(
                self._client, [change, record], token=str(uuid.uuid4())
            )
            if cancelled is None:
                return True
            if cancelled[0].code == REASON_CONDITION_FAILED:
                if refused_item is not None:
                    refused_item.append(cancelled[0].item)
                return False
            conflicts = conflicts_after_cancellation(
                [reason.code for reason in cancelled], conflicts, "operator change"
            )
