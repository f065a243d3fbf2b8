"""The operators' command against real tables (moto, and DynamoDB Local for the races): the
rules item's sets and the hold items it writes, as the functions read them, and one audit
record per change naming who made it."""

from __future__ import annotations

import fnmatch
import io
import json
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import boto3
import pytest
from moto import mock_aws

from devtools.aws_resources import load_template
from ops.cli import main
from ops.fraud_rules import RULES_KEY, Change, FraudAdmin, Tables
from ops.inputs import Scope
from ops.targets import Target
from phoneverify.adapters.dynamo.audit import DynamoAuditTrail
from phoneverify.adapters.dynamo.toolkit import from_item, to_item
from tests.support.fakes import FakeClock
from tests.support.round_trips import TRANSACT_ACTIONS
from tests.support.tables import fresh_table

OPERATOR = "arn:aws:sts::123456789012:assumed-role/FraudOperator/alice"
HOUR = 3_600


@dataclass
class Store:
    client: Any
    tables: Tables
    clock: FakeClock

    def admin(self, by: str = OPERATOR) -> FraudAdmin:
        return FraudAdmin(self.client, self.tables, by=by, clock=self.clock)

    def item(self, key: str) -> dict[str, Any] | None:
        found = self.client.get_item(
            TableName=self.tables.rate_limits, Key=to_item({"pk": key}), ConsistentRead=True
        ).get("Item")
        return None if found is None else from_item(found)

    def put(self, values: dict[str, Any]) -> None:
        self.client.put_item(TableName=self.tables.rate_limits, Item=to_item(values))

    def audit(self) -> list[dict[str, Any]]:
        """The operator's audit records, oldest first."""
        trail = DynamoAuditTrail(self.client, self.tables.audit, retention_secs=0)
        return list(reversed(trail.events_for("operator")))


def store_of(client: Any) -> Store:
    tables = Tables(fresh_table(client, "RateLimitsTable"), fresh_table(client, "AuditTable"))
    return Store(client, tables, FakeClock())


