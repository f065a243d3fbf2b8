"""What a local stack starts with: the SSM parameters (fresh secrets for each process, the
Telnyx settings, sample exchange rates) and the demo accounts."""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from devtools.aws_resources import load_template
from devtools.local_stack.config import StackConfig
from devtools.telnyx_emulator import TelnyxEmulator
from phoneverify.adapters.dynamo.users import DynamoUserRepository
from phoneverify.domain.models import User
from phoneverify.domain.passwords import PasswordHasher
from phoneverify.ports.conditions import ConditionFailed


@dataclass(frozen=True)
class DemoAccount:
    user_id: str
    email: str
    password: str
    phone_number: str | None
    name: str


DEMO_PASSWORD = "correct horse battery staple"  # noqa: S105 - the documented demo account
DEMO_ACCOUNTS = (
    DemoAccount("demo-user", "demo@example.com", DEMO_PASSWORD, "+14155550123", "Demo User"),
    DemoAccount("demo-no-phone", "nophone@example.com", DEMO_PASSWORD, None, "No Phone"),
)


@dataclass(frozen=True)
class _LocalSecrets:
    """Fresh for each process, and the same for every stack in it: moto keeps one SSM for
    the whole process, so a second stack must not replace the secrets the first one uses."""

    jwt_signing_secret: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    webhook_signing_seed: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    # The proof-of-work gate's HMAC key (docs/abuse-controls.md#the-proof-of-work-gate).
    altcha_hmac_key: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    # The pepper of keyed digests (domain/keyed.py): the reset's decoy numbers, audit subjects.
    hash_pepper: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    # The AES-256 key of authenticator-app secrets where no KMS key is used (docs/factors.md).
    factor_key: str = field(
        default_factory=lambda: base64.b64encode(secrets.token_bytes(32)).decode("ascii")
    )


PROCESS_SECRETS = _LocalSecrets()
# Where the local stack keeps the key of authenticator-app secrets (FACTOR_KEY_PARAM).
LOCAL_FACTOR_KEY_PARAM = "/phone-verify/local/factor-key"

# Sample exchange rates of the local stack (units of USD per unit; docs/payments.md).
LOCAL_FX_RATES = {"EUR": "1.08", "GBP": "1.27", "CHF": "1.13"}


def local_fx_rates(now: float, reference: str = "USD") -> str:
    """The local stack's rate table: the sample rates, set `now`."""
    return json.dumps(
        {"reference": reference, "rates": LOCAL_FX_RATES, "updated_at": int(now)},
        separators=(",", ":"),
    )


def _parameter_defaults() -> dict[str, str]:
    params = load_template().get("Parameters", {})
    return {name: str(spec.get("Default", "")) for name, spec in params.items()}


def put_parameters(ssm: Any, cfg: StackConfig, emulator: TelnyxEmulator | None) -> None:
    """The SSM parameters the template names, for the real Telnyx API or the emulator."""
    names = _parameter_defaults()
    if cfg.real_telnyx:
        api_key, profile_id = cfg.telnyx_api_key or "", cfg.telnyx_profile_id or ""
        public_key = cfg.telnyx_public_key or "not-configured"
        messaging_sender = cfg.telnyx_messaging_sender or "not-configured"
    else:
        assert emulator is not None
        api_key, profile_id = emulator.config.api_key, emulator.config.profile_id
        public_key = emulator.public_key_b64
        messaging_sender = emulator.config.messaging_from
    values = {
        "TelnyxApiKeyParameterName": ("SecureString", api_key),
        "TelnyxVerifyProfileIdParameterName": ("String", profile_id),
        "TelnyxMessagingSenderParameterName": ("String", messaging_sender),
        "JwtSigningSecretParameterName": ("SecureString", PROCESS_SECRETS.jwt_signing_secret),
        "TelnyxPublicKeyParameterName": ("String", public_key),
        "AltchaHmacKeyParameterName": ("SecureString", PROCESS_SECRETS.altcha_hmac_key),
        "HashPepperParameterName": ("SecureString", PROCESS_SECRETS.hash_pepper),
    }
    for param, (kind, value) in values.items():
        ssm.put_parameter(Name=names[param], Value=value, Type=kind, Overwrite=True)
    # Not a template parameter: in AWS the app secrets' key is the template's KMS key.
    ssm.put_parameter(
        Name=LOCAL_FACTOR_KEY_PARAM,
        Value=PROCESS_SECRETS.factor_key,
        Type="SecureString",
        Overwrite=True,
    )
    # The exchange rates the template's FxRatesParameter holds, with sample rates so that
    # `make run` pays in EUR, GBP and CHF below the threshold; `make admin ARGS="rates
    # set KYD 1.20"` adds one. Written only when absent: an operator's change outlives a
    # restart on an external moto.
    with contextlib.suppress(ssm.exceptions.ParameterAlreadyExists):
        ssm.put_parameter(
            Name=names["FxRatesParameterName"],
            Value=local_fx_rates(time.time()),
            Type="String",
        )


def seed_accounts(dynamodb: Any) -> None:
    """The demo accounts (README), unless an external DynamoDB already has them."""
    users = DynamoUserRepository(dynamodb, "UsersTable")
    hasher = PasswordHasher(cost=12)
    for account in DEMO_ACCOUNTS:
        user = User(
            user_id=account.user_id,
            email=account.email,
            password_hash=hasher.hash(account.password),
            phone_number=account.phone_number,
            name=account.name,
            email_proven_at=0,  # proven, as every account made since sign-up proves the email
            created_at=time.time(),  # GET /account says when, as for an account signed up
        )
        # Already seeded when an external DynamoDB outlived a previous run.
        with contextlib.suppress(ConditionFailed):
            users.put_user(user, phone_verified_at=0 if account.phone_number else None)
