"""Fakes of the email channel: an EmailSender that records, and EmailLimits with
DynamoEmailLimits' keys and answers (tests/integration/test_email_limits_store.py runs one
contract against both)."""

from __future__ import annotations

import re
import threading

from phoneverify.domain.email_limits import (
    METRIC_EMAIL_ADMITTED,
    METRIC_EMAIL_BUDGET_EXHAUSTED,
    METRIC_EMAIL_REFUSED,
    METRIC_EMAIL_SUPPRESSED,
    EmailCaps,
    email_counters,
    email_refusal,
    suppression_key,
    tried_key,
)
from phoneverify.domain.email_messages import EmailMessage
from phoneverify.domain.errors import EmailBudgetExhausted, EmailDeliveryFailed, EmailUndeliverable
from phoneverify.domain.models import RequestOrigin, SendPermit
from tests.support.fakes import FakeClock


class RecordingEmails:
    """EmailSender into an outbox of (to, message); `fail` makes every send fail."""

    def __init__(self) -> None:
        self.outbox: list[tuple[str, EmailMessage]] = []
        self.fail = False
        self.readied = 0

    def send(self, to: str, message: EmailMessage) -> None:
        if self.fail:
            raise EmailDeliveryFailed()
        self.outbox.append((to, message))

    def ready(self) -> None:
        self.readied += 1

    def last_code(self, to: str) -> str:
        text = next(m.text for address, m in reversed(self.outbox) if address == to)
        found = re.search(r"code is (\d+)", text)
        assert found is not None, "no code in the last email"
        return found.group(1)

    def to(self, address: str) -> list[str]:
        return [m.subject for each, m in self.outbox if each == address]


# Caps no unit test reaches unless it means to.
PERMISSIVE_EMAIL_CAPS = EmailCaps(per_address=1_000, per_ip=1_000, budget=10_000)


class InMemoryEmailLimits:
    """EmailLimits over a dict of counters and marks; `metrics` lists the metrics counted."""

    def __init__(self, clock: FakeClock, caps: EmailCaps = PERMISSIVE_EMAIL_CAPS) -> None:
        self.clock = clock
        self.caps = caps
        self.counts: dict[str, int] = {}
        self.marks: set[str] = set()
        self.metrics: list[str] = []
        self._lock = threading.Lock()

    def admit_email(self, address: str, origin: RequestOrigin) -> SendPermit:
        now = self.clock.now()
        counters = email_counters(self.caps, address, origin, now)
        with self._lock:
            if suppression_key(address) in self.marks:
                self.metrics.append(METRIC_EMAIL_SUPPRESSED)
                raise EmailUndeliverable()
            refused = [layer for layer, key, cap in counters if self.counts.get(key, 0) >= cap]
            if refused:
                self.metrics += [METRIC_EMAIL_REFUSED.format(layer=layer) for layer in refused]
                error = email_refusal(refused, self.caps, now)
                if isinstance(error, EmailBudgetExhausted):
                    self.metrics.append(METRIC_EMAIL_BUDGET_EXHAUSTED)
                raise error
            for _, key, _ in counters:
                self.counts[key] = self.counts.get(key, 0) + 1
        self.metrics.append(METRIC_EMAIL_ADMITTED)
        return SendPermit(tuple(key for _, key, _ in counters))

    def release(self, permit: SendPermit) -> None:
        with self._lock:
            for key in permit.keys:
                if self.counts.get(key, 0) > 0:
                    self.counts[key] -= 1

    def first_try_today(self, address: str) -> bool:
        return self._mark(tried_key(address, self.clock.now()))

    def suppress(self, address: str, reason: str, now: float) -> bool:
        return self._mark(suppression_key(address))

    def _mark(self, key: str) -> bool:
        with self._lock:
            if key in self.marks:
                return False
            self.marks.add(key)
            return True
