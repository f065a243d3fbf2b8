"""Passkeys (docs/factors.md#passkeys) with a software authenticator checked by the real
`webauthn` library: added behind the step-up, listed, removed behind the step-up with a notice;
an assertion accepted once, for its account and purpose; a payment's signature bound to the
payment as stored. The attacks: a replayed attestation or assertion, another user's
credential, another origin, an assertion for another payment, the amount or recipient changed
after the options."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest

from phoneverify.adapters.webauthn_ceremony import LibraryWebAuthn
from phoneverify.domain.errors import ReauthRequired
from phoneverify.domain.models import NoticeEvent, Payment, PaymentStatus
from phoneverify.domain.passkeys import (
    MAX_PASSKEYS,
    CeremonyPurpose,
    PasskeyAlreadyRegistered,
    PasskeyNotFound,
    PasskeyRejected,
    TooManyPasskeys,
    payment_challenge,
)
from phoneverify.domain.payment_errors import PaymentNotFound, PaymentNotPending
from phoneverify.flows.engine.passkey_assertion import PasskeyAssertions
from phoneverify.flows.engine.step_up import Caller
from phoneverify.flows.passkeys import PasskeyRegistry
from phoneverify.flows.payment_passkey import PaymentPasskey
from tests.support.builders import ORIGIN, PhoneChangeWorld, phone_change_world
from tests.support.passkeys import ORIGIN as PAGE
from tests.support.passkeys import (
    RP_ID,
    InMemoryPasskeyChallenges,
    InMemoryPasskeys,
    SoftAuthenticator,
    b64url,
    unb64url,
)

TIMEOUT = 300


@dataclass
class PasskeyWorld:
    w: PhoneChangeWorld
    passkeys: InMemoryPasskeys
    challenges: InMemoryPasskeyChallenges
    registry: PasskeyRegistry
    assertions: PasskeyAssertions
    payments: PaymentPasskey

    def caller(self, user_id: str = "u-phone", *, reauth: bool = True) -> Caller:
        return self.w.caller(user_id, reauth=reauth)

    def add(self, user_id: str = "u-phone") -> SoftAuthenticator:
        authenticator = SoftAuthenticator()
        options = self.registry.creation_options(self.caller(user_id), ORIGIN)
        self.registry.register(self.caller(user_id), authenticator.create(options), ORIGIN)
        return authenticator

    @property
    def events(self) -> list[str]:
        return self.w.world.events.types


@pytest.fixture
def pw() -> PasskeyWorld:
    w = phone_change_world()
    passkeys, challenges = InMemoryPasskeys(), InMemoryPasskeyChallenges()
    ceremony = LibraryWebAuthn(
        rp_id=RP_ID, rp_name="phone-verify", origins=[PAGE], timeout_secs=TIMEOUT
    )
    common = {
        "passkeys": passkeys,
        "challenges": challenges,
        "ceremony": ceremony,
        "audit": w.world.audit,
        "clock": w.world.clock,
        "timeout_secs": TIMEOUT,
    }
    registry = PasskeyRegistry(users=w.world.users, step_up=w.step_up, notices=w.notices, **common)
    assertions = PasskeyAssertions(**common)
    return PasskeyWorld(
        w, passkeys, challenges, registry, assertions, PaymentPasskey(assertions=assertions)
    )


def payment(**changes: object) -> Payment:
    base = Payment(
        payment_id="pay-1",
        user_id="u-phone",
        amount="250.00",
        currency="EUR",
        recipient="ACME Ltd",
        description=None,
        status=PaymentStatus.PENDING,
        created_at=1_800_000_000.0,
        flow_id="f-1",
    )
    return replace(base, **changes)  # type: ignore[arg-type]


# --- adding, listing, removing ---------------------------------------------------------------


def test_a_passkey_is_added_behind_the_step_up_and_listed_without_its_key(
    pw: PasskeyWorld,
) -> None:
    # Given the step-up, When the browser answers the creation options
    authenticator = SoftAuthenticator()
    options = pw.registry.creation_options(pw.caller(), ORIGIN)
    assert options["rp"] == {"id": RP_ID, "name": "phone-verify"}
    assert options["authenticatorSelection"]["userVerification"] == "required"
    view = pw.registry.register(pw.caller(), authenticator.create(options), ORIGIN)
    # Then the passkey is kept, with its counter and transports, and audited
    assert view.passkey_id == authenticator.passkey_id
    assert [p.passkey_id for p in pw.registry.list(pw.caller())] == [authenticator.passkey_id]
    assert pw.passkeys.by_id[view.passkey_id].transports == ("internal", "hybrid")
    assert "passkey_added" in pw.events
    # And the next options exclude it
    again = pw.registry.creation_options(pw.caller(), ORIGIN)
    assert [c["id"] for c in again["excludeCredentials"]] == [authenticator.passkey_id]


def test_adding_a_passkey_without_the_step_up_is_refused(pw: PasskeyWorld) -> None:
    with pytest.raises(ReauthRequired):
        pw.registry.creation_options(pw.caller(reauth=False), ORIGIN)
    options = pw.registry.creation_options(pw.caller(), ORIGIN)
    with pytest.raises(ReauthRequired):
        pw.registry.register(pw.caller(reauth=False), SoftAuthenticator().create(options), ORIGIN)


def test_a_replayed_attestation_is_refused_its_challenge_spent(pw: PasskeyWorld) -> None:
    options = pw.registry.creation_options(pw.caller(), ORIGIN)
    credential = SoftAuthenticator().create(options)
    pw.registry.register(pw.caller(), credential, ORIGIN)
    with pytest.raises(PasskeyRejected):
        pw.registry.register(pw.caller(), credential, ORIGIN)
    assert pw.events[-1] == "passkey_rejected"


def test_an_attestation_after_the_timeout_or_for_another_account_is_refused(
    pw: PasskeyWorld,
) -> None:
    options = pw.registry.creation_options(pw.caller(), ORIGIN)
    # another account answers u-phone's challenge
    with pytest.raises(PasskeyRejected):
        pw.registry.register(pw.caller("u-plain"), SoftAuthenticator().create(options), ORIGIN)
    # the challenge expired
    pw.w.world.clock.advance(TIMEOUT)
    with pytest.raises(PasskeyRejected):
        pw.registry.register(pw.caller(), SoftAuthenticator().create(options), ORIGIN)
    assert pw.passkeys.by_id == {}


def test_an_attestation_made_on_another_origin_is_refused(pw: PasskeyWorld) -> None:
    options = pw.registry.creation_options(pw.caller(), ORIGIN)
    phishing = SoftAuthenticator(origin="https://evil.example")
    with pytest.raises(PasskeyRejected):
        pw.registry.register(pw.caller(), phishing.create(options), ORIGIN)


def test_a_credential_another_account_holds_is_not_taken_over(pw: PasskeyWorld) -> None:
    authenticator = pw.add("u-phone")
    options = pw.registry.creation_options(pw.caller("u-plain"), ORIGIN)
    with pytest.raises(PasskeyAlreadyRegistered):
        pw.registry.register(pw.caller("u-plain"), authenticator.create(options), ORIGIN)
    assert pw.passkeys.by_id[authenticator.passkey_id].user_id == "u-phone"


def test_an_account_holds_a_bounded_number_of_passkeys(pw: PasskeyWorld) -> None:
    for _ in range(MAX_PASSKEYS):
        pw.add()
    with pytest.raises(TooManyPasskeys):
        pw.registry.creation_options(pw.caller(), ORIGIN)


def test_removal_needs_the_step_up_and_tells_the_owner(pw: PasskeyWorld) -> None:
    authenticator = pw.add()
    with pytest.raises(ReauthRequired):
        pw.registry.remove(pw.caller(reauth=False), authenticator.passkey_id, ORIGIN)
    assert authenticator.passkey_id in pw.passkeys.by_id
    # another account cannot remove it: not found, as an unknown one
    with pytest.raises(PasskeyNotFound):
        pw.registry.remove(pw.caller("u-plain"), authenticator.passkey_id, ORIGIN)
    pw.registry.remove(pw.caller(), authenticator.passkey_id, ORIGIN)
    assert pw.registry.list(pw.caller()) == []
    assert pw.w.notices.sent[-1][1] is NoticeEvent.PASSKEY_REMOVED
    assert "passkey_removed" in pw.events


# --- assertions: login ------------------------------------------------------------------------


def test_a_login_assertion_is_accepted_once_and_moves_the_counter(pw: PasskeyWorld) -> None:
    authenticator = pw.add()
    options = pw.assertions.options("u-phone", CeremonyPurpose.LOGIN, "flow-1")
    assert options["userVerification"] == "required"
    assert [c["id"] for c in options["allowCredentials"]] == [authenticator.passkey_id]
    assertion = authenticator.get(options)
    used = pw.assertions.verify("u-phone", CeremonyPurpose.LOGIN, "flow-1", assertion, ORIGIN)
    assert used.passkey_id == authenticator.passkey_id
    assert pw.passkeys.by_id[used.passkey_id].sign_count == 1
    # Attack: the same assertion replayed
    with pytest.raises(PasskeyRejected):
        pw.assertions.verify("u-phone", CeremonyPurpose.LOGIN, "flow-1", assertion, ORIGIN)
    assert pw.events[-2:] == ["passkey_accepted", "passkey_rejected"]


def test_another_users_credential_is_refused(pw: PasskeyWorld) -> None:
    pw.add("u-phone")
    theirs = pw.add("u-plain")
    options = pw.assertions.options("u-phone", CeremonyPurpose.LOGIN, "flow-1")
    # u-plain's passkey signs u-phone's challenge
    with pytest.raises(PasskeyRejected):
        pw.assertions.verify(
            "u-phone", CeremonyPurpose.LOGIN, "flow-1", theirs.get(options), ORIGIN
        )


def test_an_assertion_for_another_login_flow_or_purpose_is_refused(pw: PasskeyWorld) -> None:
    authenticator = pw.add()
    options = pw.assertions.options("u-phone", CeremonyPurpose.LOGIN, "flow-1")
    with pytest.raises(PasskeyRejected):
        pw.assertions.verify(
            "u-phone", CeremonyPurpose.LOGIN, "flow-2", authenticator.get(options), ORIGIN
        )
    options = pw.assertions.options("u-phone", CeremonyPurpose.LOGIN, "flow-1")
    with pytest.raises(PasskeyRejected):
        pw.assertions.verify(
            "u-phone", CeremonyPurpose.PAYMENT, "flow-1", authenticator.get(options), ORIGIN
        )


def test_a_cloned_authenticator_whose_counter_went_back_is_refused(pw: PasskeyWorld) -> None:
    authenticator = pw.add()
    for _ in range(3):
        options = pw.assertions.options("u-phone", CeremonyPurpose.LOGIN, "f")
        pw.assertions.verify(
            "u-phone", CeremonyPurpose.LOGIN, "f", authenticator.get(options), ORIGIN
        )
    clone = replace(authenticator, sign_count=1)  # the same key, an older counter
    options = pw.assertions.options("u-phone", CeremonyPurpose.LOGIN, "f")
    with pytest.raises(PasskeyRejected):
        pw.assertions.verify("u-phone", CeremonyPurpose.LOGIN, "f", clone.get(options), ORIGIN)


def test_an_assertion_without_user_verification_is_refused(pw: PasskeyWorld) -> None:
    authenticator = pw.add()
    authenticator.user_verified = False
    options = pw.assertions.options("u-phone", CeremonyPurpose.LOGIN, "f")
    with pytest.raises(PasskeyRejected):
        pw.assertions.verify(
            "u-phone", CeremonyPurpose.LOGIN, "f", authenticator.get(options), ORIGIN
        )


@pytest.mark.parametrize(
    "credential",
    [{}, {"id": "x"}, {"id": "AAAA", "response": {"clientDataJSON": "not json"}}, {"id": 5}],
)
def test_a_malformed_assertion_is_refused_not_a_crash(pw: PasskeyWorld, credential: dict) -> None:
    pw.add()
    with pytest.raises(PasskeyRejected):
        pw.assertions.verify("u-phone", CeremonyPurpose.LOGIN, "f", credential, ORIGIN)


# --- assertions: a payment ---------------------------------------------------------------------


def test_a_payment_signature_is_bound_to_the_payment(pw: PasskeyWorld) -> None:
    authenticator = pw.add()
    options = pw.payments.options("u-phone", payment())
    # the challenge is not random: it is derived from the nonce kept and the payment
    kept = next(iter(pw.challenges.kept.values()))
    assert kept.nonce is not None
    assert unb64url(options["challenge"]) == payment_challenge(
        nonce=kept.nonce, payment_id="pay-1", amount="250.00", currency="EUR", recipient="ACME Ltd"
    )
    used = pw.payments.verify("u-phone", payment(), authenticator.get(options), ORIGIN)
    assert used.passkey_id == authenticator.passkey_id


@pytest.mark.parametrize(
    "changed",
    [{"amount": "2500.00"}, {"recipient": "Mallory"}, {"currency": "USD"}],
    ids=["amount", "recipient", "currency"],
)
def test_a_signature_is_refused_when_the_payment_changed_after_the_options(
    pw: PasskeyWorld, changed: dict
) -> None:
    authenticator = pw.add()
    options = pw.payments.options("u-phone", payment())
    # the stored payment changed between the options and the confirm
    with pytest.raises(PasskeyRejected):
        pw.payments.verify("u-phone", payment(**changed), authenticator.get(options), ORIGIN)
    assert pw.events[-1] == "passkey_rejected"


def test_a_signature_for_another_payment_is_refused(pw: PasskeyWorld) -> None:
    authenticator = pw.add()
    options_1 = pw.payments.options("u-phone", payment())
    pw.payments.options("u-phone", payment(payment_id="pay-2", amount="9000.00"))
    signed_for_1 = authenticator.get(options_1)
    with pytest.raises(PasskeyRejected):
        pw.payments.verify(
            "u-phone", payment(payment_id="pay-2", amount="9000.00"), signed_for_1, ORIGIN
        )


def test_a_signature_over_a_challenge_of_the_attackers_choosing_is_refused(
    pw: PasskeyWorld,
) -> None:
    # a malicious page has the authenticator sign the payment's options' challenge, but the
    # payment itself was swapped for another under the same id: the derived challenge differs
    authenticator = pw.add()
    options = pw.payments.options("u-phone", payment())
    forged = authenticator.get(options, challenge=b"\x00" * 32)
    with pytest.raises(PasskeyRejected):
        pw.payments.verify("u-phone", payment(), forged, ORIGIN)
    # and the real one still works once: the forged answer did not spend it
    assert pw.payments.verify("u-phone", payment(), authenticator.get(options), ORIGIN)


def test_only_the_payer_of_a_pending_payment_gets_options(pw: PasskeyWorld) -> None:
    pw.add()
    with pytest.raises(PaymentNotFound):
        pw.payments.options("u-plain", payment())
    with pytest.raises(PaymentNotPending):
        pw.payments.options("u-phone", payment(status=PaymentStatus.COMPLETED))


def test_no_options_for_an_account_without_a_passkey(pw: PasskeyWorld) -> None:
    with pytest.raises(PasskeyRejected):
        pw.assertions.options("u-phone", CeremonyPurpose.LOGIN, "f")
    assert b64url(b"") == ""
