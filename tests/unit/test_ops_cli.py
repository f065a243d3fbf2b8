"""The operators' command line (ops/): what it accepts, what it refuses before anything is
sent (exit status 2, one line naming the value), and how it finds its target."""

from __future__ import annotations

import io
from collections.abc import Mapping
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

from ops.cli import failure, main, parser
from ops.inputs import BadInput, parse_country, parse_hours, parse_prefix
from ops.targets import LOCAL_TABLES, TargetError, environment_target, local_target, stack_target
from phoneverify.domain.errors import StorageUnavailable

ARN = "arn:aws:iam::123456789012:user/alice"


def never_connect(*_: object) -> Any:
    raise AssertionError("nothing may be sent for a refused command line")


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    status = main(list(argv), env={}, out=out, err=err, connect=never_connect)
    return status, out.getvalue(), err.getvalue()


# -- values -------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("+1415556", "+1415556"),
        (" +44 ", "+44"),
        ("+979123", "+979123"),
        ("+1" + "2" * 13, "+1" + "2" * 13),
    ],
)
def test_a_prefix_is_plus_and_digits_beginning_with_a_country_code(given: str, stored: str) -> None:
    assert parse_prefix(given) == stored


@pytest.mark.parametrize(
    "refused",
    [
        "1415556",  # no "+"
        "+",
        "+0123",  # no country code begins with 0
        "+999",  # no country code
        "+4",  # not a whole country code
        "+1415556x",
        "+1 415 556",
        "+1" + "2" * 14,  # 15 digits: a whole number, not a prefix
        "+١٤١٥",  # digits, but not ASCII
        "",
    ],
)
def test_anything_else_is_refused_naming_it(refused: str) -> None:
    with pytest.raises(BadInput) as bad:
        parse_prefix(refused)
    assert repr(refused) in str(bad.value)
    assert "\n" not in str(bad.value)


@pytest.mark.parametrize(("given", "stored"), [("US", "US"), ("jm", "JM"), (" gb ", "GB")])
def test_a_country_is_a_region_phone_numbers_are_issued_under(given: str, stored: str) -> None:
    assert parse_country(given) == stored


@pytest.mark.parametrize(
    "refused", ["XX", "USA", "U", "1A", "", "EU", "\uff35\uff33"]
)  # fullwidth US
def test_other_country_codes_are_refused_naming_them(refused: str) -> None:
    with pytest.raises(BadInput, match="not a country"):
        parse_country(refused)


@pytest.mark.parametrize(("given", "hours"), [("1", 1), ("720", 720), (" 6 ", 6)])
def test_a_hold_lasts_whole_hours(given: str, hours: int) -> None:
    assert parse_hours(given) == hours


@pytest.mark.parametrize("refused", ["0", "721", "1.5", "-1", "six", "٣", ""])
def test_other_durations_are_refused(refused: str) -> None:
    with pytest.raises(BadInput, match="not a number of hours"):
        parse_hours(refused)


# -- the command line ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["prefix", "deny", "1415556"], "'1415556'"),
        (["country", "allow", "XX"], "'XX'"),
        (["hold", "release", "prefix", "+0"], "'+0'"),
        (["hold", "place", "country", "JM", "--hours", "0"], "'0'"),
        # exchange rates: a positive decimal of bounded precision, for a currency that exists
        (["rates", "set", "EUR", "0"], "'0'"),
        (["rates", "set", "EUR", "0.000"], "'0.000'"),
        (["rates", "set", "EUR", "-1.08"], "'-1.08'"),
        (["rates", "set", "EUR", "1,08"], "'1,08'"),
        (["rates", "set", "EUR", "1e3"], "'1e3'"),
        (["rates", "set", "EUR", "1.0000000000001"], "'1.0000000000001'"),
        (["rates", "set", "EURO", "1.08"], "'EURO'"),
        (["rates", "set", "XYZ", "1.08"], "'XYZ'"),
        (["rates", "unset", "E"], "'E'"),
    ],
)
def test_a_bad_value_exits_2_with_one_line_and_sends_nothing(argv: list[str], named: str) -> None:
    status, out, err = run("--local", *argv)
    assert status == 2
    assert out == ""
    assert err.count("\n") == 1
    assert err.startswith("python -m ops: ")
    assert named in err


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["prefix", "block", "+1415556"],
        ["rules"],
        ["hold", "place", "prefix", "+1415556"],  # no --hours
        ["hold", "release", "region", "JM"],
        ["--local", "--stack", "phone-verify-dev", "rules", "show"],
        ["rates"],
        ["rates", "set", "EUR"],
        ["rates", "unset"],
        ["rates", "convert", "EUR"],
    ],
)
def test_a_wrong_command_line_exits_2_with_one_line(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        run(*argv)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "python -m ops --help" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["--local", "prefix", "deny", "+1415556"],
        ["prefix", "deny", "+1415556", "--local"],
        ["hold", "place", "prefix", "+1415556", "--local", "--hours", "2"],
    ],
)
def test_the_target_may_be_named_before_or_after_the_command(argv: list[str]) -> None:
    assert parser().parse_args(argv).local is True


def test_a_stack_is_named_by_its_name() -> None:
    args = parser().parse_args(["holds", "list", "--stack", "phone-verify-prod"])
    assert args.stack == "phone-verify-prod"
    assert not hasattr(args, "local")


