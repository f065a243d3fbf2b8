"""The notices outbox on DynamoDB (NoticesOutboxTable; docs/notices.md), and the AccountNotices
that writes to it.

One item per notice, `pk` its id (domain/notices.py `notice_id`: the request, the event and
the number, hashed), written by one conditional PutItem in the request that caused it. The
table's stream (new images, inserts only) starts its delivery (functions/notices_deliver); the
sparse index `pending-by-age` (`waiting`, `created_at`), which holds only pending notices,
is what the sweep reads, oldest first. The number (`phone`, E.164) is the message's
destination: it is kept only while the notice is pending and removed by the write that
delivers it or gives it up; the item then expires (`ttl`) a day later.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger

from phoneverify.adapters.dynamo.toolkit import Table, put_new, query_first, to_item
from phoneverify.domain.audit_events import VerificationEvent, VerificationEventType
from phoneverify.domain.clock import Clock
from phoneverify.domain.errors import StorageUnavailable
from phoneverify.domain.models import FlowKind, NoticeEvent
from phoneverify.domain.notices import (
    NoticeStatus,
    OutboxNotice,
    OutboxPolicy,
    notice_id,
    notice_subject,
    pending_ttl,
    settled_ttl,
)
from phoneverify.domain.phones import mask_phone
from phoneverify.domain.send_limits import NOTICE_ORIGIN
from phoneverify.ports.conditions import ConditionFailed
from phoneverify.ports.messaging import NoticeOutbox
from phoneverify.ports.verifications import VerificationEvents

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
else:
    DynamoDBClient = Any

logger = Logger(child=True)

PENDING_INDEX = "pending-by-age"
WAITING = "notice"  # the one partition of the sparse index: notices are few
NAMES = {
    "#status": "status",
    "#phone": "phone",
    "#waiting": "waiting",
    "#lease": "lease_until",
    "#attempts": "attempts",
    "#ttl": "ttl",
    "#created": "created_at",
}


class DynamoNoticesOutbox:
    """NoticeOutbox on NoticesOutboxTable, by the rules of domain/notices.py."""

    def __init__(
        self, client: DynamoDBClient, table: str, policy: OutboxPolicy | None = None
    ) -> None:
        self._client = client
        self._name = table
        self._table = Table(client, table, NAMES)
        self._policy = policy or OutboxPolicy()

    def put(self, notice: OutboxNotice) -> None:
        try:
            put_new(self._client, self._name, self._item(notice), "pk")
        except ConditionFailed:  # written already by this very request: one notice
            return

    def put_request(self, notice: OutboxNotice) -> dict[str, Any]:
        """The same conditional put as a TransactWriteItems item, for a change that must not
        happen without its notice (the account's deletion: account_deletion.py)."""
        return {
            "Put": {
                "TableName": self._name,
                "Item": to_item(self._item(notice)),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    def _item(self, notice: OutboxNotice) -> dict[str, Any]:
        return {
            "pk": notice.notice_id,
            "status": NoticeStatus.PENDING.value,
            "phone": notice.phone,
            "event": notice.event.value,
            "created_at": Decimal(str(notice.created_at)),
            "attempts": 0,
            "lease_until": 0,
            "waiting": WAITING,
            "ttl": pending_ttl(notice.created_at, self._policy),
        }

    def claim(self, notice_id: str, now: float) -> OutboxNotice | None:
        found = self._table.update_if_exists(
            {"pk": notice_id},
            "SET #lease = :until ADD #attempts :one",
            "#status = :pending AND #lease <= :now",
            {
                ":until": Decimal(str(now + self._policy.lease_secs)),
                ":one": 1,
                ":pending": NoticeStatus.PENDING.value,
                ":now": Decimal(str(now)),
            },
            returns="ALL_NEW",
        )
        if found is None:
            return None
        return OutboxNotice(
            notice_id=notice_id,
            phone=str(found["phone"]),
            event=NoticeEvent(found["event"]),
            created_at=float(found["created_at"]),
            attempts=int(found["attempts"]),
        )

    def delivered(self, notice_id: str, now: float, message_id: str) -> None:
        self._settle(notice_id, now, NoticeStatus.DELIVERED, message_id=message_id)

    def give_up(self, notice_id: str, now: float, reason: str) -> None:
        self._settle(notice_id, now, NoticeStatus.GIVEN_UP, settle_reason=reason)

    def retry(self, notice_id: str, reason: str) -> None:
        self._table.update_if_exists(
            {"pk": notice_id},
            "SET #lease = :free, last_reason = :reason",
            "#status = :pending",
            {":free": 0, ":reason": reason, ":pending": NoticeStatus.PENDING.value},
        )

    def undelivered(self, limit: int) -> list[tuple[str, float]]:
        items = query_first(
            self._client,
            self._name,
            PENDING_INDEX,
            "#waiting = :waiting",
            {":waiting": WAITING},
            limit,
            {"#waiting": "waiting"},
        )
        return [(str(item["pk"]), float(item["created_at"])) for item in items]

    def _settle(self, notice_id: str, now: float, status: NoticeStatus, **detail: str) -> None:
        """Delivered or given up: the number and the index entry removed, the item expiring."""
        sets = ", ".join(f"{name} = :{name}" for name in detail)
        self._table.update_if_exists(
            {"pk": notice_id},
            f"SET #status = :status, settled_at = :now, #ttl = :ttl, {sets} "
            "REMOVE #phone, #waiting",
            "#status = :pending",
            {
                ":status": status.value,
                ":now": Decimal(str(now)),
                ":ttl": settled_ttl(now, self._policy),
                ":pending": NoticeStatus.PENDING.value,
                **{f":{name}": value for name, value in detail.items()},
            },
        )


class OutboxAccountNotices:
    """AccountNotices: the notice written to the outbox, in the request (one PutItem); its
    delivery is functions/notices_deliver's. `occasion()` names the request (API Gateway's
    request id), so a retry of the same request writes the same notice once. Never raises:
    a notice the outbox cannot take is logged and audited `notice_failed`
    (`storage_unavailable`), and the change it is about stands."""

    def __init__(
        self,
        outbox: NoticeOutbox,
        *,
        events: VerificationEvents,
        clock: Clock,
        occasion: Callable[[], str],
    ) -> None:
        self._outbox = outbox
        self._events = events
        self._clock = clock
        self._occasion = occasion

    def notify(self, phone: str, event: NoticeEvent) -> None:
        now = self._clock.now()
        notice = OutboxNotice(notice_id(self._occasion(), phone, event), phone, event, now)
        try:
            self._outbox.put(notice)
        except Exception as exc:  # the port's promise: a notice never fails what it is about
            reason = "storage_unavailable" if isinstance(exc, StorageUnavailable) else "error"
            logger.exception(
                "notice not kept",
                extra={"notice": event.value, "phone": mask_phone(phone), "reason": reason},
            )
            self._failed(notice, reason)

    def _failed(self, notice: OutboxNotice, reason: str) -> None:
        try:
            self._events.record(
                VerificationEvent(
                    type=VerificationEventType.NOTICE_FAILED,
                    kind=FlowKind.NOTICE,
                    subject=notice_subject(notice.phone),
                    masked_phone=mask_phone(notice.phone),
                    at=self._clock.now(),
                    origin=NOTICE_ORIGIN,
                    detail={"notice": notice.event.value, "reason": reason},
                )
            )
        except Exception:
            logger.exception("notice not audited", extra={"notice": notice.event.value})
