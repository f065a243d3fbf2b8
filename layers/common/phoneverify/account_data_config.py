"""The settings of the person's own data routes (docs/privacy.md): /account/export reads the
payments; /account/delete also cancels them and sends the last notices (SMS through the
outbox, and an email). A module of its own: config.py is full."""

from __future__ import annotations

from phoneverify.config import PaymentRecordSettings
from phoneverify.email_config import EmailSettings


class AccountDataSettings(EmailSettings, PaymentRecordSettings):
    """USERS_TABLE (the account, its pointers and passkeys), PAYMENTS_TABLE (its payments by
    the payer index), AUDIT_TABLE (its trail), NOTICES_OUTBOX_TABLE and the email sender."""
