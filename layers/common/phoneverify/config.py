"""Function configuration, read from the environment once at cold start.

Required settings have no defaults: a missing or empty variable fails the cold start with a
message naming it. Tunables (timeouts, caps) have documented defaults (docs/configuration.md).

`Settings` is what every function needs; a function that needs more reads a type below it
(`CodeSettings`, `PaymentSettings`, ...), whose extra fields are required and validated once,
at cold start (`Runtime.from_environment(<type>)`). What it does beyond them (push live
status, gate starts, convert currencies) is a class variable of its type (runtime/ reads it).
The types of the functions that push live status are in live_status_config.py.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, ClassVar, Literal, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    Json,
    ValidationError,
    field_validator,
    model_validator,
)

from phoneverify.domain.errors import InvalidRequest
from phoneverify.domain.money import parse_decimal, parse_money
from phoneverify.domain.regions import (
    DEFAULT_ALLOWED_COUNTRIES,
    DEFAULT_CALL_COUNTRIES,
    KNOWN_REGIONS,
)

NonEmpty = Annotated[str, Field(min_length=1)]
# One origin a browser sends: https, or http on the developer's own machine only. Never
# "null" (what sandboxed iframes and file:// pages send: allowing it lets any of them call
# the API with the user's browser).
_HTTPS_ORIGIN = r"https://[A-Za-z0-9.-]+(:[0-9]{1,5})?"
_PORT = r"(:[0-9]{1,5})?"
SECURE_ORIGIN = re.compile(rf"{_HTTPS_ORIGIN}|http://(localhost|127\.0\.0\.1){_PORT}")
# The origins a local stack adds (EXTRA_ALLOWED_ORIGINS, devtools/local_stack/origins.py): the
# same, with http on any loopback address (a dev server on 127.0.0.2, say).
DEV_ORIGIN = re.compile(
    rf"{_HTTPS_ORIGIN}|http://(localhost|127\.[0-9]{{1,3}}\.[0-9]{{1,3}}\.[0-9]{{1,3}}){_PORT}"
)
SsmName = Annotated[str, Field(pattern=r"^/[A-Za-z0-9_./-]+$")]


class ConfigurationError(RuntimeError):
    """The function's environment is incomplete or invalid."""