@pytest.fixture(params=["moto", "dynamodb-local"])
def store(request: pytest.FixtureRequest) -> Iterator[Store]:
    if request.param == "moto":
        with mock_aws():
            yield store_of(boto3.client("dynamodb", region_name="us-east-1"))
    else:
        endpoint = request.getfixturevalue("dynamodb_local_endpoint")
        yield store_of(boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1"))


@pytest.fixture
def real_engine(dynamodb_local_endpoint: str) -> Store:
    return store_of(
        boto3.client("dynamodb", endpoint_url=dynamodb_local_endpoint, region_name="us-east-1")
    )


@pytest.fixture
def moto_store() -> Iterator[Store]:
    with mock_aws():
        yield store_of(boto3.client("dynamodb", region_name="us-east-1"))


# -- the lists ------------------------------------------------------------------------------
def test_allow_then_deny_moves_a_prefix_and_each_change_is_audited(store: Store) -> None:
    admin = store.admin()
    # When a prefix is allowed, then denied
    assert admin.change(Scope.PREFIX, Change.ALLOW, "+1415556")
    assert admin.rules().allow_prefixes == {"+1415556"}
    store.clock.advance(1)
    assert admin.change(Scope.PREFIX, Change.DENY, "+1415556")
    # Then it is in the deny list only: the sets the functions read
    item = store.item(RULES_KEY)
    assert item is not None
    assert item["deny_prefixes"] == {"+1415556"}
    assert "allow_prefixes" not in item  # DynamoDB drops an emptied set
    assert item["version"] == 2
    assert item["updated_by"] == OPERATOR
    # And each change is one audit record saying what, which value and who
    records = store.audit()
    assert [r["event"] for r in records] == ["fraud_rules_changed", "fraud_rules_changed"]
    assert [r["detail"] for r in records] == [
        {"change": "allow", "list": "prefixes", "value": "+1415556", "by": OPERATOR},
        {"change": "deny", "list": "prefixes", "value": "+1415556", "by": OPERATOR},
    ]
    assert {(r["subject"], r["flow"]) for r in records} == {("operator", "fraud_guard")}


def test_deny_then_allow_moves_a_country_back(store: Store) -> None:
    admin = store.admin()
    admin.change(Scope.COUNTRY, Change.DENY, "JM")
    admin.change(Scope.COUNTRY, Change.ALLOW, "JM")
    rules = admin.rules()
    assert (rules.allow_countries, rules.deny_countries) == ({"JM"}, frozenset())
    # other scopes' lists are untouched
    assert (rules.allow_prefixes, rules.deny_prefixes) == (frozenset(), frozenset())


def test_unlist_clears_a_value_from_both_lists_and_leaves_the_others(store: Store) -> None:
    admin = store.admin()
    admin.change(Scope.PREFIX, Change.DENY, "+1415556")
    admin.change(Scope.PREFIX, Change.DENY, "+44700900")
    # Given a value in both lists (written by hand, as an older tool might have)
    store.client.update_item(
        TableName=store.tables.rate_limits,
        Key=to_item({"pk": RULES_KEY}),
        UpdateExpression="ADD allow_prefixes :v",
        ExpressionAttributeValues=to_item({":v": {"+1415556"}}),
    )
    # When it is unlisted
    store.clock.advance(1)
    assert admin.change(Scope.PREFIX, Change.UNLIST, "+1415556")
    # Then it is in neither, and the other value stays denied
    rules = admin.rules()
    assert rules.allow_prefixes == frozenset()
    assert rules.deny_prefixes == {"+44700900"}
    assert store.audit()[-1]["detail"]["change"] == "unlist"


def test_a_change_that_changes_nothing_writes_nothing_and_records_nothing(store: Store) -> None:
    admin = store.admin()
    admin.change(Scope.PREFIX, Change.DENY, "+1415556")
    # When the same change is made again, and a value in neither list is unlisted
    assert not admin.change(Scope.PREFIX, Change.DENY, "+1415556")
    assert not admin.change(Scope.COUNTRY, Change.UNLIST, "GB")
    # Then the rules item is as it was and there is still one audit record
    assert admin.rules().version == 1
    assert len(store.audit()) == 1


def test_concurrent_changes_all_land(real_engine: Store) -> None:
    # On DynamoDB Local, the real engine: moto's in-process tables are not atomic under
    # threads (it loses concurrent ADDs itself).
    store = real_engine
    # Given 12 operators denying 12 prefixes at the same moment, and 2 allowing one more
    values = [f"+1415556{n:02d}" for n in range(12)]
    barrier = threading.Barrier(len(values) + 2, timeout=30)

    def deny(value: str) -> bool:
        admin = store.admin(by=f"{OPERATOR}-{value}")
        barrier.wait()
        return admin.change(Scope.PREFIX, Change.DENY, value)

    def allow(_: int) -> bool:
        admin = store.admin()
        barrier.wait()
        return admin.change(Scope.PREFIX, Change.ALLOW, "+4479460")

    with ThreadPoolExecutor(max_workers=len(values) + 2) as pool:
        denials = [pool.submit(deny, value) for value in values]
        allowed = [pool.submit(allow, n) for n in range(2)]
        denied = [future.result(timeout=60) for future in denials]
        done = [future.result(timeout=60) for future in allowed]
    # Then every ADD landed (a read-modify-write would have lost some), the same change
    # twice landed once, and the version counted each change exactly once
    rules = store.admin().rules()
    assert rules.deny_prefixes == set(values)
    assert rules.allow_prefixes == {"+4479460"}
    assert all(denied)
    assert sorted(done) == [False, True]
    assert rules.version == len(values) + 1
    assert len(store.audit()) == len(values) + 1


# -- holds ----------------------------------------------------------------------------------
def test_release_deletes_the_hold_and_is_audited_once(store: Store) -> None:
    # Given a hold the detector placed
    now = int(store.clock.now())
    store.put(
        {
            "pk": "hold#prefix#+1415556",
            "until": now + 6 * HOUR,
            "ttl": now + 30 * HOUR,
            "held_at": now,
            "reason": "pumping",
        }
    )
    admin = store.admin()
    # When an operator releases it, twice
    assert admin.release(Scope.PREFIX, "+1415556")
    assert not admin.release(Scope.PREFIX, "+1415556")
    # Then the item is gone, and one record says who released what
    assert store.item("hold#prefix#+1415556") is None
    [record] = store.audit()
    assert record["event"] == "hold_released"
    assert record["detail"] == {
        "change": "release",
        "list": "holds",
        "scope": "prefix",
        "target": "+1415556",
        "value": "+1415556",
        "by": OPERATOR,
    }


def test_place_holds_for_the_hours_asked_and_never_shortens_a_longer_hold(store: Store) -> None:
    admin = store.admin()
    now = int(store.clock.now())
    # When an operator holds a prefix for 2 hours
    placed = admin.place(Scope.PREFIX, "+1415556", 2)
    # Then the item is a hold as the functions read it
    assert placed.placed
    item = store.item("hold#prefix#+1415556")
    assert item is not None
    assert item["until"] == now + 2 * HOUR
    assert item["held_at"] == now
    assert item["reason"] == "operator"
    assert item["ttl"] > item["until"]
    # And a shorter hold asked later leaves it as it is, unaudited
    store.clock.advance(1)
    again = admin.place(Scope.PREFIX, "+1415556", 1)
    assert not again.placed
    assert again.hold.until == now + 2 * HOUR
    # A longer one extends it
    assert admin.place(Scope.PREFIX, "+1415556", 3).placed
    assert store.item("hold#prefix#+1415556")["until"] == now + 1 + 3 * HOUR  # type: ignore[index]
    records = store.audit()
    assert [r["event"] for r in records] == ["hold_placed", "hold_placed"]
    assert records[0]["detail"]["until"] == "2027-01-15T10:00:00+00:00"
    assert records[0]["detail"]["by"] == OPERATOR


def test_holds_lists_the_hold_items_only(store: Store) -> None:
    now = int(store.clock.now())
    store.put({"pk": "hold#country#JM", "until": now - 10, "reason": "pumping", "held_at": now})
    store.put({"pk": "hold#prefix#+1415556", "until": now + HOUR, "reason": "pumping"})
    # Counters beside them are not holds
    store.put({"pk": "heldprefixes#US#1800000000", "held": 3})
    store.put({"pk": "prefix#+1415556#1800000000", "sent": 9})
    store.put({"pk": RULES_KEY, "version": 1})
    holds = store.admin().holds()
    assert [(h.scope, h.target, h.in_force(now)) for h in holds] == [
        (Scope.COUNTRY, "JM", False),
        (Scope.PREFIX, "+1415556", True),
    ]
    assert holds[0].as_json(now)["until"] == "2027-01-15T07:59:50+00:00"


# -- the command's own output, on moto ----------------------------------------------------
def run(store: Store, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    target = Target(store.client, store.tables, OPERATOR, "the test's tables")
    status = main(list(argv), env={}, out=out, err=err, connect=lambda *_: target)
    return status, out.getvalue(), err.getvalue()


def test_the_command_prints_the_rules_it_wrote(moto_store: Store) -> None:
    assert run(moto_store, "prefix", "deny", "+1415556")[0] == 0
    assert run(moto_store, "country", "allow", "jm")[0] == 0
    status, out, _ = run(moto_store, "rules", "show")
    assert status == 0
    assert json.loads(out) == {
        "allow_prefixes": [],
        "deny_prefixes": ["+1415556"],
        "allow_countries": ["JM"],
        "deny_countries": [],
        "version": 2,
    }
    status, out, _ = run(moto_store, "country", "allow", "JM")
    assert (status, out) == (0, "country JM: allowed already; nothing changed\n")


def test_the_command_places_lists_and_releases_holds(moto_store: Store) -> None:
    status, out, _ = run(moto_store, "hold", "place", "country", "JM", "--hours", "6")
    assert status == 0
    assert out.startswith("country JM: held until ")
    status, out, _ = run(moto_store, "holds", "list")
    assert status == 0
    assert "country  JM" in out
    assert "reason operator" in out
    assert run(moto_store, "hold", "release", "country", "JM")[1] == (
        "released the hold on country JM (the test's tables)\n"
    )
    assert run(moto_store, "hold", "release", "country", "JM")[1] == (
        "no hold on country JM: nothing to release\n"
    )
    assert run(moto_store, "holds", "list")[1] == "no holds\n"


def test_the_command_shows_the_operators_changes_newest_first(moto_store: Store) -> None:
    assert run(moto_store, "audit")[1] == "no operator changes\n"
    run(moto_store, "prefix", "deny", "+1415556")
    run(moto_store, "prefix", "deny", "+1415556")  # nothing changed: not a record
    run(moto_store, "hold", "place", "prefix", "+1415556", "--hours", "1")
    status, out, _ = run(moto_store, "audit", "--limit", "5")
    assert status == 0
    newest, oldest = out.splitlines()
    assert " hold_placed change=place list=holds scope=prefix target=+1415556 " in newest
    assert newest.endswith(f" reason=operator by={OPERATOR}")
    assert oldest.endswith(
        f" fraud_rules_changed change=deny list=prefixes value=+1415556 by={OPERATOR}"
    )


# -- the operators' IAM policy allows what the command does, and no more is needed ------------
def policy_statements() -> list[dict[str, Any]]:
    resource = load_template()["Resources"]["FraudGuardOperatorPolicy"]
    statements: list[dict[str, Any]] = resource["Properties"]["PolicyDocument"]["Statement"]
    return statements


def leading_key(operation: str, params: dict[str, Any]) -> str | None:
    """The partition key value a DynamoDB call (or a transaction's item) is about."""
    if operation == "Query":
        return str(params["ExpressionAttributeValues"][":s"]["S"])
    item = params.get("Key") or params.get("Item") or {}
    for name in ("pk", "subject"):
        if name in item:
            return str(item[name]["S"])
    return None


def allows(statement: dict[str, Any], action: str, table: str, call: dict[str, Any]) -> bool:
    actions = (
        statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
    )
    if statement["Effect"] != "Allow" or action not in actions:
        return False
    if statement["Resource"] != {"Fn::GetAtt": [table, "Arn"]}:
        return False
    for operator, tests in statement.get("Condition", {}).items():
        for name, wanted in tests.items():
            wanted = wanted if isinstance(wanted, list) else [wanted]
            if name == "dynamodb:LeadingKeys":
                key = call["key"]
                like = operator.endswith("StringLike")
                if key is None or not any(
                    fnmatch.fnmatchcase(key, w) if like else key == w for w in wanted
                ):
                    return False
            elif name == "dynamodb:Attributes":
                projected = {
                    call["names"].get(part.strip(), part.strip())
                    for part in call["projection"].split(",")
                }
                if not projected <= set(wanted):
                    return False
            elif name == "dynamodb:Select":
                if call["select"] not in wanted:
                    return False
            else:
                raise AssertionError(f"a condition this test cannot judge: {name}")
    return True


def test_the_operators_policy_allows_every_call_the_command_makes(moto_store: Store) -> None:
    logical = {
        moto_store.tables.rate_limits: "RateLimitsTable",
        moto_store.tables.audit: "AuditTable",
    }
    calls: list[dict[str, Any]] = []

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        bodies = (
            [
                (f"dynamodb:{TRANSACT_ACTIONS[k]}", b)
                for i in params["TransactItems"]
                for k, b in i.items()
            ]
            if model.name == "TransactWriteItems"
            else [(f"dynamodb:{model.name}", params)]
        )
        for action, body in bodies:
            calls.append(
                {
                    "action": action,
                    "table": logical[body["TableName"]],
                    "key": leading_key(model.name, body),
                    "projection": body.get("ProjectionExpression", ""),
                    "names": body.get("ExpressionAttributeNames", {}),
                    "select": body.get("Select"),
                }
            )

    moto_store.client.meta.events.register("provide-client-params.dynamodb", record)
    # When every command runs, changing something and then nothing
    for argv in (
        ["rules", "show"],
        ["prefix", "deny", "+1415556"],
        ["prefix", "deny", "+1415556"],
        ["country", "allow", "JM"],
        ["country", "unlist", "JM"],
        ["hold", "place", "prefix", "+1415556", "--hours", "2"],
        ["hold", "place", "prefix", "+1415556", "--hours", "1"],
        ["holds", "list"],
        ["hold", "release", "prefix", "+1415556"],
        ["hold", "release", "country", "JM"],
        ["audit"],
    ):
        assert run(moto_store, *argv)[0] == 0, argv
    # Then each call is allowed by a statement of the policy (its action, its table, its keys)
    statements = policy_statements()
    assert {call["action"] for call in calls} == {
        "dynamodb:GetItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:PutItem",
        "dynamodb:Scan",
        "dynamodb:Query",
    }
    for call in calls:
        assert any(
            allows(statement, call["action"], call["table"], call) for statement in statements
        ), call


def test_the_operators_policy_refuses_the_counters_and_other_subjects() -> None:
    statements = policy_statements()

    def allowed(action: str, table: str, key: str) -> bool:
        call = {"key": key, "projection": "", "names": {}, "select": None}
        return any(allows(s, action, table, call) for s in statements)

    assert allowed("dynamodb:UpdateItem", "RateLimitsTable", "rules#fraud")
    assert allowed("dynamodb:DeleteItem", "RateLimitsTable", "hold#prefix#+1415556")
    assert not allowed("dynamodb:UpdateItem", "RateLimitsTable", "global#1800000000#0")
    assert not allowed("dynamodb:DeleteItem", "RateLimitsTable", "fail#demo-user")
    assert not allowed("dynamodb:DeleteItem", "RateLimitsTable", "rules#fraud")
    assert not allowed("dynamodb:PutItem", "AuditTable", "demo-user")
    assert not allowed("dynamodb:GetItem", "UsersTable", "USER#demo-user")


# -- the exchange rates: one SSM parameter (moto), its audit records in AuditTable ------------
RATES_PARAM = "/phone-verify/dev/fx-rates"


def template_rates_value() -> str:
    """FxRatesParameter's value as the template creates it (PaymentReferenceCurrency USD)."""
    value = load_template()["Resources"]["FxRatesParameter"]["Properties"]["Value"]["Fn::Sub"]
    return str(value).replace("${PaymentReferenceCurrency}", "USD")


@pytest.fixture
def rates_store(moto_store: Store) -> Iterator[tuple[Store, Any]]:
    ssm = boto3.client("ssm", region_name="us-east-1")
    ssm.put_parameter(Name=RATES_PARAM, Value=template_rates_value(), Type="String")
    yield moto_store, ssm


def run_rates(store: Store, ssm: Any, *argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    target = Target(
        store.client, store.tables, OPERATOR, "the test's tables", ssm=ssm, rates_param=RATES_PARAM
    )
    status = main(list(argv), env={}, out=out, err=err, connect=lambda *_: target)
    return status, out.getvalue(), err.getvalue()


def test_rates_set_unset_and_show_and_each_change_is_audited(
    rates_store: tuple[Store, Any],
) -> None:
    store, ssm = rates_store
    # Given the table as the template creates it: the reference currency, no rate
    status, out, _ = run_rates(store, ssm, "rates", "show")
    assert (status, json.loads(out)) == (0, {"reference": "USD", "rates": {}, "version": 1})
    # When an operator sets two rates, one twice, then unsets one
    status, out, _ = run_rates(store, ssm, "rates", "set", "eur", "1.080")
    assert status == 0
    assert out.startswith("EUR = 1.08 USD (was none; version 2, the test's tables)")
    assert run_rates(store, ssm, "rates", "set", "EUR", "1.08")[1] == (
        "EUR = 1.08 USD already; nothing changed\n"
    )
    assert run_rates(store, ssm, "rates", "set", "GBP", "1.27")[0] == 0
    assert run_rates(store, ssm, "rates", "set", "EUR", "1.09")[1].startswith(
        "EUR = 1.09 USD (was 1.08 USD; version 4"
    )
    assert run_rates(store, ssm, "rates", "unset", "GBP")[1].startswith(
        "GBP: no rate (was 1.27 USD; version 5"
    )
    assert run_rates(store, ssm, "rates", "unset", "GBP")[1] == (
        "GBP: no rate already; nothing changed\n"
    )
    # Then the parameter holds the table, stamped, and SSM counted each write
    shown = json.loads(run_rates(store, ssm, "rates", "show")[1])
    assert shown["rates"] == {"EUR": "1.09"} and shown["version"] == 5
    assert (shown["updated_by"], shown["reference"]) == (OPERATOR, "USD")
    # and each change is one audit record, nothing for the changes that changed nothing
    records = store.audit()
    assert [(r["event"], r["flow"]) for r in records] == [("fx_rates_changed", "payment")] * 4
    assert [
        (d["change"], d["value"], d["rate"], d["previous"], d["version"], d["by"])
        for d in (r["detail"] for r in records)
    ] == [
        ("set", "EUR", "1.08", "", "2", OPERATOR),
        ("set", "GBP", "1.27", "", "3", OPERATOR),
        ("set", "EUR", "1.09", "1.08", "4", OPERATOR),
        ("unset", "GBP", "", "1.27", "5", OPERATOR),
    ]
    newest = run_rates(store, ssm, "audit", "--limit", "1")[1]
    assert " fx_rates_changed change=unset value=GBP rate= previous=1.27 version=5 by=" in newest


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["rates", "set", "EUR", "0"], "'0'"),
        (["rates", "set", "EUR", "-1"], "'-1'"),
        (["rates", "set", "KYD", "1.0000000000001"], "'1.0000000000001'"),
        (["rates", "set", "XXX", "1"], "'XXX'"),
    ],
)
def test_a_bad_rate_exits_2_naming_it_and_changes_nothing(
    rates_store: tuple[Store, Any], argv: list[str], named: str
) -> None:
    store, ssm = rates_store
    status, out, err = run_rates(store, ssm, *argv)
    assert (status, out) == (2, "")
    assert named in err and err.count("\n") == 1
    assert ssm.get_parameter(Name=RATES_PARAM)["Parameter"]["Version"] == 1
    assert store.audit() == []


