"""Abuse rules for email (docs/email.md#the-email-channel-cannot-be-a-weapon): what one email
counts in before it goes out, whatever it carries (a sign-up code, an email change's code, a
lost phone's code, the "someone tried" notice), and the answer when a cap is full.

- per address and per source address (IPv6 by /64), per window: so nobody can fill an inbox
  or make the service mail a list of addresses from one place;
- the service's email budget per window, its circuit breaker: when it is spent every email
  is refused (503 `email_budget_exhausted`, the metric EMAIL_BUDGET_EXHAUSTED and its alarm)
  until the window ends, so a campaign can cost at most one budget an hour;
- an address SES reported as bouncing or complaining is suppressed for good: no email to it
  is even tried (400 `email_undeliverable`, naming the field);
- the "someone tried to use your address" notice goes at most once per address per day.

Keys never hold an address: `address_key` is a keyed digest under the pepper (domain/keyed.py),
so whoever reads RateLimitsTable cannot test a list of addresses against it."""

from __future__ import annotations

import math
from dataclasses import dataclass

from phoneverify.domain.errors import (
    EmailBudgetExhausted,
    SendLimitReached,
)
from phoneverify.domain.keyed import digest, keyed_digest
from phoneverify.domain.models import RequestOrigin
from phoneverify.domain.send_limits import address_block, window_start

EMAIL_ADDRESS = "email_address"
EMAIL_IP = "email_ip"
EMAIL_BUDGET = "email_budget"
DAY_SECS = 86_400
# Metric names (count metrics, as the SMS ones).
METRIC_EMAIL_ADMITTED = "EmailsAdmitted"
METRIC_EMAIL_BUDGET_EXHAUSTED = "EmailBudgetExhausted"
METRIC_EMAIL_REFUSED = "EmailRefused_{layer}"
METRIC_EMAIL_SUPPRESSED = "EmailSuppressed"


@dataclass(frozen=True)
class EmailCaps:
    """Emails allowed per window: to one address, from one source, and the whole service's."""

    per_address: int = 5
    per_ip: int = 20
    budget: int = 1_000
    window_secs: int = 3_600


def address_key(pepper: bytes, address: str) -> str:
    """What stands in for a (normalised) address in every email key."""
    return keyed_digest(pepper, f"email-address:{address}")


def email_counters(
    caps: EmailCaps, address: str, origin: RequestOrigin, now: float
) -> list[tuple[str, str, int]]:
    """(layer, key, cap) of every counter one email counts in, in transaction order;
    `address` is the address's `address_key`."""
    window = window_start(now, caps.window_secs)
    source = digest(address_block(origin.source_ip))
    return [
        (EMAIL_ADDRESS, f"emailto#{address}#{window}", caps.per_address),
        (EMAIL_IP, f"emailip#{source}#{window}", caps.per_ip),
        (EMAIL_BUDGET, f"emailbudget#{window}", caps.budget),
    ]


def suppression_key(address: str) -> str:
    """The item that says an address (its `address_key`) bounced or complained."""
    return f"suppressed#{address}"


def tried_key(address: str, now: float) -> str:
    """The item that marks the day's "someone tried" notice to an address (its key)."""
    return f"tried#{address}#{window_start(now, DAY_SECS)}"


def tried_ttl(now: float, margin_secs: int) -> int:
    return window_start(now, DAY_SECS) + DAY_SECS + margin_secs


def email_refusal(
    refused_layers: list[str], caps: EmailCaps, now: float
) -> EmailBudgetExhausted | SendLimitReached:
    """The budget's refusal first (it says the truth: nobody gets an email now); one answer
    for the other layers, as for codes by SMS."""
    retry_after = math.ceil(window_start(now, caps.window_secs) + caps.window_secs - now)
    if EMAIL_BUDGET in refused_layers:
        return EmailBudgetExhausted(retry_after)
    return SendLimitReached(max(1, retry_after))
