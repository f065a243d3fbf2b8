"""Registration: prove the phone and the email with a code each, and only then create the
account (docs/registration.md, docs/email.md).

`start` validates the form, hashes the password, sends a code by SMS and one by email; the
pending registration (name, email, bcrypt hash: never the password; the email code's keyed
digest, never the code) is kept in the challenge's data. A taken phone gets the same answer,
after the same send limits and work, as a fresh one; a taken email gets its owner the "someone
tried" notice instead of a code (flows/engine/email_proof.py), after the same work too.
`verify` needs both codes, and a wrong email code is a wrong code like any: with a taken
email it can never be right, so the registrant is told nothing more than with a mistyped one.
Only then is the account created, in one transaction that claims the email and the phone:
phone_taken answers there, to the person who just proved the phone, and two registrations
racing for either make exactly one account (the loser of a race for an email it proved, the
one case left, is told email_taken: it holds that address).
"""

from __future__ import annotations

import uuid
from contextlib import nullcontext
from dataclasses import dataclass

from phoneverify.domain.clock import Clock
from phoneverify.domain.emails import mask_email, parse_email
from phoneverify.domain.errors import InvalidRequest, PhoneAlreadyRegistered
from phoneverify.domain.models import Channel, RequestOrigin, User
from phoneverify.domain.passwords import PasswordHasher, check_password
from phoneverify.domain.phones import DEFAULT_PHONE_POLICY, PhonePolicy, normalise_phone
from phoneverify.domain.tokens import AccessToken, AccessTokenIssuer
from phoneverify.domain.validation import ALL_FIELDS_REQUIRED
from phoneverify.flows.engine.challenges import Challenges
from phoneverify.flows.engine.email_proof import EmailProof
from phoneverify.flows.engine.policy import OpenedChallenge, Resent
from phoneverify.flows.engine.proof_of_work_gate import ProofOfWorkGate
from phoneverify.ports.accounts import UserRegistry

RESTART_HINT = "Start registration again."
TOO_MANY_ATTEMPTS = "Too many attempts. Please start the registration again."
PHONE_HAS_ACCOUNT = "This phone number already has an account. Sign in instead."

MAX_NAME_LENGTH = 100
REQUIRED_FIELDS = ("name", "email", "phone_number", "password")
EMAIL_CODE = "email_code"  # data key: the email code's verification id (a keyed digest)


@dataclass(frozen=True)
class Applicant:
    """A registration form that passed validation: email lower-cased, phone in E.164."""

    name: str
    email: str
    phone_number: str
    password: str


@dataclass(frozen=True)
class RegistrationStarted:
    challenge: OpenedChallenge
    email_hint: str


@dataclass(frozen=True)
class Registered:
    user_id: str
    token: AccessToken


