"""The authenticator app's rules (RFC 6238, docs/factors.md#authenticator-app): the secret, its
`otpauth://` URI, which time step a code belongs to, and the replay rule.

A code is accepted for the current step or one either side (a phone's clock drifts, a person
types slowly), and only for a step after the last one the account used: a code seen once (over
a shoulder, by a phishing page relaying it) is refused for the rest of its window. The replay
rule is `step_is_fresh`, one copy: the DynamoDB adapter's condition and the fake's check are
built from it.
"""

from __future__ import annotations

import hmac

import pyotp

# RFC 6238's defaults, the only ones every authenticator app honours.
DIGITS = 6
STEP_SECS = 30
# Steps either side of now a code may belong to (RFC 6238 section 5.2: at most one).
DRIFT_STEPS = 1
ISSUER = "phone-verify"
# 160 bits (RFC 4226 section 4 recommends it), base32 without padding: 32 characters.
SECRET_CHARS = 32


def new_secret() -> str:
    """A fresh random secret, base32 as authenticator apps take it."""
    return pyotp.random_base32(length=SECRET_CHARS)


def provisioning_uri(secret: str, account_name: str, issuer: str = ISSUER) -> str:
    """The `otpauth://totp/...` URI an app scans (shown once, at enrolment)."""
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECS).provisioning_uri(
        name=account_name, issuer_name=issuer
    )


def step_at(now: float) -> int:
    return int(now) // STEP_SECS


def code_at_step(secret: str, step: int) -> str:
    return pyotp.TOTP(secret, digits=DIGITS, interval=STEP_SECS).generate_otp(step)


def matching_step(secret: str, code: str, now: float) -> int | None:
    """The time step `code` is right for, within the drift allowed around `now`; None when it
    is right for none. Compared in constant time; the latest matching step wins."""
    if len(code) != DIGITS or not code.isdigit():
        return None
    current = step_at(now)
    found = None
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(code_at_step(secret, step), code):
            found = step
    return found


def step_is_fresh(last_used_step: int | None, step: int) -> bool:
    """Whether a code of `step` may be accepted after the account's last used step: only a
    later step (the replay rule; DynamoDB: `attribute_not_exists(last) OR last < :step`)."""
    return last_used_step is None or last_used_step < step
