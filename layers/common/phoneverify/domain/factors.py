"""The factors an account can prove itself with beyond its password, and which ones an
account has (docs/factors.md).

One registry for every room: the login answer's `factors`, GET /account's, the step-up's and
the password reset's choice all read `enrolled_factors(user)`, so what an account is offered
cannot differ between them. The order is strongest first: a client offers the first one and
lets the person pick another ("send me an SMS instead").
"""

from __future__ import annotations

from enum import StrEnum

from phoneverify.domain.models import User


class FactorKind(StrEnum):
    # A WebAuthn credential: phishing-resistant, bound to the relying party's domain.
    PASSKEY = "passkey"
    # An authenticator app (RFC 6238): a shared secret, no network path an attacker can
    # intercept, but a code can be phished in real time.
    TOTP = "totp"
    # A code to the account's phone: a restricted authenticator (NIST SP 800-63B 5.1.3.3).
    SMS = "sms"
    # One-time recovery codes, given at enrolment of a stronger factor: used in place of a
    # second factor at login when that factor is lost, never for a payment.
    RECOVERY = "recovery"


# Strongest first. Recovery codes are last: they stand in for a lost factor, they are never
# what a client offers first.
STRENGTH_ORDER: tuple[FactorKind, ...] = (
    FactorKind.PASSKEY,
    FactorKind.TOTP,
    FactorKind.SMS,
    FactorKind.RECOVERY,
)

# The factors that an SMS alone never replaces (a swapped SIM must not undo them): an
# account holding one is asked for it, or a recovery code, at a password reset.
STRONGER_THAN_SMS: frozenset[FactorKind] = frozenset({FactorKind.PASSKEY, FactorKind.TOTP})


def enrolled_factors(user: User) -> tuple[FactorKind, ...]:
    """Every factor the account holds, strongest first, read from its user item."""
    held = set()
    if user.passkey_count > 0:
        held.add(FactorKind.PASSKEY)
    if user.phone_number:
        held.add(FactorKind.SMS)
    if user.totp_enrolled_at is not None:
        held.add(FactorKind.TOTP)
    if user.recovery_codes_left > 0:
        held.add(FactorKind.RECOVERY)
    return tuple(kind for kind in STRENGTH_ORDER if kind in held)


def login_factors(user: User) -> tuple[FactorKind, ...]:
    """The factors a login's second step may be answered with, strongest first (a recovery
    code is not among them: it is sent as `recovery_code`, not chosen as a `factor`)."""
    return tuple(kind for kind in enrolled_factors(user) if kind is not FactorKind.RECOVERY)


def has_stronger_factor(user: User) -> bool:
    """Whether the account holds a factor an SMS code must never replace."""
    return any(kind in STRONGER_THAN_SMS for kind in enrolled_factors(user))


def codes_outlive_removal(*, passkeys_left: int, app_left: bool) -> bool:
    """Whether the recovery codes stay when a stronger factor is removed: they stand in for
    "the account has a stronger factor" (not for one of them), so they stay while a passkey
    or the app remains and go with the last one. The DynamoDB adapter writes this rule as its
    removals' conditions (adapters/dynamo/factors.py, passkeys.py); the fakes call it."""
    return passkeys_left > 0 or app_left
