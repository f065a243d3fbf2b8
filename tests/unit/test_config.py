"""Function configuration is validated at cold start, naming what is wrong."""

from __future__ import annotations

import pytest

from phoneverify.config import (
    CodeSettings,
    ConfigurationError,
    PaymentSettings,
    Settings,
    TokenSettings,
)
from phoneverify.live_status_config import CancelSettings, LiveStatusSettings, WebhookSettings
from tests.support.settings import VALID


def test_valid_environment_is_read_with_documented_defaults() -> None:
    settings = Settings.from_env(VALID)
    assert settings.telnyx_api_base_url == "https://api.telnyx.com"
    assert settings.verify_code_length == 6
    assert settings.max_code_attempts == 5
    assert settings.login_timeout_secs == 300


@pytest.mark.parametrize("name", ["USERS_TABLE", "JWT_SIGNING_SECRET_PARAM", "VERIFY_CODE_LENGTH"])
def test_missing_or_empty_required_setting_names_the_variable(name: str) -> None:
    for env in ({k: v for k, v in VALID.items() if k != name}, {**VALID, name: ""}):
        with pytest.raises(ConfigurationError, match=name):
            Settings.from_env(env)


def test_out_of_range_values_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="VERIFY_CODE_LENGTH"):
        Settings.from_env({**VALID, "VERIFY_CODE_LENGTH": "3"})
    with pytest.raises(ConfigurationError, match="TELNYX_API_KEY_PARAM"):
        Settings.from_env({**VALID, "TELNYX_API_KEY_PARAM": "no-leading-slash"})


@pytest.mark.parametrize(
    ("name", "refused", "highest"),
    [
        ("VERIFY_CODE_LENGTH", "4", "10"),
        ("VERIFY_CODE_LENGTH", "5", "6"),
        ("LOGIN_TIMEOUT_SECS", "601", "600"),
        ("REGISTRATION_TIMEOUT_SECS", "3600", "600"),
        ("PAYMENT_TIMEOUT_SECS", "301", "300"),
        # issue 18: weak values a deploy could still set
        ("MAX_CODE_ATTEMPTS", "11", "1"),
        ("MAX_CODE_ATTEMPTS", "20", "10"),
        ("MAX_ACCOUNT_FAILURES", "101", "100"),
        ("MAX_ACCOUNT_FAILURES", "10000", "1"),
        ("BCRYPT_COST", "4", "10"),
        ("BCRYPT_COST", "9", "16"),
    ],
)
def test_short_codes_and_long_lifetimes_are_refused_at_cold_start(
    name: str, refused: str, highest: str
) -> None:
    # Given a deploy that sets a weaker value than production allows
    # When the function starts, Then it refuses, naming the variable
    with pytest.raises(ConfigurationError, match=name):
        Settings.from_env({**VALID, name: refused})
    # while the strictest bound still starts
    Settings.from_env({**VALID, name: highest})


@pytest.mark.parametrize(
    "origin",
    [
        "*",
        "https://*.example.com",
        "null",
        "http://app.example.com",  # cleartext: anyone on the path can be the frontend
        "http://localhost.evil.example",
        "https://app.example.com/",
        "https://app.example.com/path",
        "app.example.com",
        "https://app.example.com, https://other.example",
    ],
)
def test_an_origin_that_is_not_one_secure_origin_is_refused_at_cold_start(origin: str) -> None:
    with pytest.raises(ConfigurationError, match="ALLOWED_ORIGIN"):
        Settings.from_env({**VALID, "ALLOWED_ORIGIN": origin})


@pytest.mark.parametrize(
    "origin",
    [
        "https://app.example.com",
        "https://app.example.com:8443",
        "http://localhost:5173",
        "http://127.0.0.1:3000",
        "http://localhost",
    ],
)
def test_https_origins_and_a_developer_s_own_machine_start(origin: str) -> None:
    assert Settings.from_env({**VALID, "ALLOWED_ORIGIN": origin}).allowed_origin == origin


@pytest.mark.parametrize(
    ("settings_type", "missing"),
    [
        (CodeSettings, "RATE_LIMITS_TABLE"),
        (TokenSettings, "REVOKED_TOKENS_TABLE"),
        (PaymentSettings, "LEDGER_TABLE"),
        (CancelSettings, "REVOKED_TOKENS_TABLE"),
        (WebhookSettings, "TELNYX_PUBLIC_KEY_PARAM"),
        (WebhookSettings, "CONNECTIONS_TABLE"),
        (LiveStatusSettings, "WEBSOCKET_MANAGEMENT_URL"),
    ],
)
def test_a_function_without_a_setting_its_type_requires_fails_the_cold_start(
    settings_type: type[Settings], missing: str
) -> None:
    # Given every variable a function of this type reads but one
    complete = {
        **VALID,
        "RATE_LIMITS_TABLE": "RateLimitsTable",
        "REVOKED_TOKENS_TABLE": "RevokedTokensTable",
        "PAYMENTS_TABLE": "PaymentsTable",
        "LEDGER_TABLE": "LedgerTable",
        "IDEMPOTENCY_TABLE": "IdempotencyTable",
        "TELNYX_PUBLIC_KEY_PARAM": "/phone-verify/dev/telnyx-webhook-public-key",
        "WEBHOOK_EVENTS_TABLE": "WebhookEventsTable",
        "CONNECTIONS_TABLE": "ConnectionsTable",
        "WEBSOCKET_MANAGEMENT_URL": "https://abc123.execute-api.us-east-1.amazonaws.com/dev",
    }
    assert settings_type.from_env(complete)
    # When it is missing, or empty, then the cold start fails naming it
    for env in ({k: v for k, v in complete.items() if k != missing}, {**complete, missing: ""}):
        with pytest.raises(ConfigurationError, match=missing):
            settings_type.from_env(env)
