"""VerificationEvents as structured logs and CloudWatch metrics (never a code, phones masked),
and the subjects that name a person by a digest keyed before any sink sees them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from phoneverify.domain.audit_events import VerificationEvent, VerificationEventType
from phoneverify.domain.keyed import keyed_digest
from phoneverify.domain.models import FlowKind, RequestOrigin
from phoneverify.ports.verifications import VerificationEvents
from phoneverify.tracing import annotate

logger = Logger(child=True)

# Codes by flow and by channel, beside Verification_<type> (the dashboard's "codes sent and
# verified"; docs/operations.md): a sent or resent code counts in CodesSent, a right one in
# CodesVerified, each once under its flow and once under its channel. A code to an address
# (the lost phone's, the email change's) is the channel "email" whatever the flow's nominal one.
METRIC_CODES_BY = "{counter}_{by}_{value}"
CODE_COUNTERS = {
    VerificationEventType.SENT: "CodesSent",
    VerificationEventType.RESENT: "CodesSent",
    VerificationEventType.ACCEPTED: "CodesVerified",
}


def channel_of(event: VerificationEvent) -> str | None:
    """How `event`'s code went: "email" for a code to an address whatever the flow's nominal
    channel, else the channel the event names (None when it names none)."""
    if "@" in event.masked_phone:
        return "email"
    channel = event.detail.get("channel")
    return channel if isinstance(channel, str) else None


def code_metrics(event: VerificationEvent) -> list[str]:
    """The per-flow and per-channel counters `event` adds one to (none for most events)."""
    counter = CODE_COUNTERS.get(event.type)
    if counter is None:
        return []
    channel = channel_of(event) or "sms"
    return [
        METRIC_CODES_BY.format(counter=counter, by="flow", value=event.kind.value),
        METRIC_CODES_BY.format(counter=counter, by="channel", value=channel),
    ]


class LoggedVerificationEvents:
    def __init__(self, metrics: Metrics | None = None) -> None:
        self._metrics = metrics

    def record(self, event: VerificationEvent) -> None:
        # The trace's too: a request's last event is its outcome (`sent`, `accepted`...).
        annotate(flow=event.kind.value, outcome=event.type.value, channel=channel_of(event))
        logger.info(
            "verification event",
            extra={
                "event_type": event.type.value,
                "flow": event.kind.value,
                "subject": event.subject,
                "phone": event.masked_phone,
                "source_ip": event.origin.source_ip,
                "user_agent": event.origin.user_agent,
                **event.detail,
            },
        )
        if self._metrics is not None:
            self._metrics.add_metric(
                name=f"Verification_{event.type.value}", unit=MetricUnit.Count, value=1
            )
            for name in code_metrics(event):
                self._metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)


class EventFanout:
    """Hands each event to several sinks (logs and metrics, the audit trail)."""

    def __init__(self, *sinks: VerificationEvents) -> None:
        self._sinks = sinks

    def record(self, event: VerificationEvent) -> None:
        for sink in self._sinks:
            sink.record(event)


# Subjects that stand for a person without naming an account: `email#<sha256>` (an email
# with no account, or one that must not be told apart: domain/emails.py) and `phone#<sha256>`
# (notices: adapters/telnyx/notices.py). A plain digest of an email or a phone number is the
# value by another name (hash the candidates and compare); every sink gets it keyed instead.
KEYED_PREFIXES = frozenset({"email", "phone"})


# Events whose subject is an account's or an email's depending on whether the email has one:
# the password gate's (login, the password asked again) and the password reset's (a decoy's
# flow is under the email). For these the pepper is read whatever the subject, so an unknown
# email's request makes no SSM read that an account's would not (docs/audit-log.md).
EITHER_SUBJECT_EVENTS = frozenset(
    {
        VerificationEventType.PASSWORD_ACCEPTED,
        VerificationEventType.PASSWORD_REJECTED,
        VerificationEventType.LOGIN_THROTTLED,
        VerificationEventType.LOGIN_LOCKED,
    }
)


class KeyedSubjects:
    """Hands each event on with a person-naming subject keyed: `<prefix>#<HMAC-SHA256 of its
    digest under the pepper>` (domain/keyed.py). The pepper (from SSM, cached across
    invocations) is read for such a subject, and for every event whose subject may be either
    kind (EITHER_SUBJECT_EVENTS, the password reset's), so that which kind it is changes no
    call; other requests never read it."""

    def __init__(self, sink: VerificationEvents, pepper: Callable[[], bytes]) -> None:
        self._sink = sink
        self._pepper = pepper

    def record(self, event: VerificationEvent) -> None:
        either = event.type in EITHER_SUBJECT_EVENTS or event.kind is FlowKind.PASSWORD_RESET
        if either or _names_a_person(event.subject):
            event = replace(event, subject=keyed_subject(self._pepper(), event.subject))
        self._sink.record(event)


def _names_a_person(subject: str) -> bool:
    prefix, separator, _ = subject.partition("#")
    return bool(separator) and prefix in KEYED_PREFIXES


def keyed_subject(pepper: bytes, subject: str) -> str:
    """`subject` as the sinks store it: keyed when it names a person by a digest."""
    prefix, separator, digest = subject.partition("#")
    if not separator or prefix not in KEYED_PREFIXES:
        return subject
    return f"{prefix}#{keyed_digest(pepper, digest)}"


def log_refused_request(reason: str, origin: RequestOrigin, subject: str | None = None) -> None:
    """The line every refused bearer token leaves (the authorizer's and the routes that check
    the bearer themselves): the reason, the caller's address and user agent, and the subject
    when the signature held; never the token."""
    logger.info(
        "request refused",
        extra={
            "reason": reason,
            "source_ip": origin.source_ip,
            "user_agent": origin.user_agent,
            "subject": subject,
        },
    )
