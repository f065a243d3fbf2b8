"""What follows an account's deletion (docs/privacy.md#deleting-an-account): the cleanup the
deletion's transaction leaves a marker for, run at once by the request, and by
`finish_deletions` for the markers a crash left behind.

The cleanup, each step idempotent so that any run may repeat any of them: each pending payment
of the account cancelled by its lifecycle's conditional write (a confirmation that moved it
to processing first wins, and completes) and its code ended; the count of payments without a
code forgotten; every audit record of the person pseudonymised (domain/deletion.py: the
masked number, the source address and the user agent dropped); then the marker deleted. A
crash anywhere in it leaves the marker, and the next run does it all again."""

from __future__ import annotations

from phoneverify.domain.clock import Clock
from phoneverify.domain.deletion import DELETION_ORIGIN, DeletionMarker, left_behind
from phoneverify.domain.errors import StorageUnavailable
from phoneverify.domain.models import PaymentStatus, RequestOrigin
from phoneverify.flows.engine.any_flow import AnyFlow
from phoneverify.ports.account_data import AuditScrub, DeletionMarkers, PaymentHistory

MARKERS_PER_RUN = 25


class DeletionCleanup:
    def __init__(
        self,
        *,
        markers: DeletionMarkers,
        payments: PaymentHistory,
        scrub: AuditScrub,
        clock: Clock,
        flows: AnyFlow | None = None,
    ) -> None:
        self._markers = markers
        self._payments = payments
        self._scrub = scrub
        self._clock = clock
        self._flows = flows

    def finish(self, marker: DeletionMarker, origin: RequestOrigin = DELETION_ORIGIN) -> None:
        self._cancel_payments(marker.user_id, origin)
        self._scrub.pseudonymise(marker.subjects)
        self._markers.done(marker.user_id)

    def _cancel_payments(self, user_id: str, origin: RequestOrigin) -> None:
        now = self._clock.now()
        for payment in self._payments.of_payer(user_id):
            if payment.status is not PaymentStatus.PENDING:
                continue
            cancelled = self._payments.cancel(payment.payment_id, now)
            # A code ended: it could no longer be accepted anyway (its account is gone).
            if cancelled and payment.flow_id and self._flows is not None:
                self._flows.cancel(payment.flow_id, origin)
        self._payments.forget_payer(user_id)


def finish_deletions(
    *,
    markers: DeletionMarkers,
    payments: PaymentHistory,
    scrub: AuditScrub,
    clock: Clock,
    flows: AnyFlow | None = None,
    limit: int = MARKERS_PER_RUN,
) -> int:
    """Finish the deletions whose request did not (a crash after the transaction): each marker
    older than its request could still be running. Returns how many were finished. For a
    scheduled function: `finish_deletions(**runtime.deletion_cleanup_adapters)`."""
    cleanup = DeletionCleanup(
        markers=markers, payments=payments, scrub=scrub, clock=clock, flows=flows
    )
    now = clock.now()
    finished = 0
    for marker in markers.oldest(limit):
        if not left_behind(marker, now):
            break  # oldest first: the rest are younger still
        try:
            cleanup.finish(marker)
        except StorageUnavailable:  # this one waits for the next run; the others go on
            continue
        finished += 1
    return finished
