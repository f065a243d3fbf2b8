"""What a challenge's record carries beyond its columns (data keys the flows set), what they
say about it (a decoy, the account phone it is bound to, the number it counts under), and
how a decoy passes for a real challenge in time (ProviderTimings). flows/engine/challenges.py is
the mechanics that use them."""

from __future__ import annotations

import secrets
from collections import deque
from collections.abc import Callable
from typing import TypeVar

from phoneverify.domain.models import PendingVerification, PhoneBinding

T = TypeVar("T")

DECOY = "decoy"  # data key of a flow that never sends and never verifies
# Data key of a flow sent to the account's phone: the account's phone generation then. Its
# code is accepted only while the account's phone is still that one (docs/phone-lifecycle.md).
PHONE_GENERATION = "phone_gen"
# Data key of a login's flow: the account's token generation when its code was sent. Its code
# is accepted only while no logout of every session (or password reset) has happened since.
TOKEN_GENERATION = "token_gen"  # noqa: S105 - a data key, not a secret
# Data key of a flow whose codes count in the send limits under another number than the one
# they go to (a real password reset: its decoy's stand-in number, keyed by the email).
COUNTED_AS = "counted_as"
# A decoy waits as long as one of the provider's recent sends (or checks) took, drawn at
# random from the last this many this worker made. Before any, it does not wait: see
# `ProviderTimings` and docs/abuse-controls.md#the-decoy-password-reset.
PROVIDER_SAMPLES = 20
# The verification id of a flow whose right code was entered but whose request was refused
# after it (a reset's new password): a keyed digest of that code follows, so the retry is
# checked here, without the provider (who accepts a code once).
PROVEN = "proven_"


def is_decoy(record: PendingVerification) -> bool:
    return record.data.get(DECOY) == "1"


def counted_as(record: PendingVerification) -> str:
    """The number the flow's codes count under in the send limits (Challenges.open)."""
    return record.data.get(COUNTED_AS) or record.phone_number


def phone_binding(record: PendingVerification) -> PhoneBinding | None:
    """The account phone the flow's code was sent under, if it was sent to one."""
    generation = record.data.get(PHONE_GENERATION)
    if generation is None or is_decoy(record):
        return None
    tokens = record.data.get(TOKEN_GENERATION)
    return PhoneBinding(record.subject, int(generation), None if tokens is None else int(tokens))


class ProviderTimings:
    """How long this worker's recent provider calls took, one kind of call (sends or checks):
    what a decoy pauses for instead, drawn at random so the decoy's times follow the real
    ones' distribution, not just their median.

    It starts empty: a worker that has made no such call yet has no honest figure, and any
    guess made in code (the 250 ms of before) is wrong everywhere but where it was measured,
    making the first decoy the slow one. So a decoy on a worker without samples does not
    pause; the worker's first real calls are slow themselves, and a worker is not chosen by
    the caller (docs/abuse-controls.md#the-decoy-password-reset). The worker's very first
    call is not kept either: it opens the connection to the provider (75 ms against 1.5 ms
    on the local stack), which no later call pays, so no decoy may pay it later."""

    def __init__(self, size: int = PROVIDER_SAMPLES) -> None:
        self._samples: deque[float] = deque(maxlen=size)
        self._connected = False

    def add(self, seconds: float) -> None:
        if not self._connected:
            self._connected = True  # the first call: the connection's setup, not a call's
            return
        self._samples.append(seconds)

    def draw(self) -> float | None:
        """One recent duration at random, or None before any."""
        samples = tuple(self._samples)
        return secrets.choice(samples) if samples else None

    def timed(self, call: Callable[[], T], timer: Callable[[], float]) -> T:
        """`call()`'s answer, its duration kept as a sample."""
        started = timer()
        answer = call()
        self.add(timer() - started)
        return answer

    def pause_like(self, pause: Callable[[float], None]) -> None:
        """Wait as long as one of the recent calls took (not at all before any)."""
        seconds = self.draw()
        if seconds is not None:
            pause(seconds)


__all__ = [
    "COUNTED_AS",
    "DECOY",
    "PHONE_GENERATION",
    "PROVEN",
    "TOKEN_GENERATION",
    "ProviderTimings",
    "counted_as",
    "is_decoy",
    "phone_binding",
]
