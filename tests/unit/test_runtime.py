"""The composition root builds each function's adapters from its settings."""

from __future__ import annotations

import pytest

from phoneverify.adapters.dynamo.notices_outbox import OutboxAccountNotices
from phoneverify.config import (
    CodeSettings,
    ConfigurationError,
    GateSettings,
    LogoutSettings,
    PaymentInitiateSettings,
    PaymentSettings,
    Settings,
    TokenSettings,
)
from phoneverify.domain.send_limits import SendCaps
from phoneverify.live_status_config import (
    AccountCodeSettings,
    CancelSettings,
    PaymentCodeSettings,
    WebhookSettings,
)
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
    assert challenges._lock._counter is runtime.account_locks
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
    assert isinstance(notices, OutboxAccountNotices)
    # the wiring itself is under test: one adapter for the lock, the reset and logout-all
    assert runtime.login_flow._challenges._lock._notices is notices
    assert runtime.password_reset_flow._notices is notices
    assert runtime.logout_sessions._notices._build() is notices  # type: ignore[attr-defined]
    assert runtime.sessions._notices is None  # the authorizer sends nothing
    assert notices._outbox is runtime.notices_outbox
    # and the delivery (functions/notices_deliver) counts in the send limits' budget
    delivery = runtime.notice_delivery
    assert delivery._outbox is runtime.notices_outbox
    assert delivery._budget is runtime.send_limits
    assert delivery._phones is runtime.phone_policy
    assert (delivery._service, delivery._sender._max_attempts) == ("Acme Pay", 2)  # type: ignore[attr-defined]
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


# -- the engine's wiring, built once (runtime/engine.py) -----------------------------------------
PAYMENTS = {
    "RATE_LIMITS_TABLE": "RateLimitsTable",
    "PAYMENTS_TABLE": "PaymentsTable",
    "LEDGER_TABLE": "LedgerTable",
    "IDEMPOTENCY_TABLE": "IdempotencyTable",
}
LIVE_STATUS = {
    "CONNECTIONS_TABLE": "ConnectionsTable",
    "WEBSOCKET_MANAGEMENT_URL": "https://abc123.execute-api.us-east-1.amazonaws.com/dev",
}


def test_one_any_flow_with_the_live_status_observer_ends_every_flow_of_a_pushing_function() -> None:
    # Given /verify/cancel's function, which pushes live status
    env = {**VALID, **PAYMENTS, **LIVE_STATUS, "REVOKED_TOKENS_TABLE": "RevokedTokensTable"}
    runtime = Runtime(CancelSettings.from_env(env), dynamodb=object())  # type: ignore[arg-type]
    # Then the payment's challenges end flows through the very AnyFlow a cancel by flow id
    # uses, whose observer is the function's live status (the wiring itself is under test)
    challenges = runtime.payment_flow._challenges
    assert challenges._flows is runtime.any_flow
    assert challenges._audit is runtime.flow_audit
    assert runtime.any_flow._observer is runtime.live_status
    assert runtime.payment_status._flows is runtime.any_flow


def test_the_webhook_receiver_pushes_through_the_same_any_flow() -> None:
    env = {
        **VALID,
        **LIVE_STATUS,
        "TELNYX_PUBLIC_KEY_PARAM": "/phone-verify/dev/telnyx-public-key",
        "WEBHOOK_EVENTS_TABLE": "WebhookEventsTable",
    }
    runtime = Runtime(WebhookSettings.from_env(env), dynamodb=object())  # type: ignore[arg-type]
    assert runtime.telnyx_webhooks._flows is runtime.any_flow
    assert runtime.any_flow._observer is runtime.live_status


@pytest.mark.parametrize(
    ("settings", "env"),
    [(AccountCodeSettings, {"RATE_LIMITS_TABLE": "t"}), (PaymentCodeSettings, PAYMENTS)],
)
def test_a_code_check_or_resend_ends_a_superseded_flow_through_the_live_status(
    settings: type[Settings], env: dict[str, str]
) -> None:
    # Given a function that checks or resends a code bound to an account's phone
    runtime = Runtime(settings.from_env({**VALID, **env, **LIVE_STATUS}), dynamodb=object())  # type: ignore[arg-type]
    challenges = (
        runtime.payment_flow._challenges
        if settings is PaymentCodeSettings
        else runtime.login_flow._challenges
    )
    # Then the flow it ends as superseded is told to its watchers (the wiring under test)
    assert challenges._flows is runtime.any_flow
    assert runtime.any_flow._observer is runtime.live_status
    # and the WebSocket push is built at the first push only, not with the observer
    assert "status_push" not in vars(runtime)


def test_a_function_that_does_not_push_builds_no_observer_and_shares_one_any_flow() -> None:
    env = {**VALID, "RATE_LIMITS_TABLE": "RateLimitsTable"}
    runtime = Runtime(CodeSettings.from_env(env), dynamodb=object())  # type: ignore[arg-type]
    login, change = runtime.login_flow, runtime.phone_change_flow
    assert login._challenges._flows is change._challenges._flows is runtime.any_flow
    # the use cases audit through the one audit, not through the engine
    assert login._audit is change._audit is runtime.password_reset_flow._audit
    assert login._audit is runtime.flow_audit
    assert "live_status" not in vars(runtime)  # no observer: live status never built
    assert "watchers" not in vars(runtime)


@pytest.mark.parametrize(
    ("settings", "env", "pushes", "gates", "converts"),
    [
        (CodeSettings, {"RATE_LIMITS_TABLE": "t"}, False, False, False),
        (
            GateSettings,
            {"RATE_LIMITS_TABLE": "t", "ALTCHA_HMAC_KEY_PARAM": "/k"},
            False,
            True,
            False,
        ),
        (PaymentSettings, PAYMENTS, False, False, False),
        (PaymentInitiateSettings, {**PAYMENTS, "FX_RATES_PARAM": "/fx"}, False, False, True),
        (
            CancelSettings,
            {**PAYMENTS, **LIVE_STATUS, "REVOKED_TOKENS_TABLE": "r"},
            True,
            False,
            False,
        ),
    ],
)
def test_what_a_function_does_is_named_by_its_settings_not_guessed_from_their_class(
    settings: type[Settings], env: dict[str, str], pushes: bool, gates: bool, converts: bool
) -> None:
    runtime = Runtime(settings.from_env({**VALID, **env}), dynamodb=object())  # type: ignore[arg-type]
    capabilities = runtime.settings
    assert (capabilities.pushes_live_status, capabilities.gates_starts) == (pushes, gates)
    assert capabilities.converts_currencies is converts
    if settings is GateSettings:
        assert runtime.login_flow._pow is runtime.pow_gate
    if settings is CodeSettings:
        assert runtime.login_flow._pow is None
