"""The settings of the functions that send email (docs/email.md, docs/configuration.md): the
sender identity, SES's configuration set, and the email limits. A module of its own:
config.py is full."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from phoneverify.config import CodeSettings, GateSettings, NonEmpty, Settings


class SuppressionSettings(Settings):
    """What knows the suppressed addresses (functions/ses_events writes them): their table."""

    rate_limits_table: NonEmpty


class SesEventSettings(SuppressionSettings):
    """functions/ses_events (docs/email.md#bounces-and-complaints): the suppressed addresses'
    table; the pepper they are keyed under and the audit table are every function's
    (HASH_PEPPER_PARAM, AUDIT_TABLE)."""


class EmailSettings(CodeSettings, SuppressionSettings):
    """What a function that sends email needs: the identity, the timeout, the caps."""

    # The verified SES identity emails come from (EMAIL_SENDER_ADDRESS): ses:SendEmail is
    # granted on that identity alone (template.yaml EmailSenderAddress).
    email_sender_address: Annotated[
        str, Field(pattern=r"^[^@\s]+@[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?\.[A-Za-z]{2,63}$")
    ]
    email_timeout_secs: Annotated[float, Field(gt=0, le=10)] = 5.0
    # SES's configuration set every email names (EMAIL_CONFIGURATION_SET): its bounce and
    # complaint events suppress the address (functions/ses_events). Empty: none named.
    email_configuration_set: Annotated[str, Field(max_length=64, pattern=r"^[A-Za-z0-9_-]*$")] = ""
    # The life of a code by email: an email change's (docs/email.md).
    email_code_timeout_secs: Annotated[int, Field(ge=60, le=3_600)] = 900
    # The email limits (domain/email_limits.py), per EMAIL_WINDOW_SECS.
    max_emails_per_address: Annotated[int, Field(ge=1, le=100)] = 5
    max_emails_per_ip: Annotated[int, Field(ge=1, le=10_000)] = 20
    email_budget: Annotated[int, Field(ge=1, le=1_000_000)] = 1_000
    email_window_secs: Annotated[int, Field(ge=60, le=86_400)] = 3_600


class RegistrationSettings(GateSettings, EmailSettings):
    """POST /register/start: the gate, and a code by email beside the SMS."""
