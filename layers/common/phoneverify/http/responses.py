"""What each endpoint answers: one pydantic model per response body (so the OpenAPI document
has response schemas), built from the flows' results. The fields are the contract's
(docs/contract.md), in the order clients have always seen them."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from phoneverify.domain.factors import FactorKind
from phoneverify.domain.models import Channel, StepUpReason

# The flows' results are only named here: a handler imports this module at cold start, and
# loads a flow (with bcrypt, phonenumbers, PyJWT...) only when it builds it (runtime/).
if TYPE_CHECKING:
    from phoneverify.domain.tokens import AccessToken
    from phoneverify.flows.email_change import EmailChanged
    from phoneverify.flows.engine.policy import OpenedChallenge, Resent
    from phoneverify.flows.login import SecondFactorRequired
    from phoneverify.flows.lost_phone import SwapState
    from phoneverify.flows.password_reset import PasswordResetDone
    from phoneverify.flows.phone_change import PhoneChanged
    from phoneverify.flows.reauth import ReauthChallenge, ReauthGranted
    from phoneverify.flows.registration import Registered, RegistrationStarted
    from phoneverify.flows.sessions import LoggedOut
    from phoneverify.ports.payments import PaymentAnswer


class ResponseModel(BaseModel):
    # defer_build: a handler builds the serializers of its own answers only.
    model_config = ConfigDict(frozen=True, defer_build=True)


def _no_defaults(schema: dict[str, Any]) -> None:
    """The optional fields of an error are absent when they do not apply, never null."""
    for prop in schema.get("properties", {}).values():
        prop.pop("default", None)


class ErrorResponse(ResponseModel):
    """Every error answer: a sentence a person can read, a machine code to act on (the table
    in docs/api.md), and the fields that apply to it."""

    model_config = ConfigDict(frozen=True, extra="allow", json_schema_extra=_no_defaults)

    error: str = Field(description="What went wrong, in words a person can read.")
    code: str = Field(description="Machine code of the error: see the table in docs/api.md.")
    field: str | SkipJsonSchema[None] = Field(
        None, description="The request field (or header) the error is about."
    )
    attempts_remaining: int | SkipJsonSchema[None] = Field(
        None, description="invalid_code: wrong codes this verification still accepts."
    )
    retry_after: int | SkipJsonSchema[None] = Field(
        None, description="Seconds to wait before trying again (also the Retry-After header)."
    )
    response_code: str | SkipJsonSchema[None] = Field(None, description='invalid_code: "rejected".')
    status: str | SkipJsonSchema[None] = Field(
        None, description="payment_not_pending: the payment's status."
    )


class TokenResponse(ResponseModel):
    token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - the scheme, not a secret
    expires_in: int


class ChallengeResponse(ResponseModel):
    """A code was sent (or, for a decoy, seems to have been)."""

    flow_id: str
    phone_hint: str
    timeout_secs: int
    code_length: int
    resend_after_secs: int
    channel: Channel
    channels: list[Channel]


class EmailCodeSentResponse(ResponseModel):
    """A code went to the account's email (or, for a decoy, seems to have gone)."""

    flow_id: str
    email_hint: str
    timeout_secs: int
    code_length: int


class EmailChangedResponse(ResponseModel):
    """The account's email, proven: a new one taken (`changed`), or its own proven."""

    email: str
    email_proven: Literal[True] = True
    changed: bool


class PhoneSwapResponse(ResponseModel):
    """A lost phone's swap: `pending` (binds at `binds_at`, `retry_after` seconds from now),
    `cancelled`, `completed`, or `none`."""

    status: Literal["none", "pending", "cancelled", "completed"]
    new_phone_hint: str | None = None
    binds_at: int | None = None
    retry_after: int | None = None


