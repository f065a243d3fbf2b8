"""The provider's side of a challenge: a code sent, a code checked, and how a decoy passes for
both in time (it waits as long as one of the provider's recent calls took, and sends nothing);
a proven flow's retry is checked here, against a keyed digest of its right code."""

from __future__ import annotations

import hmac
import secrets
import time
from collections.abc import Callable

from phoneverify.domain.keyed import keyed_digest
from phoneverify.domain.models import Channel, PendingVerification
from phoneverify.flows.engine.challenge_records import DECOY, PROVEN, ProviderTimings, is_decoy
from phoneverify.ports.messaging import CodeSender


class ProviderCalls:
    def __init__(
        self,
        sender: CodeSender,
        *,
        pause: Callable[[float], None] = time.sleep,
        timer: Callable[[], float] = time.perf_counter,
        pepper: Callable[[], bytes] | None = None,
    ) -> None:
        """`pause` and `timer`: how a decoy waits and how provider calls are timed (tests
        count them); `pepper`: the key of a proven code's digest (without one, an empty key:
        tests only)."""
        self._sender = sender
        self._pause = pause
        self._timer = timer
        self._pepper = pepper
        self.send_timings = ProviderTimings()
        self.check_timings = ProviderTimings()

    def send(self, phone_number: str, channel: Channel, *, decoy: bool) -> str:
        """The provider's verification id of a fresh code; a decoy takes about as long as the
        provider's recent sends did, and sends nothing."""
        if decoy:
            self._sender.ready(sending=True)
            self.send_timings.pause_like(self._pause)
            return f"{DECOY}_{secrets.token_hex(16)}"
        return self.send_timings.timed(
            lambda: self._sender.send(phone_number, channel), self._timer
        )

    def is_right(self, record: PendingVerification, code: str) -> bool:
        """The provider's answer; a decoy's is no, after a pause as long as one of the
        provider's recent checks took; a proven flow's is checked here."""
        if is_decoy(record):
            self._sender.ready(sending=False)
            self.check_timings.pause_like(self._pause)
            return False
        if record.verification_id.startswith(PROVEN):
            return hmac.compare_digest(record.verification_id, self.proven_id(record, code))
        return self.check_timings.timed(
            lambda: self._sender.check(record.verification_id, code), self._timer
        )

    def proven_id(self, record: PendingVerification, code: str) -> str:
        """A keyed digest of the right code of this flow: the table never holds the code."""
        pepper = self._pepper() if self._pepper is not None else b""
        return PROVEN + keyed_digest(pepper, f"proven:{record.flow_key}:{code}")
