"""`python -m ops [--stack NAME | --local] <command>` (`make admin ARGS="..."`).

    rules show                                the rules item, as JSON on one line
    prefix allow|deny|unlist <prefix>         e.g. prefix deny +1415556
    country allow|deny|unlist <CC>            e.g. country allow JM
    holds list                                every hold: what, until when, why
    hold release prefix|country <value>       end a hold now
    hold place prefix|country <value> --hours N
    rates show                                the exchange rates, as JSON on one line
    rates set <CUR> <RATE>                    e.g. rates set EUR 1.08 (USD per EUR)
    rates unset <CUR>                         its payments then always ask for a code
    audit [--limit N]                         the newest operator changes (default 10)

Exit status: 0 done (or nothing to do: every command is idempotent), 1 the target or AWS
refused or could not be reached, 2 the command line was wrong (one line naming what).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from typing import NoReturn, TextIO

import boto3
from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

from ops.fraud_rules import Change, FraudAdmin, iso
from ops.fx_rates import RatesAdmin, RatesChange, RatesError
from ops.inputs import (
    BadInput,
    Scope,
    parse_currency,
    parse_exchange_rate,
    parse_hours,
    parse_limit,
    parse_target,
)
from ops.targets import (
    Target,
    TargetError,
    environment_target,
    local_target,
    stack_target,
)
from phoneverify.domain.errors import StorageUnavailable
from phoneverify.domain.rates import rate_text

PROG = "python -m ops"
RULES_MAX_AGE_SECS = 60  # FRAUD_RULES_MAX_AGE_SECS' default: how long functions cache the rules
RATES_MAX_AGE_SECS = 300  # SECRETS_MAX_AGE_SECS' default: how long functions cache the rates
DETAIL_ORDER = (
    "change",
    "list",
    "scope",
    "target",
    "value",
    "until",
    "reason",
    "rate",
    "previous",
    "version",
    "by",
)
DONE = {Change.ALLOW: "allowed", Change.DENY: "denied", Change.UNLIST: "in neither list"}


class _Parser(argparse.ArgumentParser):
    """argparse, but a wrong command line is one line on stderr (and exit status 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see {PROG} --help)\n")


def parser() -> argparse.ArgumentParser:
    # The target may be named before the command or after it.
    where = _Parser(add_help=False)
    chosen = where.add_mutually_exclusive_group()
    chosen.add_argument(
        "--stack",
        metavar="NAME",
        default=argparse.SUPPRESS,
        help="a deployed stack: its RateLimitsTableName and AuditTableName outputs",
    )
    chosen.add_argument(
        "--local",
        action="store_true",
        default=argparse.SUPPRESS,
        help="the stack `make run` serves (127.0.0.1:$AWS_PORT, default 4575)",
    )
    top = _Parser(
        prog=PROG,
        description="Fraud guard rules and holds, and the payments' exchange rates, changed "
        "without a deploy; each change is audited (subject 'operator'). Without --stack or "
        "--local: the tables named by RATE_LIMITS_TABLE and AUDIT_TABLE, the rates' parameter "
        "by FX_RATES_PARAM.",
        parents=[where],
    )
    commands = top.add_subparsers(dest="command", required=True, parser_class=_Parser)

    rules = commands.add_parser("rules", help="the allow and deny lists")
    rules.add_subparsers(dest="action", required=True, parser_class=_Parser).add_parser(
        "show", parents=[where], help="print the rules item as JSON"
    )
    for scope, example in ((Scope.PREFIX, "+1415556"), (Scope.COUNTRY, "JM")):
        listed = commands.add_parser(
            scope.value,
            parents=[where],
            help=f"allow, deny or unlist a {scope.value} (e.g. {scope.value} deny {example})",
        )
        listed.add_argument("action", choices=[change.value for change in Change])
        listed.add_argument("value", metavar=scope.value.upper())

    holds = commands.add_parser("holds", help="the holds in the table")
    holds.add_subparsers(dest="action", required=True, parser_class=_Parser).add_parser(
        "list", parents=[where], help="every hold: what, until when, why"
    )
    hold = commands.add_parser("hold", help="release or place one hold")
    actions = hold.add_subparsers(dest="action", required=True, parser_class=_Parser)
    for action, text in (("release", "end a hold now"), ("place", "hold for --hours from now")):
        one = actions.add_parser(action, parents=[where], help=text)
        one.add_argument("scope", choices=[scope.value for scope in Scope])
        one.add_argument("value", metavar="PREFIX|CC")
        if action == "place":
            one.add_argument("--hours", required=True, metavar="N", help="1 to 720")
    rates = commands.add_parser(
        "rates", help="the exchange rates of the payments' cumulative limit (docs/payments.md)"
    )
    rate_actions = rates.add_subparsers(dest="action", required=True, parser_class=_Parser)
    rate_actions.add_parser("show", parents=[where], help="print the rate table as JSON")
    set_rate = rate_actions.add_parser(
        "set", parents=[where], help="units of the reference currency per unit of CUR"
    )
    set_rate.add_argument("currency", metavar="CUR", help="ISO 4217, e.g. EUR")
    set_rate.add_argument("rate", metavar="RATE", help="a positive decimal, e.g. 1.08")
    unset_rate = rate_actions.add_parser(
        "unset", parents=[where], help="remove a rate: its payments always ask for a code"
    )
    unset_rate.add_argument("currency", metavar="CUR")
    audit = commands.add_parser(
        "audit", parents=[where], help="the newest operator changes, newest first"
    )
    audit.add_argument("--limit", default="10", metavar="N", help="1 to 1000 (default 10)")
    return top