def test_the_reference_currency_and_a_missing_parameter_exit_1_saying_why(
    rates_store: tuple[Store, Any],
) -> None:
    store, ssm = rates_store
    status, _, err = run_rates(store, ssm, "rates", "set", "USD", "1")
    assert status == 1 and "USD is the reference currency" in err
    ssm.delete_parameter(Name=RATES_PARAM)
    status, _, err = run_rates(store, ssm, "rates", "show")
    assert status == 1 and f"no parameter {RATES_PARAM}" in err


def test_the_payment_function_reads_the_rates_the_command_wrote(
    rates_store: tuple[Store, Any],
) -> None:
    from phoneverify.adapters.fx_rates import SsmRateSource
    from phoneverify.adapters.ssm import SsmSecrets
    from phoneverify.domain.money import parse_money

    store, ssm = rates_store
    assert run_rates(store, ssm, "rates", "set", "EUR", "1.08")[0] == 0
    metrics: list[str] = []
    written = json.loads(ssm.get_parameter(Name=RATES_PARAM)["Parameter"]["Value"])
    source = SsmRateSource(
        SsmSecrets(max_age=0),
        RATES_PARAM,
        "USD",
        FakeClock(written["updated_at"] + 60),  # a minute after the change
        max_age_secs=7 * 86_400,
        metric=metrics.append,
    )
    assert source.current().to_reference_minor(parse_money("89.99", "EUR")) == 9_719
    assert source.current().to_reference_minor(parse_money("79.99", "KYD")) is None
    assert metrics == []


def test_the_operators_policy_allows_the_rates_calls_on_the_rates_parameter_only(
    rates_store: tuple[Store, Any],
) -> None:
    store, ssm = rates_store
    called: set[str] = set()

    def record(params: dict[str, Any], model: Any, **_: Any) -> None:
        assert params["Name"] == RATES_PARAM
        called.add(f"ssm:{model.name}")

    ssm.meta.events.register("provide-client-params.ssm", record)
    for argv in (["rates", "show"], ["rates", "set", "EUR", "1.08"], ["rates", "unset", "EUR"]):
        assert run_rates(store, ssm, *argv)[0] == 0
    [statement] = [s for s in policy_statements() if s.get("Sid") == "ExchangeRates"]
    assert called <= set(statement["Action"])
    assert "ssm:GetParameterHistory" in statement["Action"]  # a change written in between
    assert statement["Resource"] == {
        "Fn::Sub": "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter"
        "${FxRatesParameterName}"
    }
