"""Request bodies of the stronger factors (docs/factors.md): /login/verify's choice of factor
or recovery code, and the authenticator app's enrolment."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from phoneverify.http.fields import FlowId
from phoneverify.http.requests import Code, RequestModel

RecoveryCode = Annotated[
    str,
    Field(
        min_length=10,
        max_length=24,
        pattern=r"^[0-9A-Za-z -]+$",
        description="One of the account's recovery codes, as shown (`xxxxx-xxxxx`).",
    ),
]
# The factors that answer /login/verify with a `code` (a passkey answers with a credential).
CodeFactor = Literal["sms", "totp"]


class LoginVerifyRequest(RequestModel):
    """The login's second step: `code` from the factor named (SMS when none), or a
    `recovery_code` in its place; exactly one of the two."""

    flow_id: FlowId
    code: Code | None = None
    factor: CodeFactor = "sms"
    recovery_code: RecoveryCode | None = None


class TotpStartRequest(RequestModel):
    """POST /account/totp/start: an empty object (the account is the caller's)."""


class TotpVerifyRequest(RequestModel):
    flow_id: FlowId
    code: Code


class TotpRemoveRequest(RequestModel):
    """POST /account/totp/remove: an empty object (the account's one app)."""
