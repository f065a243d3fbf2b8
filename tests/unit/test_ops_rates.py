"""The operators' exchange rates (ops/fx_rates.py) over a scripted SSM: SSM has no conditional
write, so a change checks the version its write got, and a change another operator wrote in
between is kept (tests/integration/test_ops_store.py runs the same commands on moto)."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest

from ops.fx_rates import RatesAdmin, RatesError
from phoneverify.domain.rates import RateTable
from tests.support.fakes import FakeClock

NAME = "/phone-verify/dev/fx-rates"
NOW = 1_800_000_000


class ScriptedSsm:
    """One parameter's versions; `before_put` runs just before each PutParameter lands (a
    concurrent operator's write)."""

    def __init__(self, text: str) -> None:
        self.versions = [text]
        self.before_put: list[Callable[[], None]] = []
        self.puts = 0

    def get_parameter(self, Name: str) -> dict[str, Any]:
        assert Name == NAME
        return {"Parameter": {"Value": self.versions[-1], "Version": len(self.versions)}}

    def put_parameter(self, Name: str, Value: str, Type: str, Overwrite: bool) -> dict[str, Any]:
        assert (Name, Type, Overwrite) == (NAME, "String", True)
        if self.before_put:
            self.before_put.pop(0)()
        self.puts += 1
        self.versions.append(Value)
        return {"Version": len(self.versions), "Tier": "Standard"}

    def get_parameter_history(self, Name: str, MaxResults: int, **page: Any) -> dict[str, Any]:
        start = int(page.get("NextToken", 0))
        chunk = self.versions[start : start + MaxResults]
        found: dict[str, Any] = {
            "Parameters": [
                {"Value": value, "Version": start + n + 1} for n, value in enumerate(chunk)
            ]
        }
        if start + MaxResults < len(self.versions):
            found["NextToken"] = str(start + MaxResults)
        return found

    def table(self) -> RateTable:
        return RateTable.parse(self.versions[-1])

    def write_behind(self, rates: dict[str, str]) -> None:
        """Another operator's write of `rates` (as read before ours)."""
        self.versions.append(json.dumps({"reference": "USD", "rates": rates}))


class AuditTable:
    def __init__(self) -> None:
        self.items: list[dict[str, Any]] = []

    def put_item(self, **request: Any) -> None:
        assert request["ConditionExpression"] == "attribute_not_exists(sk)"
        self.items.append(request["Item"])

    def events(self) -> list[dict[str, str]]:
        return [
            {key: value["S"] for key, value in item["detail"]["M"].items()} for item in self.items
        ]


def admin(ssm: ScriptedSsm, audit: AuditTable) -> RatesAdmin:
    return RatesAdmin(ssm, NAME, audit, "AuditTable", by="alice", clock=FakeClock(NOW))


def initial(rates: dict[str, str] | None = None) -> str:
    return json.dumps({"reference": "USD", "rates": rates or {}})


def test_a_set_writes_the_table_with_its_stamp_and_one_audit_record() -> None:
    ssm, audit = ScriptedSsm(initial()), AuditTable()
    change = admin(ssm, audit).set("EUR", Decimal("1.08"))
    assert (change.changed, change.version, change.previous) == (True, 2, None)
    assert json.loads(ssm.versions[-1]) == {
        "reference": "USD",
        "rates": {"EUR": "1.08"},
        "updated_at": NOW,
        "updated_by": "alice",
    }
    assert audit.events() == [
        {
            "change": "set",
            "value": "EUR",
            "rate": "1.08",
            "previous": "",
            "version": "2",
            "by": "alice",
        }
    ]
    assert audit.items[0]["subject"] == {"S": "operator"}
    assert audit.items[0]["event"] == {"S": "fx_rates_changed"}


def test_a_change_that_changes_nothing_writes_and_records_nothing() -> None:
    ssm, audit = ScriptedSsm(initial({"EUR": "1.08"})), AuditTable()
    assert admin(ssm, audit).set("EUR", Decimal("1.080")).changed is False
    assert admin(ssm, audit).unset("GBP").changed is False
    assert (ssm.puts, audit.items) == (0, [])


def test_the_reference_currency_has_no_rate_to_set() -> None:
    ssm, audit = ScriptedSsm(initial()), AuditTable()
    with pytest.raises(RatesError, match="USD is the reference currency"):
        admin(ssm, audit).set("USD", Decimal("1"))
    assert ssm.puts == 0


def test_a_change_written_by_another_operator_in_between_is_kept() -> None:
    # Given alice reads the table, and bob sets GBP just before alice's write of EUR lands
    ssm, audit = ScriptedSsm(initial({"CHF": "1.13"})), AuditTable()
    ssm.before_put.append(lambda: ssm.write_behind({"CHF": "1.13", "GBP": "1.27"}))
    # When alice's write gets version 3, not 2 (her read was version 1)
    change = admin(ssm, audit).set("EUR", Decimal("1.08"))
    # Then her change is applied again on top of bob's version, and both hold
    assert change.changed and change.version == 4
    assert dict(ssm.table().rates) == {
        "CHF": Decimal("1.13"),
        "EUR": Decimal("1.08"),
        "GBP": Decimal("1.27"),
    }
    # and each of her writes is audited with the version it got
    assert [event["version"] for event in audit.events()] == ["3", "4"]


def test_changes_that_keep_landing_in_between_are_reported_not_lost_silently() -> None:
    ssm, audit = ScriptedSsm(initial()), AuditTable()
    for n in range(3):
        ssm.before_put.append(lambda n=n: ssm.write_behind({"GBP": f"1.2{n}"}))  # type: ignore[misc]
    with pytest.raises(RatesError, match="rates show"):
        admin(ssm, audit).set("EUR", Decimal("1.08"))


def test_a_table_that_is_not_one_is_not_overwritten() -> None:
    ssm, audit = ScriptedSsm("not json"), AuditTable()
    with pytest.raises(RatesError, match=r"version 1\).* is not a rate table"):
        admin(ssm, audit).set("EUR", Decimal("1.08"))
    assert ssm.puts == 0
