"""The gateway's kill hook: a worker dies right after its Nth DynamoDB call (a Lambda crash
between two writes), and the gateway answers 502 as API Gateway does for a crashed function."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer

from devtools.local_gateway import LocalGateway
from devtools.local_stack.ports import free_port

TEMPLATE = """\
AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  TwoWritesFunction:
    Type: AWS::Serverless::Function
    Properties:
      Runtime: python3.13
      Timeout: 20
      CodeUri: src/
      Handler: app.handler
      Events:
        Write:
          Type: Api
          Properties:
            Path: /write/{key}
            Method: POST
"""

HANDLER = """\
import boto3

def handler(event, context):
    key = event["pathParameters"]["key"]
    dynamodb = boto3.client("dynamodb")
    for step in ("first", "second"):
        dynamodb.put_item(TableName="Steps", Item={"k": {"S": f"{key}#{step}"}})
    return {"statusCode": 200, "body": "{}"}
"""


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    dynamodb(url).create_table(
        TableName="Steps",
        KeySchema=[{"AttributeName": "k", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "k", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    yield url
    server.stop()


def dynamodb(url: str) -> Any:
    return boto3.client(
        "dynamodb",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


@pytest.fixture
def gateway(tmp_path: Path, moto_url: str) -> Iterator[LocalGateway]:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "app.py").write_text(HANDLER)
    (tmp_path / "template.yaml").write_text(TEMPLATE)
    env = {
        "AWS_ENDPOINT_URL": moto_url,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
    }
    with LocalGateway(tmp_path / "template.yaml", port=0, extra_env=env, quiet=True) as gw:
        yield gw


def keys(url: str) -> set[str]:
    return {item["k"]["S"] for item in dynamodb(url).scan(TableName="Steps")["Items"]}


def test_a_worker_killed_between_two_writes_leaves_the_first_and_answers_502(
    gateway: LocalGateway, moto_url: str
) -> None:
    planned: list[tuple[str, str]] = []

    def plan(function_id: str, request_id: str) -> int | None:
        planned.append((function_id, request_id))
        return 1

    gateway.set_kill_plan(plan)
    with httpx.Client(base_url=gateway.base_url, timeout=60) as client:
        killed = client.post("/write/a")
        gateway.set_kill_plan(None)
        whole = client.post("/write/b")
    assert killed.status_code == 502
    assert planned == [("TwoWritesFunction", killed.headers["x-amzn-RequestId"])]
    assert whole.status_code == 200
    assert {"a#first", "b#first", "b#second"} <= keys(moto_url)
    assert "a#second" not in keys(moto_url)
