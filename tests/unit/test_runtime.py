"""The composition root builds each function's adapters from its settings."""

from __future__ import annotations

import pytest

from phoneverify.adapters.telnyx.notices import TelnyxAccountNotices
from phoneverify.config import (
    CodeSettings,
    ConfigurationError,
    LogoutSettings,
    Settings,
    TokenSettings,
)
from phoneverify.domain.send_limits import SendCaps
from phoneverify.runtime import Runtime
from tests.support.settings import VALID


def test_a_function_that_sends_codes_needs_the_rate_limits_table() -> None:
    runtime = Runtime(Settings.from_env(VALID))
    with pytest.raises(ConfigurationError, match="RATE_LIMITS_TABLE"):
        _ = runtime.login_flow


def test_the_runtime_reads_the_limits_and_the_phone_policy_from_settings() -> None:
    env = {
        **VALID,
        "RATE_LIMITS_TABLE": "RateLimitsTable",
        "ALLOWED_COUNTRIES": "us,ca",
        "ALLOW_VOIP_NUMBERS": "true",
        "MAX_SENDS_PER_PHONE": "4",
        "SMS_BUDGET": "50",
        "SMS_BUDGET_SHARDS": "5",
        "MAX_ACCOUNT_FAILURES": "20",
    }
    runtime = Runtime(CodeSettings.from_env(env), dynamodb=object())  # type: ignore[arg-type]
    assert runtime.phone_policy.allowed_countries == frozenset({"US", "CA"})
    assert runtime.phone_policy.allow_voip is True
    challenges = runtime.login_flow._challenges  # the wiring itself is under test
    assert challenges._admission._guard is runtime.send_limits
    assert challenges._lock._counter is runtime.failure_counter
    assert challenges.phone_policy is runtime.phone_policy
    assert runtime.send_limits._caps == SendCaps(
        per_phone=4, per_ip=30, per_account=10, budget=50, window_secs=3_600, budget_shards=5
    )


def test_notices_are_wired_where_a_change_tells_the_owner() -> None:
    env = {
        **VALID,
        "RATE_LIMITS_TABLE": "RateLimitsTable",
        "REVOKED_TOKENS_TABLE": "RevokedTokensTable",
        "MAX_NOTICES_PER_PHONE": "3",
        "NOTICE_MAX_ATTEMPTS": "2",
        "NOTICE_SERVICE_NAME": "Acme Pay",
    }
    runtime = Runtime(LogoutSettings.from_env(env), dynamodb=object())  # type: ignore[arg-type]
    notices = runtime.notices
    assert isinstance(notices, TelnyxAccountNotices)
    # the wiring itself is under test: one adapter for the lock, the reset and logout-all
    assert runtime.login_flow._challenges._lock._notices is notices
    assert runtime.password_reset_flow._notices is notices
    assert runtime.logout_sessions._notices._build() is notices  # type: ignore[attr-defined]
    assert runtime.sessions._notices is None  # the authorizer sends nothing
    assert notices._budget is runtime.send_limits
    assert notices._policy is runtime.phone_policy
    assert (notices._service, notices._max_attempts) == ("Acme Pay", 2)
    assert runtime.send_limits._caps.notices_per_phone == 3


def test_logout_needs_the_rate_limits_table_for_its_notice() -> None:
    env = {**VALID, "REVOKED_TOKENS_TABLE": "RevokedTokensTable"}
    runtime = Runtime(TokenSettings.from_env(env))
    with pytest.raises(ConfigurationError, match="RATE_LIMITS_TABLE"):
        _ = runtime.logout_sessions
    with pytest.raises(ConfigurationError, match="RATE_LIMITS_TABLE"):
        LogoutSettings.from_env(env)


@pytest.mark.parametrize(
    "name",
    ["https://evil.example", "www.evil.example", "Acme <a>", " Acme", "Acme 123456", "x" * 31],
)
def test_a_service_name_that_could_carry_a_link_is_refused_at_cold_start(name: str) -> None:
    with pytest.raises(ConfigurationError, match="NOTICE_SERVICE_NAME"):
        Settings.from_env({**VALID, "NOTICE_SERVICE_NAME": name})