class SecondFactorResponse(ResponseModel):
    requires_2fa: Literal[True] = True
    flow_id: str
    phone_hint: str
    timeout_secs: int
    code_length: int
    resend_after_secs: int
    channel: Channel
    channels: list[Channel]
    # What may answer this second step, strongest first: a client offers the first and lets
    # the person choose another (domain/factors.py).
    factors: list[FactorKind] = [FactorKind.SMS]


class RegistrationStartedResponse(ResponseModel):
    verification_sent: Literal[True] = True
    flow_id: str
    phone_hint: str
    email_hint: str  # where the email code went (masked): the same for a taken address
    timeout_secs: int
    code_length: int
    resend_after_secs: int
    channel: Channel
    channels: list[Channel]


class RegisteredResponse(ResponseModel):
    user_id: str
    token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - the scheme, not a secret
    expires_in: int


class PhoneChangedResponse(ResponseModel):
    """The account's phone is now the proven number; `added`: the account had none before
    (its sign-in asks for a code from now on)."""

    phone_changed: Literal[True] = True
    phone_hint: str
    added: bool
    # Every earlier token of the account ended with the change: the caller's new one.
    token: str
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - the scheme, not a secret
    expires_in: int


class ReauthChallengeResponse(ChallengeResponse):
    """The step-up's second step is pending: answer it at /account/reauth/verify with one of
    `factors` (strongest first). A code went to the phone only when `sms` is the only one."""

    factors: list[FactorKind]


class ReauthTokenResponse(ResponseModel):
    """The `Reauth-Token` of the sensitive routes, for this account and session."""

    reauth_token: str
    expires_in: int
    factors: list[FactorKind]  # the factor proven beyond the password (none: it has none)


class ResentResponse(ResponseModel):
    message: Literal["Code resent"] = "Code resent"
    timeout_secs: int
    resend_after_secs: int
    channel: Channel


class PasswordResetResponse(ResponseModel):
    password_reset: Literal[True] = True


class LoggedOutResponse(ResponseModel):
    logged_out: Literal[True] = True


class PaymentCompletedResponse(ResponseModel):
    payment_id: str
    status: Literal["completed"] = "completed"
    transaction_id: str
    amount: str
    currency: str


class PaymentVerificationResponse(ResponseModel):
    """The flow id stays on the server: clients only know the payment id."""

    payment_id: str
    requires_verification: Literal[True] = True
    reason: StepUpReason
    status: Literal["pending"] = "pending"
    amount: str
    currency: str
    timeout_secs: int
    code_length: int
    phone_hint: str
    resend_after_secs: int
    channel: Channel
    channels: list[Channel]


class CancelledResponse(ResponseModel):
    cancelled: bool


class ReceivedResponse(ResponseModel):
    received: Literal[True] = True


def token_response(token: AccessToken) -> TokenResponse:
    return TokenResponse(token=token.token, expires_in=token.expires_in)


def challenge_response(challenge: OpenedChallenge) -> ChallengeResponse:
    return ChallengeResponse(**_challenge_fields(challenge))


def login_response(
    result: AccessToken | SecondFactorRequired,
) -> TokenResponse | SecondFactorResponse:
    from phoneverify.flows.login import SecondFactorRequired

    if isinstance(result, SecondFactorRequired):
        return SecondFactorResponse(
            **_challenge_fields(result.challenge), factors=list(result.factors)
        )
    return token_response(result)


def registration_started_response(result: RegistrationStarted) -> RegistrationStartedResponse:
    return RegistrationStartedResponse(
        **_challenge_fields(result.challenge), email_hint=result.email_hint
    )


def registered_response(result: Registered) -> RegisteredResponse:
    token = result.token
    return RegisteredResponse(
        user_id=result.user_id, token=token.token, expires_in=token.expires_in
    )


def phone_changed_response(result: PhoneChanged) -> PhoneChangedResponse:
    return PhoneChangedResponse(
        phone_hint=result.phone_hint,
        added=result.added,
        token=result.token.token,
        expires_in=result.token.expires_in,
    )