class Settings(BaseModel):
    # defer_build: a function validates one settings type; the schemas of the others (each
    # repeats these 80 fields) are never built at its cold start.
    model_config = ConfigDict(
        frozen=True, extra="ignore", alias_generator=str.upper, defer_build=True
    )
    pushes_live_status: ClassVar[bool] = False
    gates_starts: ClassVar[bool] = False
    converts_currencies: ClassVar[bool] = False

    users_table: NonEmpty
    verifications_table: NonEmpty
    audit_table: NonEmpty
    telnyx_api_base_url: Annotated[str, Field(pattern=r"^https?://[^\s/]+(:\d+)?(/[^\s]*)?$")]
    telnyx_api_key_param: SsmName
    telnyx_verify_profile_id_param: SsmName
    # The sender of notices (docs/phone-lifecycle.md#notices): a number of ours (+E.164) or a
    # messaging profile id, held in SSM like the verify profile id.
    telnyx_messaging_sender_param: SsmName
    jwt_signing_secret_param: SsmName
    # The pepper of keyed digests (domain/keyed.py): a SecureString of at least 32 random
    # bytes (docs/deploy.md). Read where a digest is made: the password reset's decoy numbers
    # and proven codes, and audit subjects that name a person (docs/audit-log.md).
    hash_pepper_param: SsmName
    jwt_issuer: NonEmpty
    jwt_audience: NonEmpty
    access_token_ttl_seconds: Annotated[int, Field(ge=60, le=86_400)]
    # A reauth token's life (docs/sessions.md#fresh-authentication): minutes, never a session.
    reauth_token_ttl_seconds: Annotated[int, Field(ge=60, le=900)] = 300
    # At least 6 digits: one guess in a million per attempt (NIST SP 800-63B, 5.1.3.2).
    verify_code_length: Annotated[int, Field(ge=6, le=10)]
    # One origin; "*" is refused (`_one_origin`): a deploy names its frontend.
    allowed_origin: NonEmpty
    # More origins the functions' CORS allows, comma-separated: the local stack's ALLOWED_ORIGIN
    # list (a frontend's own dev server). The template sets none: a deploy has one origin.
    extra_allowed_origins: tuple[str, ...] = ()

    # Tunables with safe defaults.
    # Code lifetimes: at most 10 minutes (5 for payments), the window a stolen or guessed
    # code is worth anything in.
    login_timeout_secs: Annotated[int, Field(ge=60, le=600)] = 300
    # At most 10 guesses of a 6-digit code per flow: 1 in 100,000 (docs/configuration.md).
    max_code_attempts: Annotated[int, Field(ge=1, le=10)] = 5
    resend_cooldown_secs: Annotated[int, Field(ge=0, le=3_600)] = 30
    max_sends_per_flow: Annotated[int, Field(ge=1, le=20)] = 5
    send_window_secs: Annotated[int, Field(ge=60, le=86_400)] = 3_600
    flow_retention_secs: Annotated[int, Field(ge=0, le=7 * 86_400)] = 86_400
    telnyx_timeout_secs: Annotated[float, Field(gt=0, le=30)] = 5.0
    secrets_max_age_secs: Annotated[int, Field(ge=0, le=3_600)] = 300
    # At least 10 (OWASP's floor for bcrypt), everywhere: tests and the local stack too, no
    # switch a deploy could set (docs/configuration.md).
    bcrypt_cost: Annotated[int, Field(ge=10, le=16)] = 12
    registration_timeout_secs: Annotated[int, Field(ge=60, le=600)] = 600
    default_phone_region: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] = "US"
    audit_retention_days: Annotated[int, Field(ge=1, le=3_650)] = 365
    payment_timeout_secs: Annotated[int, Field(ge=60, le=300)] = 300
    # JSON object, currency -> amount string; merged over money.BUILTIN_THRESHOLDS.
    payment_thresholds: Json[dict[str, str]] = Field(default_factory=dict)
    payment_default_threshold: str = "100.00"
    # PSD2 RTS Art. 16 (docs/payments.md): JSON object naming at most the reference currency
    # (PaymentInitiateSettings) -> amount string; by default its threshold. And how many
    # payments in a row may go without a code.
    payment_cumulative_limits: Json[dict[str, str]] = Field(default_factory=dict)
    payment_max_exempt_payments: Annotated[int, Field(ge=1, le=1_000)] = 5
    idempotency_ttl_secs: Annotated[int, Field(ge=60, le=7 * 86_400)] = 86_400
    webhook_event_retention_secs: Annotated[int, Field(ge=3_600, le=30 * 86_400)] = 3 * 86_400

    # Abuse controls (docs/abuse-controls.md); their table is CodeSettings.rate_limits_table.
    send_limit_window_secs: Annotated[int, Field(ge=60, le=86_400)] = 3_600
    max_sends_per_phone: Annotated[int, Field(ge=1, le=1_000_000)] = 10
    max_sends_per_ip: Annotated[int, Field(ge=1, le=1_000_000)] = 30
    max_sends_per_account: Annotated[int, Field(ge=1, le=1_000_000)] = 10
    sms_budget: Annotated[int, Field(ge=1, le=10_000_000)] = 1_000
    # Items the budget is counted in (docs/abuse-controls.md#the-sms-budget-a-circuit-breaker).
    sms_budget_shards: Annotated[int, Field(ge=1, le=1_000)] = 10
    # NIST SP 800-63B 5.2.2: no more than 100 consecutive failures per account.
    max_account_failures: Annotated[int, Field(ge=1, le=100)] = 100
    account_lockout_secs: Annotated[int, Field(ge=60, le=365 * 86_400)] = 30 * 86_400
    # Password throttling (docs/abuse-controls.md#password-throttling), on RATE_LIMITS_TABLE.
    password_free_failures: Annotated[int, Field(ge=1, le=100)] = 5
    password_throttle_base_secs: Annotated[int, Field(ge=1, le=3_600)] = 30
    # Minutes, not days: wrong passwords alone never lock an account.
    password_throttle_max_secs: Annotated[int, Field(ge=1, le=3_600)] = 900
    password_failure_memory_secs: Annotated[int, Field(ge=3_600, le=30 * 86_400)] = 86_400
    max_password_failures_per_ip: Annotated[int, Field(ge=1, le=1_000_000)] = 100
    password_ip_window_secs: Annotated[int, Field(ge=60, le=86_400)] = 3_600
    password_reset_timeout_secs: Annotated[int, Field(ge=60, le=600)] = 600
    phone_change_timeout_secs: Annotated[int, Field(ge=60, le=600)] = 300
    # Comma-separated ISO 3166 alpha-2 codes ("US,CA,GB").
    allowed_countries: tuple[str, ...] = tuple(sorted(DEFAULT_ALLOWED_COUNTRIES))
    allow_voip_numbers: bool = False
    # Notices (docs/notices.md): the service's name in their text (letters, spaces, ' and -:
    # no digit that could pass for a code, no dot for a link), notices per number per window,
    # tries while Telnyx cannot answer, each try's timeout, and how long one may stay pending.
    notice_service_name: Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z '-]{0,29}$")] = (
        "Phone Verify"
    )
    max_notices_per_phone: Annotated[int, Field(ge=1, le=1_000)] = 5
    notice_max_attempts: Annotated[int, Field(ge=1, le=5)] = 3
    notice_timeout_secs: Annotated[float, Field(gt=0, le=5)] = 2.0
    notice_give_up_after_secs: Annotated[int, Field(ge=600, le=7 * 86_400)] = 86_400
    # Channels (docs/channels.md). Calls: ISO 3166 alpha-2 codes a code may be called to
    # (also inside ALLOWED_COUNTRIES), and calls per phone and service-wide per send window.
    call_allowed_countries: tuple[str, ...] = tuple(sorted(DEFAULT_CALL_COUNTRIES))
    max_calls_per_phone: Annotated[int, Field(ge=1, le=1_000)] = 3
    call_budget: Annotated[int, Field(ge=1, le=1_000_000)] = 100
    # Tiers (docs/abuse-controls.md#tiers): each tier's share of SMS_BUDGET (and CALL_BUDGET),
    # in percent, adding up to 100; the verified tier's last share kept from notices for codes.
    sms_share_verified_percent: Annotated[int, Field(ge=1, le=98)] = 50
    sms_share_reset_percent: Annotated[int, Field(ge=1, le=98)] = 10
    sms_share_unproven_percent: Annotated[int, Field(ge=1, le=98)] = 40
    notice_reserve_percent: Annotated[int, Field(ge=0, le=50)] = 10
    # The fraud guard (docs/abuse-controls.md#the-fraud-guard): the prefix is the number
    # without its last PREFIX_DIGITS_DROPPED digits; a prefix with PREFIX_MIN_CODES codes in a
    # PREFIX_WINDOW_SECS window and under PREFIX_MIN_CONVERSION_PERCENT entered is held for
    # PREFIX_HOLD_SECS; a country once COUNTRY_HOLD_MIN_PREFIXES of its prefixes were held in
    # one window. Operators' lists are read at most every FRAUD_RULES_MAX_AGE_SECS.
    prefix_digits_dropped: Annotated[int, Field(ge=2, le=6)] = 4
    prefix_min_codes: Annotated[int, Field(ge=3, le=10_000)] = 8
    prefix_min_conversion_percent: Annotated[int, Field(ge=1, le=90)] = 20
    prefix_window_secs: Annotated[int, Field(ge=600, le=86_400)] = 3_600
    prefix_hold_secs: Annotated[int, Field(ge=600, le=7 * 86_400)] = 6 * 3_600
    country_hold_min_prefixes: Annotated[int, Field(ge=2, le=10_000)] = 5
    fraud_rules_max_age_secs: Annotated[int, Field(ge=0, le=600)] = 60
    # With the proof-of-work gate on, a source past this share of its hourly cap is asked for
    # a solved challenge before its next code.
    challenge_risk_percent: Annotated[int, Field(ge=10, le=100)] = 50
    # WhatsApp needs a Verify profile with WhatsApp set up: off until a deploy says so.
    whatsapp_enabled: bool = False
    # After the SMS of a code failed (verify.failed), a resend that names no channel calls.
    sms_fallback_to_call: bool = False

    # -- the proof-of-work gate (docs/abuse-controls.md#the-proof-of-work-gate) -------------
    # off | always | risky (a solved challenge only while the source looks risky). Every
    # function reads the mode; the ones that check solutions read GateSettings too.
    challenge_mode: Literal["off", "always", "risky"] = "risky"
    # The largest number a challenge hides: a browser tries half as many SHA-256 hashes on
    # average (50,000: 25,000 hashes, about 0.15 s on a desktop, under a second on a slow
    # phone; docs/abuse-controls.md#the-proof-of-work-gate).
    challenge_max_number: Annotated[int, Field(ge=1_000, le=100_000_000)] = 50_000
    # How long an issued challenge may be solved and sent (its salt carries the expiry).
    challenge_expires_secs: Annotated[int, Field(ge=30, le=3_600)] = 300

    @model_validator(mode="after")
    def _shares_add_up(self) -> Self:
        shares = (
            self.sms_share_verified_percent,
            self.sms_share_reset_percent,
            self.sms_share_unproven_percent,
        )
        if sum(shares) != 100:
            raise ValueError(
                "SMS_SHARE_VERIFIED_PERCENT, SMS_SHARE_RESET_PERCENT and "
                f"SMS_SHARE_UNPROVEN_PERCENT must add up to 100, not {sum(shares)}"
            )
        return self

    @field_validator("telnyx_api_base_url")
    @classmethod
    def _strip_trailing_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("allowed_origin")
    @classmethod
    def _one_origin(cls, value: str) -> str:
        if "*" in value:
            raise ValueError('name the frontend\'s origin (https://host[:port]), not "*"')
        if not SECURE_ORIGIN.fullmatch(value):
            raise ValueError(
                "name the frontend's origin, https://host[:port] (http only for localhost "
                'or 127.0.0.1), without a path; never "null"'
            )
        return value

    @field_validator("extra_allowed_origins", mode="before")
    @classmethod
    def _dev_origins(cls, value: object) -> object:
        listed = value.split(",") if isinstance(value, str) else value
        if not isinstance(listed, (list, tuple)):
            return value  # pydantic refuses it: not a tuple
        origins = tuple(str(o).strip() for o in listed if str(o).strip())
        refused = [o for o in origins if not DEV_ORIGIN.fullmatch(o)]
        if refused:
            raise ValueError(
                f"{', '.join(refused)}: not https://host[:port] (http for localhost or"
                ' 127.x only), without a path; never "*" or "null"'
            )
        return origins

    @property
    def cors_origins(self) -> tuple[str, ...]:  # every origin a page may call from
        return (self.allowed_origin, *self.extra_allowed_origins)

    @field_validator("allowed_countries", "call_allowed_countries", mode="before")
    @classmethod
    def _split_countries(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(part.strip().upper() for part in value.split(",") if part.strip())
        return value

    @field_validator("allowed_countries", "call_allowed_countries")
    @classmethod
    def _two_letter_countries(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:
            raise ValueError("name at least one country")
        malformed = [c for c in value if not (len(c) == 2 and c.isascii() and c.isalpha())]
        if malformed:
            raise ValueError(f"{', '.join(malformed)}: not ISO 3166 alpha-2 codes")
        return value

    @field_validator("payment_thresholds", "payment_cumulative_limits")
    @classmethod
    def _valid_thresholds(cls, value: dict[str, str]) -> dict[str, str]:
        for currency, amount in value.items():
            try:
                parse_money(amount, currency)
            except InvalidRequest as exc:
                raise ValueError(f"{currency}: {exc.message}") from None
        return value

    @field_validator("payment_default_threshold")
    @classmethod
    def _valid_default_threshold(cls, value: str) -> str:
        try:
            parse_decimal(value, "threshold")
        except InvalidRequest as exc:
            raise ValueError(exc.message) from None
        return value

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Self:
        """Validate `environ`; an empty string counts as missing."""
        values = {name: value for name, value in environ.items() if value != ""}
        try:
            return cls.model_validate(values)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in exc.errors()
            )
            raise ConfigurationError(f"invalid function environment: {problems}") from None


class CodeSettings(Settings):
    """Functions that send or check codes: the abuse controls' table (send limits, the SMS
    budget, wrong codes per account, password throttling). They alone read phone numbers, so
    they alone check ALLOWED_COUNTRIES and DEFAULT_PHONE_REGION against the regions
    phonenumbers knows (domain/regions.py, so that no cold start loads it: docs/performance.md)."""

    rate_limits_table: NonEmpty
    notices_outbox_table: NonEmpty  # where notices wait until delivered (docs/notices.md)

    @model_validator(mode="after")
    def _known_regions(self) -> Self:
        known = KNOWN_REGIONS
        if self.default_phone_region not in known:
            raise ValueError(
                f"DEFAULT_PHONE_REGION: {self.default_phone_region} is not a region "
                "phonenumbers knows"
            )
        unknown = [
            code
            for code in (*self.allowed_countries, *self.call_allowed_countries)
            if code not in known
        ]
        if unknown:
            raise ValueError(
                f"ALLOWED_COUNTRIES, CALL_ALLOWED_COUNTRIES: {', '.join(unknown)}: not ISO "
                "3166 alpha-2 regions phonenumbers knows"
            )
        return self


class GateSettings(CodeSettings):
    """Functions that issue or check proofs of work (GET /challenge, the sign-up and the
    password reset starts): the SSM SecureString holding the challenges' HMAC key. Solutions
    are spent in RATE_LIMITS_TABLE (CodeSettings)."""

    gates_starts: ClassVar[bool] = True
    altcha_hmac_key_param: SsmName


class TokenSettings(Settings):
    """Functions that check or end bearer tokens (the authorizer, /logout): the table of
    ended tokens."""

    revoked_tokens_table: NonEmpty


class LogoutSettings(TokenSettings, CodeSettings):
    """/logout: ending tokens, and (a logout of every session) a notice, which counts in the
    SMS budget on RATE_LIMITS_TABLE."""


class PaymentRecordSettings(Settings):
    """Functions that read payments: the payments table."""

    payments_table: NonEmpty
    # How long a payment and its ledger entry are kept (TTL; docs/privacy.md): the operator's.
    payment_retention_days: Annotated[int, Field(ge=365, le=7_300)] = 3_650


class PaymentSettings(CodeSettings, PaymentRecordSettings):
    """The payment functions."""

    ledger_table: NonEmpty
    idempotency_table: NonEmpty


class PaymentInitiateSettings(PaymentSettings):
    """POST /payments/initiate: the cumulative limit of payments without a code is one sum in
    the reference currency, converted with the operators' rate table (an SSM String
    parameter; docs/payments.md#one-cumulative-limit-across-currencies)."""

    converts_currencies: ClassVar[bool] = True
    fx_rates_param: SsmName
    # ISO 4217; the cumulative limit (PAYMENT_CUMULATIVE_LIMITS, or this currency's threshold)
    # is stated in it, and the rate table must be to it.
    payment_reference_currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "USD"
    # Rates last set longer ago than this still count, and FxRatesStale warns.
    fx_rates_max_age_days: Annotated[int, Field(ge=1, le=90)] = 7

    @model_validator(mode="after")
    def _one_cumulative_limit(self) -> Self:
        from phoneverify.domain.money import ExemptionLimits, Thresholds

        try:
            thresholds = Thresholds.from_config(
                self.payment_thresholds, self.payment_default_threshold
            )
            ExemptionLimits.from_config(
                self.payment_cumulative_limits,
                self.payment_max_exempt_payments,
                reference=self.payment_reference_currency,
                thresholds=thresholds,
            )
        except InvalidRequest as exc:
            raise ValueError(exc.message) from None
        return self


class StatusSettings(PaymentRecordSettings, TokenSettings):
    """/verify/status: any flow by its id, or a payment's with the payer's bearer token. It
    reads the payment and its flow, and sends and writes nothing."""
