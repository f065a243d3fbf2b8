"""The operators' exchange rates (domain/rates.py), read from their SSM String parameter
through the functions' SecretSource: cached SECRETS_MAX_AGE_SECS per execution environment, so
a warm function reads SSM at most once per cache lifetime, and only for a payment below its
threshold in a currency other than the reference currency."""

from __future__ import annotations

from collections.abc import Callable

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from botocore.exceptions import BotoCoreError, ClientError

from phoneverify.adapters.ssm import SecretSource
from phoneverify.domain.clock import Clock
from phoneverify.domain.rates import InvalidRate, RateTable

logger = Logger(child=True)

# Metrics (count): the table could not be read or used (every currency but the reference
# then asks for a code), and a payment was converted at rates older than FX_RATES_MAX_AGE_DAYS.
METRIC_UNUSABLE = "FxRatesUnusable"
METRIC_STALE = "FxRatesStale"


class SsmRateSource:
    """RateSource over SSM. A table that cannot be read, is malformed, or states another
    reference currency than the functions' (PAYMENT_REFERENCE_CURRENCY) is used as an empty
    table: payments in the reference currency go on, every other currency asks for a code,
    and METRIC_UNUSABLE counts it. A stale table still counts (its rates are days old, not
    wrong by a factor) and METRIC_STALE warns (FxRatesStaleAlarm)."""

    def __init__(
        self,
        secrets: SecretSource,
        name: str,
        reference: str,
        clock: Clock,
        *,
        max_age_secs: int,
        metric: Callable[[str], None],
    ) -> None:
        self._secrets = secrets
        self._name = name
        self._reference = reference
        self._clock = clock
        self._max_age = max_age_secs
        self._metric = metric
        self._parsed: tuple[str, RateTable] | None = None  # the last text and its table

    def current(self) -> RateTable:
        empty = RateTable(self._reference)
        try:
            text = self._secrets.get(self._name)
        except (GetParameterError, BotoCoreError, ClientError) as exc:
            logger.error("exchange rates unreadable", extra={"error": type(exc).__name__})
            self._metric(METRIC_UNUSABLE)
            return empty
        table = self._table(text)
        if table is None:
            self._metric(METRIC_UNUSABLE)
            return empty
        if table.reference != self._reference:
            logger.error(
                "exchange rates are to another reference currency",
                extra={"table_reference": table.reference, "reference": self._reference},
            )
            self._metric(METRIC_UNUSABLE)
            return empty
        if table.stale(self._clock.now(), self._max_age):
            logger.warning("exchange rates are stale", extra={"updated_at": table.updated_at})
            self._metric(METRIC_STALE)
        return table

    def _table(self, text: str) -> RateTable | None:
        """The parsed table of `text`, parsed once per text; None (logged) when unusable."""
        if self._parsed is not None and self._parsed[0] == text:
            return self._parsed[1]
        try:
            table = RateTable.parse(text)
        except InvalidRate as exc:
            logger.error("exchange rates unusable", extra={"reason": str(exc)})
            return None
        self._parsed = (text, table)
        return table
