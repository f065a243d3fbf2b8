"""The passkey routes' bodies (docs/factors.md#passkeys): a WebAuthn credential as the browser
hands it over (PublicKeyCredential's JSON, as `@simplewebauthn/browser` or `toJSON()` give it:
base64url strings, each bounded), and the answers. A module of its own: requests.py and
responses.py are full.

The options are WebAuthn's own JSON (`PublicKeyCredentialCreationOptionsJSON`,
`PublicKeyCredentialRequestOptionsJSON`): the page passes them to the browser unchanged."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from phoneverify.http.requests import RequestModel
from phoneverify.http.responses import ResponseModel

if TYPE_CHECKING:
    from phoneverify.flows.passkeys import PasskeyView

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


class PasskeyOptionsRequest(RequestModel):
    """POST /account/passkeys/options: an empty object (anything in it is refused)."""


class PasskeyRegisterRequest(RequestModel):
    """POST /account/passkeys: the browser's answer to the creation options."""

    credential: RegistrationCredential


class PasskeyRemoveRequest(RequestModel):
    """POST /account/passkeys/remove."""

    passkey_id: CredentialId


class WebAuthnOptionsResponse(ResponseModel):
    """WebAuthn options as the browser takes them (base64url for bytes); `challenge` is the
    one every ceremony has, the rest is WebAuthn's (rp, user, pubKeyCredParams,
    allowCredentials, ...)."""

    model_config = ConfigDict(frozen=True, defer_build=True, extra="allow")

    challenge: str = Field(description="base64url; answer it once, within `timeout` ms.")
    timeout: int


class PasskeyResponse(ResponseModel):
    passkey_id: str = Field(description="The credential id (base64url).")
    created_at: int
    last_used_at: int | None
    transports: list[str]


class PasskeyListResponse(ResponseModel):
    passkeys: list[PasskeyResponse]


class PasskeyRemovedResponse(ResponseModel):
    removed: Literal[True] = True


def options_response(options: dict[str, Any]) -> WebAuthnOptionsResponse:
    return WebAuthnOptionsResponse(**options)


def passkey_response(view: PasskeyView) -> PasskeyResponse:
    return PasskeyResponse(
        passkey_id=view.passkey_id,
        created_at=int(view.created_at),
        last_used_at=None if view.last_used_at is None else int(view.last_used_at),
        transports=list(view.transports),
    )
