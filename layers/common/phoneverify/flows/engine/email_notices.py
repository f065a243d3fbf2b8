"""Notices by email to an account's owner (the lost phone's, the email change's): like
AccountNotices, a notice never fails or undoes what it tells of; a send SES refused is logged
by what it was, never by whom it was for."""

from __future__ import annotations

import logging

from phoneverify.domain.email_messages import EmailNotice, notice_email
from phoneverify.domain.errors import EmailDeliveryFailed
from phoneverify.ports.messaging import EmailSender

logger = logging.getLogger(__name__)


class EmailNotices:
    def __init__(self, emails: EmailSender, service_name: str) -> None:
        self._emails = emails
        self._service = service_name

    def tell(self, address: str, notice: EmailNotice, *, wait_hours: int = 0) -> None:
        message = notice_email(self._service, notice, wait_hours=wait_hours)
        try:
            self._emails.send(address, message)
        except EmailDeliveryFailed:
            logger.warning("email notice not sent", extra={"notice": notice.value})
