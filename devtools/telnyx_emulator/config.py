"""Settings of one emulator instance."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

DEFAULT_API_KEY = "KEY_LOCAL"
DEFAULT_PROFILE_ID = "49000000-0000-4000-8000-000000000001"
DEFAULT_SMS_TEMPLATE = "Your verification code is {code}."
# The Messaging API's sender: the one number of ours (`from`) and the one messaging profile
# (`messaging_profile_id`) that exist. +1 555-01XX numbers are reserved for fiction.
DEFAULT_MESSAGING_FROM = "+15550100001"
DEFAULT_MESSAGING_PROFILE_ID = "40000000-0000-4000-8000-000000000002"


@dataclass(frozen=True)
class EmulatorConfig:
    """How the emulator listens, authenticates, generates codes and sends webhooks.

    `clock` returns unix seconds and drives created_at/updated_at, expiry and event
    times; tests inject a fake one to move time. Webhook signature timestamps always
    use the real time, because receivers compare them with their own clock.
    """

    host: str = "127.0.0.1"
    port: int = 4010
    api_key: str = DEFAULT_API_KEY
    profile_id: str = DEFAULT_PROFILE_ID
    code_length: int = 6
    timeout_secs: int = 300
    webhook_url: str | None = None
    signing_key_file: str | None = None
    signing_key_seed: bytes | None = None
    clock: Callable[[], float] = field(default=time.time)
    webhook_timeout_secs: float = 5.0
    webhook_max_attempts: int = 3
    webhook_retry_delay_secs: float = 1.0
    webhook_event_gap_secs: float = 0.0
    sms_template: str = DEFAULT_SMS_TEMPLATE
    log_requests: bool = True
    messaging_from: str = DEFAULT_MESSAGING_FROM
    messaging_profile_id: str = DEFAULT_MESSAGING_PROFILE_ID

    def __post_init__(self) -> None:
        if not self.api_key:
            raise ValueError("api_key must not be empty")
        if not 1 <= self.code_length <= 18:
            raise ValueError("code_length must be between 1 and 18")
        if self.timeout_secs < 1:
            raise ValueError("timeout_secs must be at least 1")
        if not 0 <= self.port <= 65535:
            raise ValueError("port must be between 0 and 65535")
        if self.webhook_max_attempts < 1:
            raise ValueError("webhook_max_attempts must be at least 1")
        if self.webhook_url is not None and not self.webhook_url.startswith(
            ("http://", "https://")
        ):
            raise ValueError("webhook_url must be an http(s) URL")
        if self.signing_key_seed is not None and len(self.signing_key_seed) != 32:
            raise ValueError("signing_key_seed must be 32 bytes")
        if "{code}" not in self.sms_template:
            raise ValueError("sms_template must contain {code}")
