"""Function configuration, read from the environment once at cold start.

Required settings have no defaults: a missing or empty variable fails the cold start with a
message naming it. Tunables (timeouts, caps) have documented defaults (docs/configuration.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

NonEmpty = Annotated[str, Field(min_length=1)]
SsmName = Annotated[str, Field(pattern=r"^/[A-Za-z0-9_./-]+$")]


class ConfigurationError(RuntimeError):
    """The function's environment is incomplete or invalid."""


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", alias_generator=str.upper)

    users_table: NonEmpty
    verifications_table: NonEmpty
    audit_table: NonEmpty
    telnyx_api_base_url: Annotated[str, Field(pattern=r"^https?://[^\s/]+(:\d+)?(/[^\s]*)?$")]
    telnyx_api_key_param: SsmName
    telnyx_verify_profile_id_param: SsmName
    jwt_signing_secret_param: SsmName
    jwt_issuer: NonEmpty
    jwt_audience: NonEmpty
    access_token_ttl_seconds: Annotated[int, Field(ge=60, le=86_400)]
    verify_code_length: Annotated[int, Field(ge=4, le=10)]
    allowed_origin: NonEmpty

    # Tunables with safe defaults.
    login_timeout_secs: Annotated[int, Field(ge=60, le=3_600)] = 300
    max_code_attempts: Annotated[int, Field(ge=1, le=20)] = 5
    resend_cooldown_secs: Annotated[int, Field(ge=0, le=3_600)] = 30
    max_sends_per_flow: Annotated[int, Field(ge=1, le=20)] = 5
    send_window_secs: Annotated[int, Field(ge=60, le=86_400)] = 3_600
    flow_retention_secs: Annotated[int, Field(ge=0, le=7 * 86_400)] = 86_400
    telnyx_timeout_secs: Annotated[float, Field(gt=0, le=30)] = 5.0
    secrets_max_age_secs: Annotated[int, Field(ge=0, le=3_600)] = 300
    bcrypt_cost: Annotated[int, Field(ge=4, le=16)] = 12
    audit_retention_days: Annotated[int, Field(ge=1, le=3_650)] = 365

    @field_validator("telnyx_api_base_url")
    @classmethod
    def _strip_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Validate `environ`; an empty string counts as missing."""
        values = {name: value for name, value in environ.items() if value != ""}
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
            )
            raise ConfigurationError(f"invalid function environment: {problems}") from None
