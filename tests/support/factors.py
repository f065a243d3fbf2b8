"""In-memory stand-ins for the stronger factors (docs/factors.md), deciding by the same
domain rules as the DynamoDB adapter, and a world that drives them over the login's users,
store and outbox."""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, replace

from phoneverify.adapters.webauthn_ceremony import LibraryWebAuthn
from phoneverify.domain.factor_errors import DecryptionFailed
from phoneverify.domain.factors import codes_outlive_removal
from phoneverify.domain.models import FlowKind
from phoneverify.domain.totp import step_is_fresh
from phoneverify.flows.engine.email_notices import EmailNotices
from phoneverify.flows.engine.passkey_assertion import PasskeyAssertions
from phoneverify.flows.factor_checks import FactorChecks
from phoneverify.flows.login import LoginFlow
from phoneverify.flows.passkey_step import PasskeyStep
from phoneverify.flows.passkeys import PasskeyRegistry
from phoneverify.flows.password_reset import PasswordResetFlow
from phoneverify.flows.reauth import ReauthFlow
from phoneverify.flows.totp import TotpFactor
from phoneverify.ports.factors import TotpSecret
from tests.support.builders import (
    ORIGIN,
    PEPPER,
    PhoneChangeWorld,
    phone_change_world,
    policy,
    reauth_policy,
    reset_policy,
)
from tests.support.emails import RecordingEmails
from tests.support.fakes import InMemoryUsers
from tests.support.passkeys import ORIGIN as PAGE
from tests.support.passkeys import (
    RP_ID,
    InMemoryPasskeyChallenges,
    InMemoryPasskeys,
    SoftAuthenticator,
)


class FakeEncryption:
    """Not encryption: a sealed envelope that opens only with the context it was sealed
    under (as KMS's encryption context), and counts its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def encrypt(self, plaintext: bytes, context: Mapping[str, str]) -> bytes:
        self.calls += 1
        envelope = {"ctx": dict(context), "p": base64.b64encode(plaintext[::-1]).decode()}
        return json.dumps(envelope, sort_keys=True).encode()

    def decrypt(self, ciphertext: bytes, context: Mapping[str, str]) -> bytes:
        self.calls += 1
        try:
            envelope = json.loads(ciphertext)
        except ValueError:
            raise DecryptionFailed() from None
        if envelope["ctx"] != dict(context):
            raise DecryptionFailed()
        return base64.b64decode(envelope["p"])[::-1]


@dataclass
class _Held:
    ciphertext: bytes | None = None
    last_step: int | None = None
    recovery: frozenset[str] = frozenset()


class InMemoryAccountFactors:
    """AccountFactors over InMemoryUsers: the User's `totp_enrolled_at` and
    `recovery_codes_left` follow every change, as the DynamoDB item's attributes do."""

    def __init__(self, users: InMemoryUsers) -> None:
        self._users = users
        self._held: dict[str, _Held] = {}
        self._lock = threading.Lock()

    def totp_secret(self, user_id: str) -> TotpSecret | None:
        held = self._held.get(user_id)
        if held is None or held.ciphertext is None:
            return None
        return TotpSecret(held.ciphertext, held.last_step)

    def enable_totp(
        self, user_id: str, ciphertext: bytes, now: float, step: int, recovery: list[str]
    ) -> bool:
        with self._lock:
            user = self._users.get(user_id)
            if user is None or user.totp_enrolled_at is not None:
                return False
            self._held[user_id] = _Held(ciphertext, step, frozenset(recovery))
            self._sync(user_id, enrolled_at=now)
            return True

    def use_totp_step(self, user_id: str, step: int) -> bool:
        with self._lock:
            held = self._held.get(user_id)
            if held is None or held.ciphertext is None:
                return False
            if not step_is_fresh(held.last_step, step):
                return False
            held.last_step = step
            return True

    def remove_totp(self, user_id: str, *, passkeys_expected: bool = False) -> bool:
        with self._lock:
            held = self._held.get(user_id)
            user = self._users.get(user_id)
            if held is None or held.ciphertext is None or user is None:
                return False
            keeps = codes_outlive_removal(passkeys_left=user.passkey_count, app_left=False)
            self._held[user_id] = _Held(recovery=held.recovery if keeps else frozenset())
            self._sync(user_id, enrolled_at=None)
            return True

    def drop_codes(self, user_id: str) -> None:
        """The recovery codes gone with the account's last passkey (InMemoryPasskeys)."""
        with self._lock:
            held = self._held.get(user_id)
            if held is not None and self._users.get(user_id) is not None:
                held.recovery = frozenset()
                user = self._users.get(user_id)
                assert user is not None
                self._sync(user_id, enrolled_at=user.totp_enrolled_at)

    def give_recovery_codes(self, user_id: str, digests: list[str]) -> bool:
        with self._lock:
            user = self._users.get(user_id)
            held = self._held.setdefault(user_id, _Held())
            if user is None or held.recovery:
                return False
            held.recovery = frozenset(digests)
            self._sync(user_id, enrolled_at=user.totp_enrolled_at)
            return True

    def spend_recovery_code(self, user_id: str, digest: str) -> bool:
        with self._lock:
            held = self._held.get(user_id)
            if held is None or digest not in held.recovery:
                return False
            held.recovery = held.recovery - {digest}
            user = self._users.get(user_id)
            assert user is not None
            self._sync(user_id, enrolled_at=user.totp_enrolled_at)
            return True

    def _sync(self, user_id: str, *, enrolled_at: float | None) -> None:
        user = self._users.get(user_id)
        assert user is not None
        left = len(self._held[user_id].recovery)
        self._users.replace(replace(user, totp_enrolled_at=enrolled_at, recovery_codes_left=left))


