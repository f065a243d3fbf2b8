"""Which channels a code may go by (docs/channels.md): SMS always; a voice call only to the
countries of the call allow-list (voice toll fraud costs more than SMS pumping); WhatsApp
only where the Verify profile has it and the setting switches it on. And when a resend goes
by call on its own: after the provider reported that the SMS of the current code failed.

The caps on calls (per phone and service-wide, per window) are send limits:
`phoneverify.domain.send_limits`.
"""

from __future__ import annotations

from dataclasses import dataclass

from phoneverify.domain.errors import ChannelNotAllowed
from phoneverify.domain.models import Channel, PendingVerification
from phoneverify.domain.regions import DEFAULT_CALL_COUNTRIES

WHATSAPP_OFF = "WhatsApp is not available. Choose sms or call."
CALL_REFUSED = "Codes cannot be sent by voice call to this number. Choose sms."


@dataclass(frozen=True)
class ChannelPolicy:
    call_countries: frozenset[str] = DEFAULT_CALL_COUNTRIES
    whatsapp_enabled: bool = False
    sms_fallback_to_call: bool = False

    @property
    def enabled(self) -> tuple[Channel, ...]:
        """The channels a client may ask for, in the order a page offers them."""
        if self.whatsapp_enabled:
            return (Channel.SMS, Channel.CALL, Channel.WHATSAPP)
        return (Channel.SMS, Channel.CALL)

    def refusal(self, channel: Channel, phone_number: str | None) -> ChannelNotAllowed | None:
        """Why a code may not go to `phone_number` (E.164) by `channel`, or None. Without a
        number only the settings are asked (a decoy has no real number to ask about)."""
        if channel is Channel.WHATSAPP and not self.whatsapp_enabled:
            return ChannelNotAllowed(WHATSAPP_OFF)
        if channel is Channel.CALL and phone_number is not None:
            import phonenumbers  # with the first call asked for, not with every handler

            try:
                region = phonenumbers.region_code_for_number(phonenumbers.parse(phone_number))
            except phonenumbers.NumberParseException:
                region = None
            if region not in self.call_countries:
                return ChannelNotAllowed(CALL_REFUSED)
        return None

    def ensure_allowed(self, channel: Channel, phone_number: str | None) -> None:
        refused = self.refusal(channel, phone_number)
        if refused is not None:
            raise refused

    def fallback(self, record: PendingVerification) -> Channel:
        """The channel of a resend that names none: a call when the setting is on, the SMS
        of the current code failed and the number may be called; SMS otherwise."""
        if (
            self.sms_fallback_to_call
            and record.channel is Channel.SMS
            and record.delivery_failed
            and self.refusal(Channel.CALL, record.phone_number) is None
        ):
            return Channel.CALL
        return Channel.SMS


DEFAULT_CHANNEL_POLICY = ChannelPolicy()
