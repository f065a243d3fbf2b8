"""Proofs of work as a client makes them: a challenge of GET /challenge solved the way the web
page's solver does (web/altcha-solver.js: SHA-256 of salt + the number in decimal, from 0 up to
`maxnumber`, then base64 of the JSON it sends), and the replay store in memory."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from typing import Any

from phoneverify.domain.errors import StorageUnavailable


def solve(challenge: dict[str, Any]) -> str:
    """The `altcha` payload for `challenge` (the JSON of GET /challenge), found as the page
    finds it. The keys in the order the page writes them: JSON.stringify keeps it."""
    salt, target = str(challenge["salt"]), str(challenge["challenge"])
    for number in range(int(challenge["maxnumber"]) + 1):
        if hashlib.sha256(f"{salt}{number}".encode()).hexdigest() == target:
            return payload_of(challenge, number)
    raise AssertionError("no number up to maxnumber solves the challenge")


def payload_of(challenge: dict[str, Any], number: int, /, **changes: Any) -> str:
    """The base64 JSON the page sends for `number` (any field replaced by `changes`)."""
    solution = {
        "algorithm": challenge["algorithm"],
        "challenge": challenge["challenge"],
        "number": number,
        "salt": challenge["salt"],
        "signature": challenge["signature"],
        **changes,
    }
    return base64.b64encode(json.dumps(solution, separators=(",", ":")).encode()).decode()


class InMemorySpentProofs:
    """adapters/dynamo/spent_proofs.py's contract in memory; `fail` makes it an outage."""

    def __init__(self) -> None:
        self.spent: dict[str, int] = {}
        self.fail = False
        self._lock = threading.Lock()

    def spend(self, digest: str, expires_at: int) -> bool:
        with self._lock:
            if self.fail:
                raise StorageUnavailable()
            if digest in self.spent:
                return False
            self.spent[digest] = expires_at
            return True