@dataclass
class FactorWorld:
    """u-phone (PHONE) and u-plain (none) with the login, the step-up and the app."""

    w: PhoneChangeWorld
    encryption: FakeEncryption
    factors: InMemoryAccountFactors
    totp: TotpFactor
    login: LoginFlow
    reset: PasswordResetFlow  # asks an account with an app for it (or a recovery code)
    passkeys: InMemoryPasskeys
    registry: PasskeyRegistry
    reauth: ReauthFlow  # the step-up that checks an app's code and a passkey too
    assertions: PasskeyAssertions

    def add_passkey(self, user_id: str = "u-phone") -> SoftAuthenticator:
        """A passkey added to `user_id` (behind its step-up): the authenticator holding it."""
        authenticator = SoftAuthenticator()
        options = self.registry.creation_options(self.w.caller(user_id), ORIGIN)
        self.registry.register(self.w.caller(user_id), authenticator.create(options), ORIGIN)
        return authenticator


def factor_world(emails: RecordingEmails | None = None) -> FactorWorld:
    """`emails`: where a phoneless account is told of a factor's removal (its proven email);
    None: no email is sent, as in a function without EmailSettings."""
    w = phone_change_world()
    email_notices = None if emails is None else EmailNotices(emails, "phone-verify")
    world = w.world
    encryption = FakeEncryption()
    factors = InMemoryAccountFactors(world.users)
    checks = FactorChecks(
        factors=factors,
        encryption=encryption,
        clock=world.clock,
        audit=world.audit,
        pepper=lambda: PEPPER,
    )
    enrol_policy = policy(
        FlowKind.TOTP_ENROL,
        restart_hint="Start adding the app again.",
        too_many_attempts_message="Too many attempts. Please start adding the app again.",
    )
    totp = TotpFactor(
        users=world.users,
        factors=factors,
        encryption=encryption,
        challenges=world.challenges(enrol_policy),
        step_up=w.step_up,
        audit=world.audit,
        clock=world.clock,
        pepper=lambda: PEPPER,
        notices=w.notices,
        email_notices=email_notices,
    )
    passkeys, passkey_challenges = InMemoryPasskeys(world.users), InMemoryPasskeyChallenges()
    passkeys.drop_codes = factors.drop_codes
    ceremony = LibraryWebAuthn(
        rp_id=RP_ID, rp_name="phone-verify", origins=[PAGE], timeout_secs=300
    )
    common = {
        "passkeys": passkeys,
        "challenges": passkey_challenges,
        "ceremony": ceremony,
        "audit": world.audit,
        "clock": world.clock,
        "timeout_secs": 300,
    }
    registry = PasskeyRegistry(
        users=world.users,
        step_up=w.step_up,
        notices=w.notices,
        factors=factors,
        pepper=lambda: PEPPER,
        email_notices=email_notices,
        **common,
    )
    assertions = PasskeyAssertions(**common)
    step = PasskeyStep(assertions)
    reauth = ReauthFlow(
        users=world.users,
        passwords=world.passwords,
        challenges=world.challenges(reauth_policy()),
        audit=world.audit,
        throttle=world.throttle,
        step_up=w.step_up,
        factor_checks=checks,
        passkey_step=step,
    )
    login = LoginFlow(
        users=world.users,
        passwords=world.passwords,
        challenges=world.challenges(policy()),
        audit=world.audit,
        tokens=world.tokens,
        throttle=world.throttle,
        factor_checks=checks,
        notices=w.notices,
        passkey_step=step,
        step_up=w.step_up,
    )
    reset = PasswordResetFlow(
        users=world.users,
        passwords=world.passwords,
        challenges=world.challenges(reset_policy()),
        audit=world.audit,
        throttle=world.throttle,
        clock=world.clock,
        pepper=lambda: PEPPER,
        notices=w.notices,
        factor_checks=checks,
        passkey_step=step,
    )
    return FactorWorld(
        w, encryption, factors, totp, login, reset, passkeys, registry, reauth, assertions
    )
