"""In-memory adapters for flow tests. The store honours the same conditions as the DynamoDB
store; tests/integration/test_verification_store.py runs one contract against both."""

from __future__ import annotations

import itertools
import secrets
import threading
from dataclasses import replace

from phoneverify.adapters.dynamodb import ConditionFailed
from phoneverify.errors import CodeCheckFailed, CodeDeliveryFailed
from phoneverify.models import FlowStatus, PendingVerification, User, VerificationEvent


class FakeClock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self._now = now

    def now(self) -> float:
        return self._now

    def advance(self, seconds: float) -> None:
        self._now += seconds


class FakeCodeSender:
    """Sends codes to an outbox; `fail_sends`/`fail_checks` make the next calls fail."""

    def __init__(self, code_length: int = 6) -> None:
        self.code_length = code_length
        self.codes: dict[str, str] = {}
        self.outbox: list[tuple[str, str, str]] = []  # (phone, verification id, code)
        self.checks: list[tuple[str, str]] = []
        self.fail_sends = 0
        self.fail_checks = 0
        self._ids = itertools.count(1)

    def send(self, phone_number: str) -> str:
        if self.fail_sends:
            self.fail_sends -= 1
            raise CodeDeliveryFailed()
        verification_id = f"v-{next(self._ids)}"
        code = "".join(secrets.choice("0123456789") for _ in range(self.code_length))
        while code in self.codes.values():  # distinct codes keep cross-flow tests meaningful
            code = "".join(secrets.choice("0123456789") for _ in range(self.code_length))
        self.codes[verification_id] = code
        self.outbox.append((phone_number, verification_id, code))
        return verification_id

    def check(self, verification_id: str, code: str) -> bool:
        self.checks.append((verification_id, code))
        if self.fail_checks:
            self.fail_checks -= 1
            raise CodeCheckFailed()
        return self.codes.get(verification_id) == code

    def last_code(self, phone_number: str) -> str:
        return next(code for phone, _, code in reversed(self.outbox) if phone == phone_number)

    def wrong_code(self, phone_number: str) -> str:
        right = self.last_code(phone_number)
        return str((int(right) + 1) % 10**self.code_length).zfill(self.code_length)


class InMemoryUsers:
    def __init__(self, *users: User) -> None:
        self.by_email = {u.email: u for u in users}

    def find_by_email(self, email: str) -> User | None:
        return self.by_email.get(email)


class InMemoryVerificationStore:
    def __init__(self) -> None:
        self.items: dict[str, PendingVerification] = {}
        self.ttls: dict[str, int] = {}
        self.send_tokens: dict[str, str] = {}
        self._lock = threading.Lock()

    def create(self, record: PendingVerification, ttl: int) -> None:
        with self._lock:
            if record.flow_key in self.items:
                raise ConditionFailed()
            self.items[record.flow_key] = record
            self.ttls[record.flow_key] = ttl

    def get(self, flow_key: str) -> PendingVerification | None:
        return self.items.get(flow_key)

    def _pending(self, flow_key: str) -> PendingVerification | None:
        r = self.items.get(flow_key)
        return r if r is not None and r.status == FlowStatus.PENDING else None

    def reserve_attempt(self, flow_key: str, verification_id: str, now: float) -> int | None:
        with self._lock:
            r = self._pending(flow_key)
            if (
                r is None
                or r.verification_id != verification_id
                or r.attempts >= r.max_attempts
                or r.expires_at <= now
            ):
                return None
            self.items[flow_key] = replace(r, attempts=r.attempts + 1)
            return r.attempts + 1

    def refund_attempt(self, flow_key: str, verification_id: str) -> bool:
        with self._lock:
            r = self._pending(flow_key)
            if r is None or r.verification_id != verification_id or r.attempts <= 0:
                return False
            self.items[flow_key] = replace(r, attempts=r.attempts - 1)
            return True

    def mark_verified(self, flow_key: str, verification_id: str, now: float) -> bool:
        with self._lock:
            r = self._pending(flow_key)
            if r is None or r.verification_id != verification_id:
                return False
            self.items[flow_key] = replace(r, status=FlowStatus.VERIFIED)
            return True

    def lock(self, flow_key: str, now: float) -> bool:
        with self._lock:
            r = self._pending(flow_key)
            if r is None:
                return False
            self.items[flow_key] = replace(r, status=FlowStatus.LOCKED)
            return True

    def reserve_send(
        self, flow_key: str, token: str, now: float, cooldown_secs: int, max_sends: int
    ) -> bool:
        with self._lock:
            r = self._pending(flow_key)
            if (
                r is None
                or r.last_sent_at > now - cooldown_secs
                or r.send_count >= max_sends
                or r.attempts >= r.max_attempts
            ):
                return False
            self.items[flow_key] = replace(r, last_sent_at=now, send_count=r.send_count + 1)
            self.send_tokens[flow_key] = token
            return True

    def release_send(self, flow_key: str, token: str, previous_sent_at: float) -> bool:
        with self._lock:
            r = self.items.get(flow_key)
            if r is None or self.send_tokens.get(flow_key) != token:
                return False
            del self.send_tokens[flow_key]
            self.items[flow_key] = replace(
                r, last_sent_at=previous_sent_at, send_count=r.send_count - 1
            )
            return True

    def complete_send(
        self, flow_key: str, token: str, verification_id: str, expires_at: float, ttl: int
    ) -> bool:
        with self._lock:
            r = self._pending(flow_key)
            if r is None or self.send_tokens.get(flow_key) != token:
                return False
            del self.send_tokens[flow_key]
            self.items[flow_key] = replace(
                r, verification_id=verification_id, expires_at=expires_at
            )
            self.ttls[flow_key] = ttl
            return True


class RecordingEvents:
    def __init__(self) -> None:
        self.events: list[VerificationEvent] = []

    def record(self, event: VerificationEvent) -> None:
        self.events.append(event)

    @property
    def types(self) -> list[str]:
        return [e.type.value for e in self.events]
