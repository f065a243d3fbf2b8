"""The passkey routes' bodies (docs/factors.md#passkeys): a WebAuthn credential as the browser
hands it over (PublicKeyCredential's JSON, as `@simplewebauthn/browser` or `toJSON()` give it:
base64url strings, each bounded), and the answers. A module of its own: requests.py and
responses.py are full.

The options are WebAuthn's own JSON (`PublicKeyCredentialCreationOptionsJSON`,
`PublicKeyCredentialRequestOptionsJSON`): the page passes them to the browser unchanged."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import ConfigDict, Field

from phoneverify.http.requests import RequestModel
from phoneverify.http.responses import ResponseModel
from phoneverify.http.webauthn_json import CredentialId, RegistrationCredential

if TYPE_CHECKING:
    from phoneverify.flows.passkeys import PasskeyView


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


class PasskeyAddedResponse(PasskeyResponse):
    recovery_codes: list[str] | None = Field(
        None,
        description="Ten one-time recovery codes, shown this once: only when the account had "
        "none (this passkey is its first stronger factor).",
    )


class PasskeyListResponse(ResponseModel):
    passkeys: list[PasskeyResponse]


class PasskeyRemovedResponse(ResponseModel):
    removed: Literal[True] = True


def options_response(options: dict[str, Any]) -> WebAuthnOptionsResponse:
    return WebAuthnOptionsResponse(**options)


def passkey_added_response(view: PasskeyView) -> PasskeyAddedResponse:
    shown = passkey_response(view).model_dump()
    return PasskeyAddedResponse(**shown, recovery_codes=list(view.recovery_codes) or None)


def passkey_response(view: PasskeyView) -> PasskeyResponse:
    return PasskeyResponse(
        passkey_id=view.passkey_id,
        created_at=int(view.created_at),
        last_used_at=None if view.last_used_at is None else int(view.last_used_at),
        transports=list(view.transports),
    )
