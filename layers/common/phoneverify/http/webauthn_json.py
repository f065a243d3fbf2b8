"""A WebAuthn credential as the browser hands it over (PublicKeyCredential's JSON, as
`toJSON()` or `@simplewebauthn/browser` give it): base64url strings, each bounded; members a
newer browser adds are ignored, never refused. Used by the passkey routes (http/passkeys.py)
and the payment confirmation (http/requests.py)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

B64 = r"^[A-Za-z0-9_-]*={0,2}$"


def b64url(max_length: int) -> Any:
    return Field(min_length=1, max_length=max_length, pattern=B64)


CredentialId = Annotated[str, b64url(1_400)]  # WebAuthn: at most 1023 bytes


class _Browser(BaseModel):
    """A part of the browser's credential: unknown members (newer browsers add some) are
    ignored, never refused; what is read is bounded."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, defer_build=True)


class AttestationBody(_Browser):
    client_data_json: Annotated[str, b64url(4_096)] = Field(alias="clientDataJSON")
    attestation_object: Annotated[str, b64url(16_384)] = Field(alias="attestationObject")
    transports: Annotated[list[Annotated[str, Field(max_length=32)]], Field(max_length=8)] = []


class AssertionBody(_Browser):
    client_data_json: Annotated[str, b64url(4_096)] = Field(alias="clientDataJSON")
    authenticator_data: Annotated[str, b64url(4_096)] = Field(alias="authenticatorData")
    signature: Annotated[str, b64url(1_024)]
    user_handle: Annotated[str, Field(max_length=128, pattern=B64)] | None = Field(
        None, alias="userHandle"
    )


class _Credential(_Browser):
    id: CredentialId
    raw_id: CredentialId = Field(alias="rawId")
    type: Literal["public-key"]

    def as_json(self) -> dict[str, Any]:
        """The credential as the library reads it (camelCase, no empty members)."""
        return self.model_dump(by_alias=True, exclude_none=True)


class RegistrationCredential(_Credential):
    response: AttestationBody


class AssertionCredential(_Credential):
    response: AssertionBody
