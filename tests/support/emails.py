"""Fakes of the email channel's ports (ports/messaging.py), beside fakes.py: an EmailSender
that records, and EmailLimits with DynamoEmailLimits' keys, windows and answers
(domain/email_limits.py; tests/integration/test_email_limits_store.py runs one contract
against both)."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable

from phoneverify.domain.clock import Clock
from phoneverify.domain.email_limits import (
    METRIC_EMAIL_ADMITTED,
    METRIC_EMAIL_BUDGET_EXHAUSTED,
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
    """EmailLimits as DynamoEmailLimits keeps it: counters per window, the day's "someone
    tried" marks and the suppressed addresses (`suppressed`: key -> (reason, at)). `failure`,
    when set, is raised by every call instead (a table that cannot be reached)."""

    def __init__(
        self,
        clock: Clock,
        caps: EmailCaps = PERMISSIVE_EMAIL_CAPS,
        metric: Callable[[str], None] | None = None,
    ) -> None:
        self.clock = clock
        self.caps = caps
        self.counts: dict[str, int] = {}
        self.tried: set[str] = set()
        self.suppressed: dict[str, tuple[str, int]] = {}
        self.metrics: list[str] = []
        self.failure: Exception | None = None
        self._metric = metric or self.metrics.append
        self._lock = threading.Lock()

    def _fail_if_asked(self) -> None:
        if self.failure is not None:
            raise self.failure

    def admit_email(self, address: str, origin: RequestOrigin) -> SendPermit:
        self._fail_if_asked()
        now = self.clock.now()
        counters = email_counters(self.caps, address, origin, now)
        with self._lock:
            if suppression_key(address) in self.suppressed:
                self._metric(METRIC_EMAIL_SUPPRESSED)
                raise EmailUndeliverable()
            refused = [layer for layer, key, cap in counters if self.counts.get(key, 0) >= cap]
            if refused:
                error = email_refusal(refused, self.caps, now)
                if isinstance(error, EmailBudgetExhausted):
                    self._metric(METRIC_EMAIL_BUDGET_EXHAUSTED)
                raise error
            for _, key, _ in counters:
                self.counts[key] = self.counts.get(key, 0) + 1
        self._metric(METRIC_EMAIL_ADMITTED)
        return SendPermit(tuple(key for _, key, _ in counters))

    def release(self, permit: SendPermit) -> None:
        with self._lock:
            for key in permit.keys:
                if self.counts.get(key, 0) > 0:
                    self.counts[key] -= 1

    def first_try_today(self, address: str) -> bool:
        self._fail_if_asked()
        key = tried_key(address, self.clock.now())
        with self._lock:
            if key in self.tried:
                return False
            self.tried.add(key)
            return True

    def suppress(self, address: str, reason: str, now: float) -> bool:
        self._fail_if_asked()
        key = suppression_key(address)
        with self._lock:
            if key in self.suppressed:
                return False
            self.suppressed[key] = (reason, int(now))
            return True
