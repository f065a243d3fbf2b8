"""The composition root builds each function's adapters from its settings."""

from __future__ import annotations

import pytest

from phoneverify.config import CodeSettings, ConfigurationError, Settings
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
    assert challenges._guard is runtime.send_limits
    assert challenges._failures is runtime.failure_counter
    assert challenges.phone_policy is runtime.phone_policy
    assert runtime.send_limits._caps == SendCaps(
        per_phone=4, per_ip=30, per_account=10, budget=50, window_secs=3_600, budget_shards=5
    )
