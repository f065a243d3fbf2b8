"""The WebAuthn ceremonies over the `webauthn` library (PyPI `webauthn`, pinned in the
requirements.txt of the functions that import this; it brings cryptography, which stays out of
the shared layer). Only this module imports it.

As the library advises: the expected challenge, RP id and origins are ours, never the
browser's; user presence is required, and user verification too (a passkey is a factor on its
own only with its PIN or biometric); the counter must grow when either side has one; attestation
is `none` (we trust no vendor list, the key is what we keep)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from phoneverify.domain.passkeys import Passkey
from phoneverify.ports.passkeys import InvalidCeremony, NewCredential

KNOWN_TRANSPORTS = {t.value: t for t in AuthenticatorTransport}


def _descriptor(passkey: Passkey) -> PublicKeyCredentialDescriptor:
    transports = [KNOWN_TRANSPORTS[t] for t in passkey.transports if t in KNOWN_TRANSPORTS]
    return PublicKeyCredentialDescriptor(
        id=base64url_to_bytes(passkey.passkey_id), transports=transports or None
    )


class LibraryWebAuthn:
    def __init__(
        self, *, rp_id: str, rp_name: str, origins: Sequence[str], timeout_secs: int
    ) -> None:
        self._rp_id = rp_id
        self._rp_name = rp_name
        self._origins = list(origins)
        self._timeout_ms = timeout_secs * 1000

    def creation_options(
        self,
        *,
        user_id: str,
        user_name: str,
        display_name: str,
        challenge: bytes,
        exclude: Sequence[Passkey],
    ) -> dict[str, Any]:
        options = generate_registration_options(
            rp_id=self._rp_id,
            rp_name=self._rp_name,
            user_id=user_id.encode(),
            user_name=user_name,
            user_display_name=display_name,
            challenge=challenge,
            timeout=self._timeout_ms,
            authenticator_selection=AuthenticatorSelectionCriteria(
                resident_key=ResidentKeyRequirement.PREFERRED,
                user_verification=UserVerificationRequirement.REQUIRED,
            ),
            exclude_credentials=[_descriptor(p) for p in exclude],
        )
        return dict(json.loads(options_to_json(options)))

    def request_options(self, *, challenge: bytes, allow: Sequence[Passkey]) -> dict[str, Any]:
        options = generate_authentication_options(
            rp_id=self._rp_id,
            challenge=challenge,
            timeout=self._timeout_ms,
            allow_credentials=[_descriptor(p) for p in allow],
            user_verification=UserVerificationRequirement.REQUIRED,
        )
        return dict(json.loads(options_to_json(options)))

    def client_challenge(self, credential: Mapping[str, Any]) -> bytes:
        try:
            response = credential["response"]
            client_data = json.loads(base64url_to_bytes(response["clientDataJSON"]))
            return base64url_to_bytes(client_data["challenge"])
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidCeremony("no client data challenge") from exc

    def credential_id(self, credential: Mapping[str, Any]) -> str:
        raw = credential.get("rawId") or credential.get("id")
        if not isinstance(raw, str):
            raise InvalidCeremony("no credential id")
        try:
            return bytes_to_base64url(base64url_to_bytes(raw))  # one spelling, unpadded
        except ValueError as exc:
            raise InvalidCeremony("credential id not base64url") from exc

    def verify_registration(
        self, credential: Mapping[str, Any], *, challenge: bytes
    ) -> NewCredential:
        try:
            verified = verify_registration_response(
                credential=dict(credential),
                expected_challenge=challenge,
                expected_rp_id=self._rp_id,
                expected_origin=self._origins,
                require_user_verification=True,
            )
        except (WebAuthnException, KeyError, TypeError, ValueError) as exc:
            raise InvalidCeremony(str(exc)) from exc
        response = credential.get("response")
        reported = response.get("transports") if isinstance(response, Mapping) else None
        transports = tuple(
            t for t in (reported if isinstance(reported, list) else []) if t in KNOWN_TRANSPORTS
        )
        return NewCredential(
            credential_id=bytes_to_base64url(verified.credential_id),
            public_key=verified.credential_public_key,
            sign_count=verified.sign_count,
            transports=transports,
        )

    def verify_assertion(
        self, credential: Mapping[str, Any], *, challenge: bytes, passkey: Passkey
    ) -> int:
        try:
            verified = verify_authentication_response(
                credential=dict(credential),
                expected_challenge=challenge,
                expected_rp_id=self._rp_id,
                expected_origin=self._origins,
                credential_public_key=passkey.public_key,
                credential_current_sign_count=passkey.sign_count,
                require_user_verification=True,
            )
        except (WebAuthnException, KeyError, TypeError, ValueError) as exc:
            raise InvalidCeremony(str(exc)) from exc
        if bytes_to_base64url(verified.credential_id) != passkey.passkey_id:
            raise InvalidCeremony("credential id is not the passkey's")
        return int(verified.new_sign_count)
