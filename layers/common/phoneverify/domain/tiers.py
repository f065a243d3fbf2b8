"""The tiers codes are counted in (docs/abuse-controls.md#tiers): three that never refuse each
other, each with its own share of the SMS budget and its own per-phone, per-source and
per-account caps (domain/send_limits.py counts by them)."""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from phoneverify.domain.models import FlowKind


class SendTier(StrEnum):
    """Whose codes share a budget and caps (docs/abuse-controls.md#tiers)."""

    # Someone who passed a check asks: login after the right password, a payment's step-up,
    # the current phone at a step-up; and notices to the account's phone.
    VERIFIED = "verified"
    # A password reset: nobody is authenticated, so anyone with a list of customers' emails
    # could ask; its own tier, or that list would drain the first.
    RESET = "reset"
    # Codes to numbers nobody has proven yet: sign-up, a new number. What pumping goes for.
    UNPROVEN = "unproven"


TIER_OF_KIND: Mapping[FlowKind, SendTier] = MappingProxyType(
    {
        FlowKind.LOGIN: SendTier.VERIFIED,
        FlowKind.PAYMENT: SendTier.VERIFIED,
        FlowKind.NOTICE: SendTier.VERIFIED,
        FlowKind.REAUTH: SendTier.VERIFIED,  # the current phone, after the right password
        FlowKind.PASSWORD_RESET: SendTier.RESET,
        # A lost phone's email code: nobody is authenticated, as for a reset (emails count
        # in the reset tier's caps, under the address's stand-in number).
        FlowKind.LOST_PHONE_EMAIL: SendTier.RESET,
        FlowKind.LOST_PHONE: SendTier.UNPROVEN,  # the new number
        FlowKind.REGISTRATION: SendTier.UNPROVEN,
        FlowKind.PHONE_CHANGE: SendTier.UNPROVEN,
        # Counted in the email limits, not an SMS tier (flows/engine/email_proof.py).
        FlowKind.EMAIL_CHANGE: SendTier.UNPROVEN,
        # Nothing is sent (the app's own code confirms it); signed in, after the step-up.
        FlowKind.TOTP_ENROL: SendTier.VERIFIED,
    }
)
DEFAULT_SHARES: Mapping[SendTier, int] = MappingProxyType(
    {SendTier.VERIFIED: 50, SendTier.RESET: 10, SendTier.UNPROVEN: 40}
)
