"""The settings of the functions that read or write an authenticator app's secret
(docs/factors.md, docs/configuration.md): where its encryption key is. A module of its own:
config.py is full."""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import Field, model_validator

from phoneverify.config import CodeSettings
from phoneverify.email_config import EmailSettings
from phoneverify.live_status_config import AccountCodeSettings


class FactorSettings(CodeSettings):
    """FACTOR_KEY_ID: the KMS key (template.yaml FactorSecretsKey) the secrets are encrypted
    under in AWS. Empty (the local stack): AES-256-GCM under the base64 key in the SSM
    SecureString FACTOR_KEY_PARAM instead (adapters/encryption.py)."""

    factor_key_id: Annotated[str, Field(max_length=2048)] = ""
    factor_key_param: Annotated[str, Field(pattern=r"^(/[A-Za-z0-9_./-]+)?$")] = ""

    @model_validator(mode="after")
    def _one_key(self) -> Self:
        if not self.factor_key_id and not self.factor_key_param:
            raise ValueError("FACTOR_KEY_ID or FACTOR_KEY_PARAM is required")
        return self


class AccountFactorSettings(AccountCodeSettings, FactorSettings):
    """/login/verify and /password/reset/verify: an SMS code to the account's phone (live
    status, as before), and an app's code or a recovery code beside or instead of it."""


class TotpRemoveSettings(FactorSettings, EmailSettings):
    """POST /account/totp/remove: its notice to the phone (the outbox) or, for an account
    without one, to its proven email (SES: EMAIL_SENDER_ADDRESS), as a passkey's removal."""
