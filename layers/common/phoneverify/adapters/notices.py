"""Account notices until the SMS one is wired (Telnyx Messaging, issue 13): each notice is
logged, with the phone masked, and sent nowhere."""

from __future__ import annotations

from aws_lambda_powertools import Logger

from phoneverify.domain.models import NoticeEvent
from phoneverify.domain.phones import mask_phone

logger = Logger(child=True)


class LoggedNotices:
    """AccountNotices that only log what would be sent. Never raises."""

    def notify(self, phone: str, event: NoticeEvent) -> None:
        logger.info("account notice", extra={"notice": event.value, "phone": mask_phone(phone)})