def reauth_response(
    result: ReauthChallenge | ReauthGranted,
) -> ReauthChallengeResponse | ReauthTokenResponse:
    from phoneverify.flows.reauth import ReauthChallenge

    if isinstance(result, ReauthChallenge):
        fields = _challenge_fields(result.challenge)
        return ReauthChallengeResponse(factors=list(result.factors), **fields)  # type: ignore[arg-type]
    return reauth_token_response(result)


def reauth_token_response(result: ReauthGranted) -> ReauthTokenResponse:
    return ReauthTokenResponse(
        reauth_token=result.token.token,
        expires_in=result.token.expires_in,
        factors=list(result.factors),  # type: ignore[arg-type]
    )


def resent_response(result: Resent) -> ResentResponse:
    return ResentResponse(
        timeout_secs=result.timeout_secs,
        resend_after_secs=result.resend_after_secs,
        channel=result.channel,
    )


def password_reset_response(_: PasswordResetDone) -> PasswordResetResponse:
    return PasswordResetResponse()


def logged_out_response(_: LoggedOut) -> LoggedOutResponse:
    return LoggedOutResponse()


def payment_response(
    result: PaymentAnswer,
) -> PaymentCompletedResponse | PaymentVerificationResponse:
    from phoneverify.ports.payments import PaymentCompleted

    if isinstance(result, PaymentCompleted):
        return PaymentCompletedResponse(
            payment_id=result.payment_id,
            transaction_id=result.transaction_id,
            amount=result.amount,
            currency=result.currency,
        )
    return PaymentVerificationResponse(
        payment_id=result.payment_id,
        reason=result.reason,
        amount=result.amount,
        currency=result.currency,
        timeout_secs=result.timeout_secs,
        code_length=result.code_length,
        phone_hint=result.phone_hint,
        resend_after_secs=result.resend_after_secs,
        channel=result.channel,
        channels=list(result.channels),
    )


def _challenge_fields(challenge: OpenedChallenge) -> dict[str, Any]:
    return {
        "flow_id": challenge.flow_id,
        "phone_hint": challenge.phone_hint,
        "timeout_secs": challenge.timeout_secs,
        "code_length": challenge.code_length,
        "resend_after_secs": challenge.resend_after_secs,
        "channel": challenge.channel,
        "channels": list(challenge.channels),
    }


# -- the proof-of-work gate (GET /challenge) ---------------------------------------------------
class AltchaChallengeResponse(ResponseModel):
    """An ALTCHA challenge (docs/api.md#the-proof-of-work-gate): find the `number` from 0 to
    `maxnumber` whose SHA-256 of `salt` + number (in decimal) is `challenge` (hex), then send
    base64 of the JSON {algorithm, challenge, number, salt, signature} as `altcha`."""

    algorithm: Literal["SHA-256"] = Field(description="The hash: SHA-256.")
    challenge: str = Field(description="Hex SHA-256 of salt + the hidden number.")
    maxnumber: int = Field(description="The hidden number is at most this.")
    salt: str = Field(description="Hashed before the number; carries the expiry, signed.")
    signature: str = Field(description="The server's HMAC of the challenge: send it back.")


def altcha_challenge_response(challenge: dict[str, Any]) -> AltchaChallengeResponse:
    return AltchaChallengeResponse.model_validate(challenge)


def email_code_response(challenge: OpenedChallenge) -> EmailCodeSentResponse:
    return EmailCodeSentResponse(
        flow_id=challenge.flow_id,
        email_hint=challenge.phone_hint,
        timeout_secs=challenge.timeout_secs,
        code_length=challenge.code_length,
    )


def email_changed_response(result: EmailChanged) -> EmailChangedResponse:
    return EmailChangedResponse(email=result.email, changed=result.changed)


def phone_swap_response(state: SwapState) -> PhoneSwapResponse:
    return PhoneSwapResponse.model_validate(asdict(state))
