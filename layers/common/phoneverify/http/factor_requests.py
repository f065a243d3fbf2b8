"""Request bodies of the stronger factors (docs/factors.md): /login/verify's choice of factor
or recovery code, the authenticator app's enrolment, and a payment confirmed by code or passkey."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from phoneverify.domain.errors import InvalidRequest
from phoneverify.http.fields import FlowId, PaymentId, default_in_words
from phoneverify.http.requests import Code, RequestModel
from phoneverify.http.webauthn_json import AssertionCredential

RecoveryCode = Annotated[
    str,
    Field(
        min_length=10,
        max_length=24,
        pattern=r"^[0-9A-Za-z -]+$",
        description="One of the account's recovery codes, as shown (`xxxxx-xxxxx`).",
    ),
]


def factor_field(*kinds: str) -> Any:
    """`factor`: which factor answers, SMS when absent."""
    return Field(
        "sms",
        description=f"Which factor answers ({', '.join(kinds)}); `sms` when absent.",
        json_schema_extra=default_in_words,
    )


# The factors that answer a second step: `code` from sms or totp, `credential` from a passkey.
StepFactor = Literal["sms", "totp", "passkey"]


class _SecondStep(RequestModel):
    flow_id: FlowId
    code: Code | None = None
    factor: StepFactor = factor_field("sms", "totp", "passkey")
    credential: AssertionCredential | None = None

    def assertion(self) -> dict[str, object] | None:
        """The passkey's assertion (as JSON) when `factor` is passkey; a 400 without one."""
        if self.factor != "passkey":
            return None
        if self.credential is None:
            raise InvalidRequest("credential is required", field="credential")
        return self.credential.as_json()


class LoginVerifyRequest(_SecondStep):
    """The login's second step: `code` from the factor named (SMS when none), a passkey's
    `credential` (`"factor": "passkey"`), or a `recovery_code` in their place."""

    recovery_code: RecoveryCode | None = None


class ReauthVerifyRequest(_SecondStep):
    """The step-up's second step: `code` (SMS, or an app's with `"factor": "totp"`), or a
    passkey's `credential` (`"factor": "passkey"`)."""


class FlowPasskeyOptionsRequest(RequestModel):
    """POST /login/passkey/options, /account/reauth/passkey/options: the pending flow."""

    flow_id: FlowId


class TotpStartRequest(RequestModel):
    """POST /account/totp/start: an empty object (the account is the caller's)."""


class TotpVerifyRequest(RequestModel):
    flow_id: FlowId
    code: Code


class TotpRemoveRequest(RequestModel):
    """POST /account/totp/remove: an empty object (the account's one app)."""


class PaymentConfirmRequest(RequestModel):
    """The payment's code, or (`"factor": "passkey"`) the payer's passkey assertion over the
    options of POST /payments/passkey/options (docs/factors.md#passkeys)."""

    payment_id: PaymentId
    code: Code | None = None
    factor: Literal["sms", "passkey"] = factor_field("sms", "passkey")
    credential: AssertionCredential | None = None

    def proof(self) -> dict[str, object] | str:
        """The credential (as JSON) of a passkey confirmation, else the code; a 400 naming
        the field that is missing."""
        if self.factor == "passkey":
            if self.credential is None:
                raise InvalidRequest("credential is required", field="credential")
            return self.credential.as_json()
        if self.code is None:
            raise InvalidRequest("code is required", field="code")
        return self.code
