"""The local stack's moto under concurrent requests (devtools/local_stack/moto_server.py):
many TransactWriteItems and writes at once over one table, as 40 concurrent sign-ups make
them. moto's own ThreadedMotoServer races itself ("dictionary changed size during
iteration", a 500); the stack's SerialMotoServer answers every one."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
from botocore.config import Config
from moto.server import ThreadedMotoServer

from devtools.local_stack.moto_server import SerialMotoServer
from devtools.local_stack.ports import free_port
from tests.support.tables import fresh_table

WORKERS = 40
ROUNDS = 5


def hammer(server_type: type[ThreadedMotoServer]) -> list[str]:
    """Errors seen by WORKERS threads writing transactions at once (no SDK retries)."""
    port = free_port("127.0.0.1")
    server = server_type(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:

        def client() -> Any:
            return boto3.client(
                "dynamodb",
                endpoint_url=f"http://127.0.0.1:{port}",
                region_name="us-east-1",
                aws_access_key_id="local",
                aws_secret_access_key="local",
                config=Config(retries={"max_attempts": 1}, max_pool_connections=WORKERS),
            )

        table = fresh_table(client(), "UsersTable")
        errors: list[str] = []
        lock = threading.Lock()

        def sign_ups(worker: int) -> None:
            dynamodb = client()
            for _ in range(ROUNDS):
                user = uuid.uuid4().hex
                try:
                    dynamodb.transact_write_items(
                        TransactItems=[
                            {
                                "Put": {
                                    "TableName": table,
                                    "Item": {"pk": {"S": f"{key}#{user}"}, "w": {"N": str(worker)}},
                                    "ConditionExpression": "attribute_not_exists(pk)",
                                }
                            }
                            for key in ("USER", "EMAIL", "PHONE")
                        ]
                    )
                    dynamodb.scan(TableName=table, Limit=5)
                except Exception as exc:
                    with lock:
                        errors.append(f"{type(exc).__name__}: {exc}")

        with ThreadPoolExecutor(WORKERS) as pool:
            list(pool.map(sign_ups, range(WORKERS)))
        return errors
    finally:
        server.stop()


def test_the_local_stacks_moto_answers_every_concurrent_transaction() -> None:
    # moto's own ThreadedMotoServer, the same load: 140 of 600 calls answered 500
    # ("dictionary changed size during iteration" in TransactWriteItems' deepcopy).
    assert hammer(SerialMotoServer) == []
