"""The settings of the lost phone's functions (docs/phone-lifecycle.md#a-lost-phone,
docs/configuration.md): the swap's wait and grace window, over the email channel's
(email_config.py). A module of its own: config.py is full."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from phoneverify.email_config import EmailSettings
from phoneverify.live_status_config import AccountCodeSettings

THREE_DAYS = 3 * 86_400


class PhoneSwapSettings(EmailSettings):
    """What every function of the lost phone needs: the email channel and the swap's wait.
    The signed-in routes that only read or cancel a waiting swap (/account/phone/pending)
    check no code, so they end no flow and push no live status."""

    # How long the new number waits before it may bind (LOST_PHONE_WAIT_SECS): the owner's
    # time to cancel. At least a minute (the local stack's tests); 72 h by default.
    lost_phone_wait_secs: Annotated[int, Field(ge=60, le=30 * 86_400)] = THREE_DAYS
    # After the wait, how long whoever holds the flow may still complete it.
    lost_phone_grace_secs: Annotated[int, Field(ge=3_600, le=30 * 86_400)] = 7 * 86_400
    # The email code's lifetime.
    lost_phone_email_timeout_secs: Annotated[int, Field(ge=60, le=3_600)] = 900


class LostPhoneSettings(PhoneSwapSettings, AccountCodeSettings):
    """The lost phone's routes: they send and check codes bound to the account's phone (the
    email's, the new number's: a phone change since ends them, and tells their watchers)."""
