"""SES's reports of the emails it sent (docs/email.md#bounces-and-complaints): the use case of
functions/ses_events, which SNS hands each event SES's configuration set publishes.

A permanent bounce or a complaint suppresses each address it names for good (EmailLimits.
suppress: one conditional PutItem of `suppressed#<address_key>`), so that no email is tried to
it again (EmailLimits.admit_email answers `email_undeliverable`): an address that keeps
bouncing, or whose owner marks us as spam, costs the sender's SES reputation with every email.
Each new suppression is audited (`email_suppressed`, under the address's `email#` subject, as
every event about an address without an account is: domain/emails.py) and counted
(METRIC_EMAIL_SUPPRESSED).

Anything else (a transient bounce, a delivery, a record that is not SES's) is logged and
ignored: a malformed record is dropped, since a retry would fail the same way forever. A
DynamoDB failure raises StorageUnavailable, so that SNS's delivery to Lambda is retried.
Logs never hold an address (mask_email)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from enum import StrEnum

from phoneverify.domain.audit_events import VerificationEvent, VerificationEventType
from phoneverify.domain.clock import Clock
from phoneverify.domain.email_events import MalformedEmailEvent, read_ses_event
from phoneverify.domain.email_limits import METRIC_EMAIL_SUPPRESSED, address_key
from phoneverify.domain.emails import mask_email, unknown_subject
from phoneverify.domain.models import FlowKind, RequestOrigin
from phoneverify.domain.throttling import account_key
from phoneverify.ports.messaging import EmailLimits
from phoneverify.ports.verifications import VerificationEvents

logger = logging.getLogger(__name__)
# Who "asked" for a suppression: SES, through SNS (no client, no source address).
SES_ORIGIN = RequestOrigin(source_ip="-", user_agent="ses-events")


class EmailEventOutcome(StrEnum):
    SUPPRESSED = "suppressed"  # at least one address suppressed by this event
    ALREADY_SUPPRESSED = "already_suppressed"  # every address named was already
    IGNORED = "ignored"  # an event that suppresses nothing (a transient bounce, a delivery)
    MALFORMED = "malformed"  # not an event SES publishes: dropped


class EmailEvents:
    def __init__(
        self,
        *,
        limits: EmailLimits,
        events: VerificationEvents,
        clock: Clock,
        pepper: Callable[[], bytes],
        metric: Callable[[str], None],
    ) -> None:
        self._limits = limits
        self._events = events
        self._clock = clock
        self._pepper = pepper
        self._metric = metric

    def receive(self, message: str) -> EmailEventOutcome:
        """Take one SES event record (an SNS notification's Message) in. Raises
        StorageUnavailable when a suppression could not be written (the caller fails, so
        the event is delivered again; a suppression already written is not written twice)."""
        try:
            report = read_ses_event(message)
        except MalformedEmailEvent as bad:
            logger.warning("ses event dropped: malformed", extra={"problem": str(bad)})
            return EmailEventOutcome.MALFORMED
        if not report.suppresses:
            logger.info(
                "ses event ignored",
                extra={"event_type": report.event_type, "subtype": report.subtype},
            )
            return EmailEventOutcome.IGNORED
        reason = str(report.reason)
        pepper = self._pepper()
        now = self._clock.now()
        outcome = EmailEventOutcome.ALREADY_SUPPRESSED
        for address in report.addresses:
            masked = mask_email(address)
            if not self._limits.suppress(address_key(pepper, address), reason, now):
                logger.info("email already suppressed", extra={"email": masked, "reason": reason})
                continue
            outcome = EmailEventOutcome.SUPPRESSED
            self._metric(METRIC_EMAIL_SUPPRESSED)
            logger.warning("email suppressed", extra={"email": masked, "reason": reason})
            self._events.record(
                VerificationEvent(
                    type=VerificationEventType.EMAIL_SUPPRESSED,
                    kind=FlowKind.EMAIL_DELIVERY,
                    subject=unknown_subject(account_key(address)),
                    masked_phone="",
                    at=now,
                    origin=SES_ORIGIN,
                    detail={"reason": reason, "subtype": report.subtype},
                )
            )
        return outcome
