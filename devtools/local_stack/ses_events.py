"""SES's mailbox simulator, locally (docs/email.md#bounces-and-complaints). In AWS an email to
`bounce@simulator.amazonses.com` comes back as a permanent bounce and one to
`complaint@simulator.amazonses.com` as a complaint (a `+label` after the name too), published
by the configuration set to SNS and handed to SesEventsFunction, which suppresses the address.

Locally the functions' SES v2 SendEmail lands in the Telnyx emulator's outbox
(devtools/telnyx_emulator/emails.py): the relay below is told of each email kept and, for a
simulator address, invokes SesEventsFunction (the very handler Lambda runs, through the
gateway's workers) with the SNS event SES would cause: events/ses_events.json or
ses_events_complaint.json, naming that recipient. It runs on a thread of its own, after the
SendEmail answer, as SES's events come after it; `join()` waits until every event so far was
handled, so that a test never waits on the wall clock.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from devtools.aws_resources import TEMPLATE

FUNCTION = "SesEventsFunction"
SIMULATOR_DOMAIN = "simulator.amazonses.com"
# The simulator's name -> the sample SNS event its email causes (events/<sample>.json).
SAMPLES = {"bounce": "ses_events", "complaint": "ses_events_complaint"}
RECIPIENTS = {"bounce": "bouncedRecipients", "complaint": "complainedRecipients"}

log = logging.getLogger(__name__)


def simulated(address: str) -> str | None:
    """ "bounce" or "complaint" for a simulator address (`+label` allowed), None otherwise."""
    local, _, domain = address.strip().lower().partition("@")
    kind = local.split("+", 1)[0]
    return kind if domain == SIMULATOR_DOMAIN and kind in SAMPLES else None


def sns_event(kind: str, email: dict[str, Any]) -> dict[str, Any]:
    """The SNS event SES publishes for `email` (as the emulator's outbox keeps it)."""
    event: dict[str, Any] = json.loads(
        (TEMPLATE.parent / "events" / f"{SAMPLES[kind]}.json").read_text()
    )
    notification = event["Records"][0]["Sns"]
    record = json.loads(notification["Message"])
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    record[kind]["timestamp"] = notification["Timestamp"] = now
    record[kind][RECIPIENTS[kind]][0]["emailAddress"] = email["to"]
    record["mail"].update(
        messageId=email["id"], destination=[email["to"]], source=email["from"], timestamp=now
    )
    notification["Message"] = json.dumps(record)
    notification["MessageId"] = f"local-{email['id']}-{kind}"
    return event


class SesEventRelay:
    def __init__(self, invoke: Callable[[str, dict[str, Any]], Any]) -> None:
        self._invoke = invoke
        self._queue: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="ses-events", daemon=True)
        self.outcomes: list[dict[str, Any]] = []  # what each invocation answered

    def start(self) -> SesEventRelay:
        self._thread.start()
        return self

    def __call__(self, email: dict[str, Any]) -> None:
        """The emulator's listener: queue a simulator address's event (never blocks)."""
        kind = simulated(str(email.get("to", "")))
        if kind is not None:
            self._queue.put(sns_event(kind, email))

    def join(self) -> None:
        """Wait until every event queued so far was handled."""
        self._queue.join()

    def stop(self) -> None:
        self._queue.put(None)
        if self._thread.is_alive():
            self._thread.join(timeout=30)

    def _run(self) -> None:
        while True:
            event = self._queue.get()
            try:
                if event is None:
                    return
                self.outcomes.append(self._invoke(FUNCTION, event))
            except Exception as exc:  # as Lambda would retry; locally, logged
                log.warning("SES event not handled: %s", exc)
            finally:
                self._queue.task_done()
