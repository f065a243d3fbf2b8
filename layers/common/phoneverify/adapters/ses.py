"""EmailSender over Amazon SES v2 (`sesv2` SendEmail): a plain-text message from the verified
sender identity (EMAIL_SENDER_ADDRESS). Every refusal or outage is EmailDeliveryFailed; the
address is never logged in full (domain/emails.py mask_email)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from phoneverify.domain.email_messages import EmailMessage
from phoneverify.domain.emails import mask_email
from phoneverify.domain.errors import EmailDeliveryFailed

SESV2Client = Any  # boto3's "sesv2" client (no stubs installed for it)

logger = Logger(child=True)


class SesEmailSender:
    """`client` builds the SES v2 client on the first email (most invocations send none)."""

    def __init__(
        self,
        client: Callable[[], SESV2Client],
        sender: str,
        *,
        configuration_set: str | None = None,
    ) -> None:
        """`configuration_set`: SES's, whose bounce and complaint events suppress an address
        (functions/ses_events); None names none."""
        self._client_factory = client
        self._client: SESV2Client | None = None
        self._sender = sender
        self._configuration_set = configuration_set

    def ready(self) -> None:
        self._connected()

    def send(self, to: str, message: EmailMessage) -> None:
        extra = {}
        if self._configuration_set:
            extra["ConfigurationSetName"] = self._configuration_set
        try:
            self._connected().send_email(
                **extra,
                FromEmailAddress=self._sender,
                Destination={"ToAddresses": [to]},
                Content={
                    "Simple": {
                        "Subject": {"Data": message.subject, "Charset": "UTF-8"},
                        "Body": {"Text": {"Data": message.text, "Charset": "UTF-8"}},
                    }
                },
            )
        except ClientError as exc:
            # SES's name for the refusal (MessageRejected, ...): never the message, which may
            # carry an email code.
            ses_error = exc.response.get("Error", {}).get("Code", "unknown")
            logger.warning("email refused", extra={"to": mask_email(to), "reason": ses_error})
            raise EmailDeliveryFailed() from None
        except BotoCoreError as exc:
            logger.warning(
                "email service unreachable",
                extra={"to": mask_email(to), "reason": type(exc).__name__},
            )
            raise EmailDeliveryFailed() from None

    def _connected(self) -> SESV2Client:
        if self._client is None:
            self._client = self._client_factory()
        return self._client
