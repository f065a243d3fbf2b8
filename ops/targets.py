"""Which deployment the command changes, and who is changing it.

- `--stack NAME`: a deployed stack; its table names are its outputs (RateLimitsTableName,
  AuditTableName) and so is the exchange rates' parameter (FxRatesParameterName), the caller
  is whoever the AWS credentials say (STS GetCallerIdentity).
- `--local`: the stack `make run` serves: moto's endpoint on 127.0.0.1:$AWS_PORT (or
  $DYNAMODB_ENDPOINT, as `make run` uses it, for DynamoDB), the tables named by their
  logical ids (devtools/aws_resources.py), the template's default parameter names, the
  caller "local".
- neither: the tables named by RATE_LIMITS_TABLE and AUDIT_TABLE and the parameter named by
  FX_RATES_PARAM, with the AWS credentials and endpoint of the environment.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config

from ops.fraud_rules import AUDIT_RETENTION_SECS, Tables

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
else:
    DynamoDBClient = Any

# devtools/local_stack/ports.py PORT_VARIABLES["AWS_PORT"], config.py REGION, tables by logical id.
LOCAL_AWS_PORT = 4575
LOCAL_REGION = "us-east-1"
LOCAL_TABLES = Tables(rate_limits="RateLimitsTable", audit="AuditTable")
LOCAL_CALLER = "local"
LOCAL_RATES_PARAM = "/phone-verify/dev/fx-rates"  # template.yaml FxRatesParameterName default
# A local stack answers at once or is not up: say so in seconds, not after botocore's retries.
LOCAL_CONFIG = Config(connect_timeout=2, read_timeout=10, retries={"max_attempts": 2})
OUTPUTS = {"rate_limits": "RateLimitsTableName", "audit": "AuditTableName"}
RATES_OUTPUT = "FxRatesParameterName"  # absent from stacks deployed before the rates existed


class TargetError(Exception):
    """The target cannot be used as named: one line saying why and what to do."""


@dataclass(frozen=True)
class Target:
    client: DynamoDBClient
    tables: Tables
    by: str  # the caller's identity, recorded in every audit record
    where: str  # said in messages: which deployment this is
    audit_retention_secs: int = AUDIT_RETENTION_SECS
    ssm: Any = None  # the SSM client of the exchange rates' parameter
    rates_param: str = ""  # its name ("": this target names none)


def audit_retention(env: Mapping[str, str]) -> int:
    """AUDIT_RETENTION_DAYS (the functions' setting, 365 by default) in seconds."""
    raw = env.get("AUDIT_RETENTION_DAYS", "").strip()
    if not raw:
        return AUDIT_RETENTION_SECS
    if not raw.isdigit() or not 1 <= int(raw) <= 3_650:
        raise TargetError(f"AUDIT_RETENTION_DAYS={raw!r} is not a number of days (1 to 3650)")
    return int(raw) * 86_400


def local_target(env: Mapping[str, str]) -> Target:
    port = env.get("AWS_PORT", "").strip() or str(LOCAL_AWS_PORT)
    if not port.isdigit() or not 0 < int(port) < 65_536:
        raise TargetError(f"AWS_PORT={port!r} is not a port number (1-65535)")
    endpoint = env.get("DYNAMODB_ENDPOINT", "").strip() or f"http://127.0.0.1:{port}"
    client = boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name=LOCAL_REGION,
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 - moto and DynamoDB Local accept any
        config=LOCAL_CONFIG,
    )
    ssm = boto3.client(
        "ssm",
        endpoint_url=f"http://127.0.0.1:{port}",  # moto: SSM is never DynamoDB Local's
        region_name=LOCAL_REGION,
        aws_access_key_id="local",
        aws_secret_access_key="local",  # noqa: S106 - moto accepts any
        config=LOCAL_CONFIG,
    )
    return Target(
        client,
        LOCAL_TABLES,
        LOCAL_CALLER,
        f"the local stack ({endpoint})",
        audit_retention(env),
        ssm=ssm,
        rates_param=LOCAL_RATES_PARAM,
    )


def caller(session: boto3.Session) -> str:
    """The ARN the credentials act as: who every audit record says made the change."""
    arn: str = session.client("sts").get_caller_identity()["Arn"]
    return arn


def stack_target(name: str, env: Mapping[str, str], session: boto3.Session) -> Target:
    stacks = session.client("cloudformation").describe_stacks(StackName=name)["Stacks"]
    outputs = {
        output["OutputKey"]: output["OutputValue"]
        for stack in stacks[:1]
        for output in stack.get("Outputs", [])
    }
    missing = [key for key in OUTPUTS.values() if key not in outputs]
    if missing:
        raise TargetError(
            f"stack {name} has no output {' or '.join(missing)}: deploy this template.yaml "
            "to it first, or name the tables with RATE_LIMITS_TABLE and AUDIT_TABLE"
        )
    tables = Tables(outputs[OUTPUTS["rate_limits"]], outputs[OUTPUTS["audit"]])
    return Target(
        session.client("dynamodb"),
        tables,
        caller(session),
        f"stack {name}",
        audit_retention(env),
        ssm=session.client("ssm"),
        rates_param=outputs.get(RATES_OUTPUT, ""),
    )


def environment_target(env: Mapping[str, str], session: boto3.Session) -> Target:
    tables = Tables(env.get("RATE_LIMITS_TABLE", "").strip(), env.get("AUDIT_TABLE", "").strip())
    if not tables.rate_limits or not tables.audit:
        raise TargetError(
            "no target: name one with --stack NAME (a deployed stack), --local (make run), "
            "or RATE_LIMITS_TABLE and AUDIT_TABLE"
        )
    return Target(
        session.client("dynamodb"),
        tables,
        caller(session),
        f"tables {tables.rate_limits} and {tables.audit}",
        audit_retention(env),
        ssm=session.client("ssm"),
        rates_param=env.get("FX_RATES_PARAM", "").strip(),
    )