def main(
    argv: Sequence[str] | None = None,
    *,
    env: Mapping[str, str] | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
    connect: Callable[[argparse.Namespace, Mapping[str, str]], Target] | None = None,
) -> int:
    """The command; `env`, the streams and `connect` (the target of the parsed arguments)
    are what tests replace."""
    env = os.environ if env is None else env
    out = out or sys.stdout
    err = err or sys.stderr
    args = parser().parse_args(argv)
    try:
        run = command(args)  # checks every value before anything is sent
        target = (connect or resolve)(args, env)
        run(
            FraudAdmin(
                target.client,
                target.tables,
                by=target.by,
                audit_retention_secs=target.audit_retention_secs,
            ),
            target,
            out,
        )
    except BadInput as exc:
        print(f"{PROG}: {exc}", file=err)
        return 2
    except (TargetError, RatesError, StorageUnavailable, ClientError, BotoCoreError) as exc:
        print(f"{PROG}: {failure(exc)}", file=err)
        return 1
    return 0


def resolve(args: argparse.Namespace, env: Mapping[str, str]) -> Target:
    if getattr(args, "local", False):
        return local_target(env)
    session = boto3.Session()
    if getattr(args, "stack", None):
        return stack_target(args.stack, env, session)
    return environment_target(env, session)


def failure(exc: Exception) -> str:
    """One line for what went wrong with the target or AWS; never a credential."""
    cause = exc.__cause__ if isinstance(exc, StorageUnavailable) else exc
    if isinstance(cause, EndpointConnectionError):
        return (
            f"nothing answers at {cause.kwargs.get('endpoint_url', 'the endpoint')}: "
            "is `make run` up (and AWS_PORT the one it uses)?"
        )
    if isinstance(cause, ClientError):
        error = cause.response.get("Error", {})
        operation = getattr(cause, "operation_name", "the call")
        return f"{operation} refused: {error.get('Code', '?')}: {error.get('Message', '')}"
    if isinstance(exc, StorageUnavailable):
        return "DynamoDB is throttling or unavailable: try again in a moment"
    return str(exc) or type(exc).__name__


Run = Callable[[FraudAdmin, Target, TextIO], None]