class RegistrationFlow:
    def __init__(
        self,
        *,
        users: UserRegistry,
        passwords: PasswordHasher,
        challenges: Challenges,
        email: EmailProof,
        tokens: AccessTokenIssuer,
        clock: Clock,
        default_phone_region: str = "US",
        phone_policy: PhonePolicy = DEFAULT_PHONE_POLICY,
        gate: ProofOfWorkGate | None = None,
    ) -> None:
        """`email`: the code by email beside the SMS; `phone_policy` is the one the
        challenges send under (the runtime passes the same); `gate` the proof-of-work gate
        `start` passes through (None: off)."""
        self._gate = gate
        self._email = email
        self._users = users
        self._phone_policy = phone_policy
        self._passwords = passwords
        self._challenges = challenges
        self._tokens = tokens
        self._clock = clock
        self._default_region = default_phone_region

    def start(
        self,
        name: str | None,
        email: str | None,
        phone_number: str | None,
        password: str | None,
        origin: RequestOrigin,
        channel: Channel | None = None,
        proof: str | None = None,
    ) -> RegistrationStarted:
        """Validate the form, then send a code: the same answer, work and send limits
        whether the email or the phone already has an account or not.

        Nothing is looked up here on purpose (a lookup would answer faster or differently for
        taken ones); the account transaction in `verify` enforces one account per email and
        per phone, and says which was taken once the phone is proven.

        `proof`: a solved proof-of-work challenge (the `altcha` field), checked by the gate
        after the form (a typo costs no solution) and before the password is hashed (a
        request the gate refuses costs no bcrypt).
        """
        applicant = self.validate(name, email, phone_number, password)
        gate = self._gate
        vouched = gate.vouch(proof, origin) if gate is not None else False

        # The pending id becomes the user id, so a registration's events name its account.
        subject = str(uuid.uuid4())

        def pending() -> dict[str, str]:
            # Once the SMS is admitted: a sign-up the limits or the fraud guard refuse costs
            # no bcrypt and no email (docs/abuse-controls.md#the-fraud-guard). The email goes
            # first: if its limits refuse it or SES fails, the SMS is given back unsent.
            email_code = self._email.send(applicant.email, subject, origin)
            return {
                "name": applicant.name,
                "email": applicant.email,
                "password_hash": self._passwords.hash(applicant.password),
                EMAIL_CODE: email_code,
            }

        # A source at risk or a held prefix asks for a solution where the gate is on.
        with gate.asking(origin) if gate is not None else nullcontext():
            challenge = self._challenges.open(
                subject,
                applicant.phone_number,
                origin,
                data=pending,
                channel=channel,
                gated=gate is not None and gate.on,
                vouched=vouched,
            )
        return RegistrationStarted(challenge, mask_email(applicant.email))

    def verify(self, flow_id: str, code: str, email_code: str, origin: RequestOrigin) -> Registered:
        """Check both codes; create the account with its phone and email proven and issue a
        token.

        The challenge is consumed (and its data dropped) before the account is written: if
        another account holds the phone (phone_taken, which tells the prover, who owns
        that phone, to sign in) or the email (email_taken: only a registration that won a
        race for an address both proved), this one is over.
        """
        if len(email_code) != len(code):
            raise InvalidRequest(f"email_code must be {len(code)} digits", field="email_code")
        record = self._challenges.check(
            flow_id,
            code,
            origin,
            also_right=lambda pending: self._email.check(pending.data[EMAIL_CODE], email_code),
        )
        now = self._clock.now()
        user = User(
            user_id=record.subject,
            email=record.data["email"],
            password_hash=record.data["password_hash"],
            phone_number=record.phone_number,
            name=record.data.get("name") or None,
            email_proven_at=now,
            created_at=now,
        )
        try:
            self._users.put_user(user, phone_verified_at=now)
        except PhoneAlreadyRegistered as taken:
            raise PhoneAlreadyRegistered(PHONE_HAS_ACCOUNT) from taken
        # A new account: no token of it was ever ended, so its generation is 0.
        return Registered(user.user_id, self._tokens.issue_access_token(user.user_id, 0))

    def resend(self, flow_id: str, origin: RequestOrigin, channel: Channel | None = None) -> Resent:
        return self._challenges.resend(flow_id, origin, channel)

    def validate(
        self,
        name: str | None,
        email: str | None,
        phone_number: str | None,
        password: str | None,
    ) -> Applicant:
        """The form as an Applicant, or InvalidRequest naming the first field that is wrong."""
        form = {"name": name, "email": email, "phone_number": phone_number, "password": password}
        given: dict[str, str] = {}
        for field in REQUIRED_FIELDS:
            value = form[field]
            if value is None or not value.strip():
                raise InvalidRequest(ALL_FIELDS_REQUIRED, field=field)
            given[field] = value
        full_name = given["name"].strip()
        if len(full_name) > MAX_NAME_LENGTH:
            raise InvalidRequest(f"Name must be at most {MAX_NAME_LENGTH} characters", field="name")
        address = parse_email(given["email"])
        e164 = normalise_phone(
            given["phone_number"].strip(), self._default_region, self._phone_policy
        )
        password_given = given["password"]
        check_password(password_given, context=(address, address.partition("@")[0], full_name))
        return Applicant(full_name, address, e164, password_given)