# -- targets ------------------------------------------------------------------------------------
def test_local_is_the_make_run_stack_on_its_aws_port() -> None:
    target = local_target({"AWS_PORT": "4675"})
    assert target.client.meta.endpoint_url == "http://127.0.0.1:4675"
    assert target.tables == LOCAL_TABLES
    assert target.by == "local"
    assert local_target({}).client.meta.endpoint_url == "http://127.0.0.1:4575"
    # make run with DYNAMODB_ENDPOINT keeps its tables there
    other = local_target({"DYNAMODB_ENDPOINT": "http://127.0.0.1:8000", "AWS_PORT": "4675"})
    assert other.client.meta.endpoint_url == "http://127.0.0.1:8000"
    # the exchange rates are in moto's SSM, under the template's default name, either way
    assert other.ssm.meta.endpoint_url == "http://127.0.0.1:4675"
    assert other.rates_param == "/phone-verify/dev/fx-rates"


@pytest.mark.parametrize("env", [{"AWS_PORT": "x"}, {"AUDIT_RETENTION_DAYS": "0"}])
def test_a_bad_local_setting_is_named(env: dict[str, str]) -> None:
    with pytest.raises(TargetError, match=next(iter(env))):
        local_target(env)


class FakeSession:
    """What the command asks of boto3: a stack's outputs and the caller's identity."""

    def __init__(self, outputs: Mapping[str, str]) -> None:
        self.outputs = outputs
        self.asked: list[str] = []

    def client(self, service: str) -> Any:
        self.asked.append(service)
        session = self

        class Client:
            def describe_stacks(self, StackName: str) -> dict[str, Any]:
                outputs = [{"OutputKey": k, "OutputValue": v} for k, v in session.outputs.items()]
                return {"Stacks": [{"StackName": StackName, "Outputs": outputs}]}

            def get_caller_identity(self) -> dict[str, str]:
                return {"Arn": ARN, "Account": "123456789012"}

        return Client() if service != "dynamodb" else object()


def test_a_stack_gives_its_table_names_and_the_caller_is_recorded() -> None:
    session = FakeSession(
        {"RateLimitsTableName": "pv-RateLimits-1", "AuditTableName": "pv-Audit-1", "ApiUrl": "x"}
    )
    target = stack_target("phone-verify-dev", {}, session)  # type: ignore[arg-type]
    assert (target.tables.rate_limits, target.tables.audit) == ("pv-RateLimits-1", "pv-Audit-1")
    assert target.by == ARN
    assert target.where == "stack phone-verify-dev"
    assert target.rates_param == ""  # deployed before the rates: `rates` says so (below)
    with_rates = FakeSession(
        {
            "RateLimitsTableName": "pv-RateLimits-1",
            "AuditTableName": "pv-Audit-1",
            "FxRatesParameterName": "/phone-verify/prod/fx-rates",
        }
    )
    rated = stack_target("phone-verify-prod", {}, with_rates)  # type: ignore[arg-type]
    assert rated.rates_param == "/phone-verify/prod/fx-rates"


def test_rates_on_a_target_without_the_parameter_exit_1_saying_how_to_name_it() -> None:
    session = FakeSession({"RateLimitsTableName": "rl", "AuditTableName": "audit"})
    err = io.StringIO()
    status = main(
        ["rates", "show", "--stack", "old"],
        env={},
        err=err,
        connect=lambda args, env: stack_target(args.stack, env, session),  # type: ignore[arg-type]
    )
    assert status == 1
    assert "FxRatesParameterName" in err.getvalue() and "FX_RATES_PARAM" in err.getvalue()


def test_a_stack_without_the_outputs_says_which_are_missing() -> None:
    session = FakeSession({"AuditTableName": "pv-Audit-1"})
    with pytest.raises(TargetError, match="no output RateLimitsTableName"):
        stack_target("phone-verify-dev", {}, session)  # type: ignore[arg-type]


def test_without_a_target_the_tables_come_from_the_environment() -> None:
    session = FakeSession({})
    env = {"RATE_LIMITS_TABLE": "rl", "AUDIT_TABLE": "audit"}
    target = environment_target(env, session)  # type: ignore[arg-type]
    assert (target.tables.rate_limits, target.tables.audit, target.by) == ("rl", "audit", ARN)
    rates = environment_target({**env, "FX_RATES_PARAM": "/pv/fx"}, session)  # type: ignore[arg-type]
    assert rates.rates_param == "/pv/fx"
    with pytest.raises(TargetError, match="--stack NAME"):
        environment_target({"RATE_LIMITS_TABLE": "rl"}, session)  # type: ignore[arg-type]


def test_no_target_exits_1_saying_how_to_name_one() -> None:
    def no_target(*_: object) -> Any:
        raise TargetError("no target: name one with --stack NAME")

    err = io.StringIO()
    assert main(["rules", "show"], env={}, err=err, connect=no_target) == 1
    assert err.getvalue() == "python -m ops: no target: name one with --stack NAME\n"


# -- failures -----------------------------------------------------------------------------------
def test_failures_are_one_line_saying_what_to_do() -> None:
    unreachable = StorageUnavailable()
    unreachable.__cause__ = EndpointConnectionError(endpoint_url="http://127.0.0.1:4575/")
    assert failure(unreachable) == (
        "nothing answers at http://127.0.0.1:4575/: is `make run` up (and AWS_PORT the one it "
        "uses)?"
    )
    denied = ClientError(
        {"Error": {"Code": "AccessDeniedException", "Message": "not authorized"}},
        "TransactWriteItems",
    )
    assert failure(denied) == ("TransactWriteItems refused: AccessDeniedException: not authorized")
    assert failure(NoCredentialsError()) == "Unable to locate credentials"
    assert "throttling" in failure(StorageUnavailable())
