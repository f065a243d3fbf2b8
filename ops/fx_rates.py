"""The exchange rates of the cumulative limit (docs/payments.md#one-cumulative-limit-across-
currencies): one SSM String parameter holding the table's JSON (domain/rates.py), read by
POST /payments/initiate within SECRETS_MAX_AGE_SECS.

SSM has no conditional write. A change reads the table and its version, writes the changed
table with `Overwrite`, and checks the version SSM answers: one more than the one read means
nothing was written in between. Otherwise another change landed between the read and the
write, and this write replaced it: the change is applied again on top of the version written
just before this one (GetParameterHistory) and written again, up to MAX_ATTEMPTS times, so
both changes hold. Each write is audited (AuditTable, subject "operator", event
`fx_rates_changed`) right after it lands; SSM's parameter history keeps every version and who
wrote it as well. A change that would change nothing writes nothing and records nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ops.fraud_rules import AUDIT_RETENTION_SECS, OPERATOR_SUBJECT, ORIGIN
from phoneverify.adapters.dynamo.audit import audit_values
from phoneverify.adapters.dynamo.toolkit import put_new
from phoneverify.domain.audit_events import VerificationEvent, VerificationEventType
from phoneverify.domain.clock import Clock, SystemClock
from phoneverify.domain.errors import StorageUnavailable
from phoneverify.domain.models import FlowKind
from phoneverify.domain.rates import InvalidRate, RateTable, rate_text
from phoneverify.ports.conditions import ConditionFailed

MAX_ATTEMPTS = 3


class RatesError(Exception):
    """The rates cannot be changed as asked: one line saying why and what to do."""


@dataclass(frozen=True)
class RatesChange:
    """What a change did: `changed` False when the table already said so (nothing written);
    `previous` the currency's rate before (None: it had none); `version` the parameter's."""

    changed: bool
    table: RateTable
    version: int
    previous: Decimal | None


Edit = Callable[[RateTable], RateTable]


class RatesAdmin:
    """The operators' reads and changes of the rate table's parameter `name`, each change
    audited under `by` in `audit_table`."""

    def __init__(
        self,
        ssm: Any,
        name: str,
        dynamodb: Any,
        audit_table: str,
        *,
        by: str,
        clock: Clock | None = None,
        audit_retention_secs: int = AUDIT_RETENTION_SECS,
    ) -> None:
        self._ssm = ssm
        self._name = name
        self._dynamodb = dynamodb
        self._audit_table = audit_table
        self._by = by
        self._clock = clock or SystemClock()
        self._retention = audit_retention_secs

    def show(self) -> tuple[RateTable, int]:
        """The table and its parameter version."""
        text, version = self._read()
        return self._parse(text, version), version

    def set(self, currency: str, rate: Decimal) -> RatesChange:
        """Set `currency`'s rate (both already checked: domain/rates.py)."""

        def edit(table: RateTable) -> RateTable:
            if currency == table.reference:
                raise RatesError(
                    f"{currency} is the reference currency of {self._name}: its rate is 1"
                )
            return replace(table, rates=MappingProxyType({**table.rates, currency: rate}))

        return self._change(currency, edit, "set", rate_text(rate))

    def unset(self, currency: str) -> RatesChange:
        """Remove `currency`'s rate: its payments then always ask for a code."""

        def edit(table: RateTable) -> RateTable:
            rates = {code: rate for code, rate in table.rates.items() if code != currency}
            return replace(table, rates=MappingProxyType(rates))

        return self._change(currency, edit, "unset", "")

    # -- one change ---------------------------------------------------------------------
    def _change(self, currency: str, edit: Edit, change: str, rate: str) -> RatesChange:
        text, version = self._read()
        base = self._parse(text, version)
        previous = base.rates.get(currency)
        for attempt in range(MAX_ATTEMPTS):
            edited = edit(base)
            if attempt == 0 and dict(edited.rates) == dict(base.rates):
                return RatesChange(False, base, version, previous)
            stamped = replace(edited, updated_at=int(self._clock.now()), updated_by=self._by)
            try:
                new_text = stamped.text()
            except InvalidRate as exc:
                raise RatesError(str(exc)) from None
            written = self._write(new_text)
            self._audit(change, currency, rate, previous, written)
            if written == version + 1:
                return RatesChange(True, stamped, written, previous)
            # Another change was written between our read and our write, and ours replaced
            # it: apply ours again on top of the version just before ours.
            version = written
            base = self._parse(self._history(written - 1), written - 1)
        raise RatesError(
            f"other changes of {self._name} kept landing at the same time: check "
            "`rates show` and repeat the command"
        )

    def _read(self) -> tuple[str, int]:
        try:
            found = self._ssm.get_parameter(Name=self._name)["Parameter"]
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "ParameterNotFound":
                raise RatesError(
                    f"no parameter {self._name}: deploy this template.yaml (FxRatesParameter) "
                    "or name the parameter with FX_RATES_PARAM"
                ) from None
            raise
        return str(found["Value"]), int(found["Version"])

    def _parse(self, text: str, version: int) -> RateTable:
        try:
            return RateTable.parse(text)
        except InvalidRate as exc:
            raise RatesError(
                f"{self._name} (version {version}) is not a rate table: {exc}; the functions "
                "treat it as empty. Put a valid one back (aws ssm get-parameter-history shows "
                "the earlier versions)"
            ) from None

    def _write(self, text: str) -> int:
        answer = self._ssm.put_parameter(Name=self._name, Value=text, Type="String", Overwrite=True)
        return int(answer["Version"])

    def _history(self, version: int) -> str:
        """The value of `version` (GetParameterHistory, oldest first, in pages)."""
        request: dict[str, Any] = {"Name": self._name, "MaxResults": 50}
        while True:
            page = self._ssm.get_parameter_history(**request)
            for entry in page.get("Parameters", []):
                if int(entry["Version"]) == version:
                    return str(entry["Value"])
            if not page.get("NextToken"):
                raise RatesError(f"{self._name}: version {version} is not in its history")
            request["NextToken"] = page["NextToken"]

    def _audit(
        self, change: str, currency: str, rate: str, previous: Decimal | None, version: int
    ) -> None:
        event = VerificationEvent(
            type=VerificationEventType.FX_RATES_CHANGED,
            kind=FlowKind.PAYMENT,
            subject=OPERATOR_SUBJECT,
            masked_phone="",
            at=self._clock.now(),
            origin=ORIGIN,
            detail={
                "change": change,
                "value": currency,
                "rate": rate,
                "previous": "" if previous is None else rate_text(previous),
                "version": version,
                "by": self._by,
            },
        )
        try:
            put_new(self._dynamodb, self._audit_table, audit_values(event, self._retention), "sk")
        except (StorageUnavailable, ConditionFailed, ClientError, BotoCoreError) as exc:
            raise RatesError(
                f"the rates changed ({self._name} version {version}) but the audit record "
                f"could not be written ({type(exc).__name__}); SSM's parameter history keeps "
                "the change and who made it"
            ) from exc