def command(args: argparse.Namespace) -> Run:
    """The parsed command as a function of the admin, its values checked (BadInput)."""
    if args.command == "rules":
        return lambda admin, _target, out: print(json.dumps(admin.rules().as_json()), file=out)
    if args.command in {scope.value for scope in Scope}:
        scope, change = Scope(args.command), Change(args.action)
        value = parse_target(scope, args.value)

        def change_list(admin: FraudAdmin, target: Target, out: TextIO) -> None:
            changed = admin.change(scope, change, value)
            rules = admin.rules()
            if changed:
                print(
                    f"{scope.value} {value}: {DONE[change]} (rules version {rules.version}, "
                    f"{target.where}); functions apply it within FRAUD_RULES_MAX_AGE_SECS "
                    f"({RULES_MAX_AGE_SECS} s by default)",
                    file=out,
                )
            else:
                print(f"{scope.value} {value}: {DONE[change]} already; nothing changed", file=out)

        return change_list
    if args.command == "holds":
        return list_holds
    if args.command == "rates":
        return rates_command(args)
    if args.command == "audit":
        limit = parse_limit(args.limit)
        return lambda admin, _target, out: print_audit(admin, limit, out)
    scope = Scope(args.scope)
    value = parse_target(scope, args.value)
    if args.action == "release":

        def release(admin: FraudAdmin, target: Target, out: TextIO) -> None:
            if admin.release(scope, value):
                print(f"released the hold on {scope.value} {value} ({target.where})", file=out)
            else:
                print(f"no hold on {scope.value} {value}: nothing to release", file=out)

        return release
    hours = parse_hours(args.hours)

    def place(admin: FraudAdmin, target: Target, out: TextIO) -> None:
        placed = admin.place(scope, value, hours)
        hold = placed.hold
        if placed.placed:
            print(
                f"{scope.value} {value}: held until {iso(hold.until)} (reason operator, "
                f"{target.where})",
                file=out,
            )
        else:
            print(
                f"{scope.value} {value}: held until {iso(hold.until)} already (reason "
                f"{hold.reason}); nothing changed",
                file=out,
            )

    return place


def rates_admin(target: Target) -> RatesAdmin:
    if not target.rates_param or target.ssm is None:
        raise TargetError(
            f"{target.where} names no exchange rates parameter: deploy this template.yaml "
            "(output FxRatesParameterName), or name it with FX_RATES_PARAM"
        )
    return RatesAdmin(
        target.ssm,
        target.rates_param,
        target.client,
        target.tables.audit,
        by=target.by,
        audit_retention_secs=target.audit_retention_secs,
    )


def rates_command(args: argparse.Namespace) -> Run:
    """rates show|set|unset, its values checked (BadInput) before anything is sent."""
    if args.action == "show":

        def show(_admin: FraudAdmin, target: Target, out: TextIO) -> None:
            table, version = rates_admin(target).show()
            print(json.dumps({**table.as_json(), "version": version}), file=out)

        return show
    currency = parse_currency(args.currency)
    if args.action == "set":
        rate = parse_exchange_rate(args.rate, currency)
        return lambda _admin, target, out: said(
            rates_admin(target).set(currency, rate), currency, target, out
        )
    return lambda _admin, target, out: said(
        rates_admin(target).unset(currency), currency, target, out
    )


def said(change: RatesChange, currency: str, target: Target, out: TextIO) -> None:
    table = change.table
    rate = table.rates.get(currency)
    now = (
        f"{currency} = {rate_text(rate)} {table.reference}"
        if rate is not None
        else f"{currency}: no rate"
    )
    if not change.changed:
        print(f"{now} already; nothing changed", file=out)
        return
    before = (
        "none" if change.previous is None else f"{rate_text(change.previous)} {table.reference}"
    )
    print(
        f"{now} (was {before}; version {change.version}, {target.where}); payments apply it "
        f"within SECRETS_MAX_AGE_SECS ({RATES_MAX_AGE_SECS} s by default)",
        file=out,
    )


def list_holds(admin: FraudAdmin, _target: Target, out: TextIO) -> None:
    holds = admin.holds()
    if not holds:
        print("no holds", file=out)
        return
    now = time.time()
    for hold in holds:
        state = "in force" if hold.in_force(now) else "ended"
        print(
            f"{hold.scope.value:<8} {hold.target:<16} until {iso(hold.until)}  {state:<8}  "
            f"reason {hold.reason or '-'}",
            file=out,
        )


def print_audit(admin: FraudAdmin, limit: int, out: TextIO) -> None:
    records = admin.audit(limit)
    if not records:
        print("no operator changes", file=out)
    for record in records:
        detail = record.get("detail") or {}
        order = {key: n for n, key in enumerate(DETAIL_ORDER)}
        keys = sorted(detail, key=lambda key: (order.get(key, len(order)), key))
        what = " ".join(f"{key}={detail[key]}" for key in keys)
        print(f"{record.get('at', '?')} {record.get('event', '?')} {what}", file=out)
