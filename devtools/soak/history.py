"""What the soak's clients saw, one `Exchange` per request, and what the tables held at the end."""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass, field
from typing import Any

VERIFY_PATHS = (
    "/register/verify",
    "/login/verify",
    "/password/reset/verify",
    "/payments/confirm",
    "/account/reauth/verify",
    "/account/phone/verify",
)


def fingerprint(secret: str) -> str:
    """A token's stand-in in the history: never the token itself."""
    return hashlib.sha256(secret.encode()).hexdigest()[:16]


@dataclass
class Exchange:
    journey: str
    method: str
    path: str
    status: int  # 0: no answer (a client timeout or a refused connection)
    body: dict[str, Any]
    retry_after: str | None
    request_id: str
    started: float
    ended: float
    token: str | None = None  # fingerprint of the bearer token sent
    flow: str | None = None  # the flow_id or payment_id acted on
    # What the client knew of the code it sent: "superseded" (a resend answered since it
    # was sent) or "ended" (its flow had already been completed, cancelled or locked).
    code_state: str | None = None
    ends: tuple[str, ...] = ()  # fingerprints of the tokens a success of this request ends

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass
class History:
    exchanges: list[Exchange] = field(default_factory=list)
    killed: set[str] = field(default_factory=set)  # request ids of invocations killed
    codes: set[str] = field(default_factory=set)  # every code the clients received
    passwords: set[str] = field(default_factory=set)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, exchange: Exchange) -> None:
        with self._lock:
            self.exchanges.append(exchange)

    def kill(self, request_id: str) -> None:
        with self._lock:
            self.killed.add(request_id)

    def secret(self, *, code: str | None = None, password: str | None = None) -> None:
        with self._lock:
            if code:
                self.codes.add(code)
            if password:
                self.passwords.add(password)


@dataclass
class Snapshot:
    """The tables (items as plain values), the outbox's notices and the log lines at the end."""

    users: list[dict[str, Any]] = field(default_factory=list)
    payments: list[dict[str, Any]] = field(default_factory=list)
    ledger: list[dict[str, Any]] = field(default_factory=list)
    verifications: list[dict[str, Any]] = field(default_factory=list)
    audit: list[dict[str, Any]] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)  # texts of notices (outbox and sent)
    log_lines: list[str] = field(default_factory=list)
    reconciled: bool = False  # the payment reconciler ran after the journeys
