"""Lambda SnapStart (docs/performance.md#snapstart): what a function builds before its snapshot
is taken, and what it forgets when an execution environment resumes from one.

A function a person waits on registers in one line after building its runtime:

    snapstart.register(runtime, "login_flow")

naming the `runtime.<builder>`s its requests use (tests/unit/test_snapstart.py holds the list
to its app.py). Unless Lambda is initialising the environment for a snapshot
(AWS_LAMBDA_INITIALIZATION_TYPE=snap-start: the template's SnapStart parameter is
PublishedVersions and a version is being published), `register` reads one environment
variable and returns: an on-demand cold start imports nothing more and registers nothing.

Before the snapshot (`before_snapshot`) the function builds what its first request would:
the DynamoDB client, its flows with their adapters (importing httpx, bcrypt, pydantic models
and Powertools' pieces on the way) and, where it checks passwords, the bcrypt hash an unknown
account is checked against (PasswordHasher.warm). It reads no secret and calls nothing: no
DynamoDB, SSM or Telnyx call (tests/integration/test_snapstart.py counts them), so nothing
read from the network is frozen into a snapshot that many environments resume from.

After a restore (`after_restore`) each environment makes its own what must not be shared:

- `random`'s state: the Mersenne Twister's seed is in the snapshot, so every environment
  resumed from it would draw the same sequence (botocore's retry jitter draws from it: all
  would retry in step). Seeded again from os.urandom.
- Powertools Parameters' cache (the SSM secrets: JWT key, pepper, Telnyx key...): empty at
  the snapshot, since nothing is read before it; cleared anyway, so a secret cached by any
  future init code is read again (and a rotated one picked up) by each environment.

What is deliberately not reset (docs/performance.md#what-the-hooks-do says why): `secrets`
and os.urandom (no state in the process: each call asks the kernel), the boto3 clients and
their credentials (under SnapStart Lambda hands the SDK container credentials, which botocore
refreshes before they expire), the httpx client (no connection is opened before the
snapshot), the bcrypt hash of unknown accounts (a hash of random bytes no one knows: its
only job is timing), and the per-environment caches that start empty and fill from requests
(the fraud rules, the budget shards known full, the decoy's provider timings).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from typing import Any

SNAP_START = "snap-start"  # AWS_LAMBDA_INITIALIZATION_TYPE of an init for a snapshot


def register(runtime: Any, *builders: str) -> bool:
    """Register this function's hooks when Lambda initialises it for a snapshot; True if it
    did. Elsewhere (an on-demand or provisioned init, the local stack, tests) nothing."""
    if os.environ.get("AWS_LAMBDA_INITIALIZATION_TYPE") != SNAP_START:
        return False
    try:  # in every managed Python runtime from 3.12 on; PyPI's snapshot-restore-py locally
        from snapshot_restore_py import register_after_restore, register_before_snapshot
    except ImportError:  # pragma: no cover - a runtime that snapshots has it
        return False
    register_before_snapshot(before_snapshot, runtime, builders)
    register_after_restore(after_restore)
    return True


def before_snapshot(runtime: Any, builders: Iterable[str]) -> None:
    """Build what the function's first request builds, calling no one."""
    runtime.dynamodb  # noqa: B018 - built on first use
    for name in builders:
        getattr(runtime, name)
    passwords = vars(runtime).get("passwords")  # built by a builder that checks passwords
    if passwords is not None:
        passwords.warm()


def after_restore() -> None:
    """Make this environment's own what the snapshot shares with every other."""
    import random

    from aws_lambda_powertools.utilities import parameters

    random.seed()  # from os.urandom
    parameters.clear_caches()  # type: ignore[no-untyped-call]
