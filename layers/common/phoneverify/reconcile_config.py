"""The settings of the payment reconciler (functions/payments_reconcile,
docs/payments.md#reconciliation). A module of its own: config.py is full."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from phoneverify.config import CodeSettings, NonEmpty, PaymentRecordSettings


class ReconcileSettings(CodeSettings, PaymentRecordSettings):
    """The payments, the processor's ledger, the count of payments without a code it gives
    back (under the account lock's table), and the payments' flows. A payment unsettled for
    longer than the grace period is settled."""

    ledger_table: NonEmpty
    # Longer than any function that writes a payment runs (15 s) and a confirmation's claim
    # (30 s). Shorter is never a double charge (the processor voids the id, a charge still in
    # flight is declined), only a payment failed that would have completed.
    payment_reconcile_grace_secs: Annotated[int, Field(ge=30, le=86_400)] = 300
    payment_reconcile_batch: Annotated[int, Field(ge=1, le=1_000)] = 100
