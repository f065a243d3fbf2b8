"""The Encryption port (ports/factors.py): AWS KMS in AWS, and locally (the local stack, the
tests) AES-256-GCM under a key read from SSM, so no KMS is needed to run the stack. Both bind
the encryption context: a ciphertext decrypts only with the context it was made under."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from phoneverify.adapters.ssm import SecretSource
from phoneverify.domain.errors import StorageUnavailable
from phoneverify.domain.factor_errors import DecryptionFailed

# KMS's answers that mean "not this ciphertext or context", not "KMS is down".
REFUSALS = {"InvalidCiphertextException", "IncorrectKeyException", "AccessDeniedException"}
NONCE_BYTES = 12
VERSION = b"\x01"  # the local format's first byte, so a format change can be told apart


class KmsEncryption:
    """Encrypt and Decrypt under one symmetric KMS key (the template's FactorSecretsKey); the
    function's role may use that key only with an encryption context (its IAM condition)."""

    def __init__(self, client: Any, key_id: str) -> None:
        """`client`: a boto3 KMS client (its stubs are not among the dev tools)."""
        self._client = client
        self._key_id = key_id

    def encrypt(self, plaintext: bytes, context: Mapping[str, str]) -> bytes:
        response = self._call(
            "encrypt",
            KeyId=self._key_id,
            Plaintext=plaintext,
            EncryptionContext=dict(context),
        )
        return bytes(response["CiphertextBlob"])

    def decrypt(self, ciphertext: bytes, context: Mapping[str, str]) -> bytes:
        response = self._call(
            "decrypt",
            KeyId=self._key_id,
            CiphertextBlob=ciphertext,
            EncryptionContext=dict(context),
        )
        return bytes(response["Plaintext"])

    def _call(self, operation: str, **request: Any) -> dict[str, Any]:
        try:
            return dict(getattr(self._client, operation)(**request))
        except ClientError as failed:
            if failed.response.get("Error", {}).get("Code") in REFUSALS:
                raise DecryptionFailed() from None
            raise StorageUnavailable() from None
        except BotoCoreError:
            raise StorageUnavailable() from None


class SsmKeyEncryption:
    """AES-256-GCM under a 32-byte key kept base64 in an SSM SecureString (the local stack
    seeds one); the context is the additional authenticated data. Only where no KMS key is
    configured: `cryptography` is imported when first used."""

    def __init__(self, secrets: SecretSource, param: str) -> None:
        self._secrets = secrets
        self._param = param

    def _cipher(self) -> Any:
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM

        return AESGCM(base64.b64decode(self._secrets.get(self._param)))

    def encrypt(self, plaintext: bytes, context: Mapping[str, str]) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        sealed: bytes = self._cipher().encrypt(nonce, plaintext, _aad(context))
        return VERSION + nonce + sealed

    def decrypt(self, ciphertext: bytes, context: Mapping[str, str]) -> bytes:
        from cryptography.exceptions import InvalidTag

        if ciphertext[:1] != VERSION:
            raise DecryptionFailed()
        nonce, sealed = ciphertext[1 : 1 + NONCE_BYTES], ciphertext[1 + NONCE_BYTES :]
        try:
            opened: bytes = self._cipher().decrypt(nonce, sealed, _aad(context))
        except InvalidTag:
            raise DecryptionFailed() from None
        return opened


def _aad(context: Mapping[str, str]) -> bytes:
    return json.dumps(dict(context), sort_keys=True, separators=(",", ":")).encode("utf-8")
