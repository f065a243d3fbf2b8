"""The settings of the functions that make or check passkey (WebAuthn) ceremonies
(docs/factors.md#passkeys): the relying party's id and the origins a browser may sign for.
A module of its own: config.py is full.

The relying-party id is a registrable domain (`example.com`, or `localhost` on a developer's
machine: browsers refuse an IP address such as 127.0.0.1). Every origin must be that domain or
one of its subdomains, https (http only for localhost): a signature made for another site
names that site's origin in its client data and is refused.
"""

from __future__ import annotations

import re
from typing import Annotated, Self
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from phoneverify.config import CodeSettings, PaymentRecordSettings, Settings
from phoneverify.email_config import EmailSettings
from phoneverify.factor_config import AccountFactorSettings
from phoneverify.live_status_config import PaymentCodeSettings

RP_ID = re.compile(r"^(localhost|([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63})$")
PASSKEY_ORIGIN = re.compile(r"^(https://[a-z0-9.-]+(:[0-9]{1,5})?|http://localhost(:[0-9]{1,5})?)$")


class PasskeySettings(Settings):
    """Functions that make or check a WebAuthn ceremony: WEBAUTHN_RP_ID, WEBAUTHN_RP_NAME and
    WEBAUTHN_ORIGINS (comma-separated; template parameters PasskeyRpId, PasskeyOrigins)."""

    webauthn_rp_id: Annotated[str, Field(min_length=1, max_length=253)]
    webauthn_rp_name: Annotated[str, Field(min_length=1, max_length=64)] = "phone-verify"
    webauthn_origins: tuple[str, ...]
    # How long a ceremony's challenge may be answered (WebAuthn's own timeout hint too).
    webauthn_timeout_secs: Annotated[int, Field(ge=30, le=600)] = 300

    @field_validator("webauthn_rp_id")
    @classmethod
    def _a_domain(cls, value: str) -> str:
        if not RP_ID.fullmatch(value):
            raise ValueError(
                "a relying-party id is a domain (example.com, or localhost), never an IP "
                "address, a scheme or a port"
            )
        return value

    @field_validator("webauthn_origins", mode="before")
    @classmethod
    def _split(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip() for part in value.split(",") if part.strip())
        return value

    @model_validator(mode="after")
    def _origins_of_the_rp(self) -> Self:
        if not self.webauthn_origins:
            raise ValueError("WEBAUTHN_ORIGINS: name at least one origin")
        for origin in self.webauthn_origins:
            host = urlsplit(origin).hostname or ""
            if not PASSKEY_ORIGIN.fullmatch(origin) or not (
                host == self.webauthn_rp_id or host.endswith("." + self.webauthn_rp_id)
            ):
                raise ValueError(
                    f"WEBAUTHN_ORIGINS: {origin} is not https://<{self.webauthn_rp_id} or a "
                    "subdomain>[:port] (http only for localhost)"
                )
        return self


class PasskeyAccountSettings(PasskeySettings, CodeSettings):
    """The account's passkey routes (/account/passkeys...): the ceremony, and a removal's
    notice through the outbox (NOTICES_OUTBOX_TABLE, CodeSettings)."""


class PasskeyRemoveSettings(PasskeyAccountSettings, EmailSettings):
    """POST /account/passkeys/remove: its notice to the phone (the outbox) or, for an account
    without one, to its proven email (SES: EMAIL_SENDER_ADDRESS)."""


class PaymentPasskeyOptionsSettings(PasskeySettings, PaymentRecordSettings):
    """POST /payments/passkey/options: the payer's pending payment, read, and the challenge
    derived from it."""


class PaymentConfirmSettings(PaymentCodeSettings, PasskeySettings):
    """POST /payments/confirm: a code, or the payer's passkey signature over the payment."""


class SecondStepSettings(PasskeySettings, AccountFactorSettings):
    """The second steps a passkey may answer (/login/verify with /login/passkey/options,
    /account/reauth/verify with /account/reauth/passkey/options, /password/reset/verify): an
    SMS code, an app's code, a recovery code or a passkey's assertion."""
