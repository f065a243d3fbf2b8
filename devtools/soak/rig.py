"""The soak's stack: DynamoDB Local (Java, as the test suites run it), the fault proxy in front
of it, and the local stack (gateway, emulator, moto's SSM) whose functions reach DynamoDB only
through the proxy. The tables are read back from DynamoDB Local directly, past the proxy."""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any, TextIO

import boto3
from boto3.dynamodb.types import TypeDeserializer

from devtools.dynamodb_faults import DynamoFaultProxy
from devtools.dynamodb_local.server import DynamoDBLocal
from devtools.local_stack.config import StackConfig
from devtools.local_stack.ports import free_port
from devtools.local_stack.schedules import RECONCILER
from devtools.local_stack.stack import LocalStack
from devtools.soak.history import Snapshot

# The shortest grace period an operator may give the reconciler (reconcile_config.py): the
# soak's stack uses it, and waits it out for the youngest payment left processing.
RECONCILE_GRACE_SECS = 30


class LineTap:
    """Stands in for sys.stderr while the soak runs: keeps every line the gateway and the
    functions log (the secrets invariant reads them), passing none through unless `echo`."""

    def __init__(self, original: TextIO, echo: bool = False) -> None:
        self.original, self.echo = original, echo
        self.lines: list[str] = []
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            self.lines.extend(line for line in text.splitlines() if line)
        if self.echo:
            self.original.write(text)
        return len(text)

    def flush(self) -> None:
        self.original.flush()


class Rig:
    def __init__(self, port_base: int = 0, dynamodb_endpoint: str | None = None) -> None:
        """`port_base`: the API on it, then the emulator, moto, the proxy and DynamoDB Local
        on the next four (0: free ports). `dynamodb_endpoint`: a DynamoDB Local already up."""
        self._ports = [port_base + i if port_base else free_port() for i in range(5)]
        self._endpoint = dynamodb_endpoint
        self._dynamodb_local: DynamoDBLocal | None = None
        self.proxy: DynamoFaultProxy | None = None
        self.stack: LocalStack | None = None
        self.tap = LineTap(sys.stderr)

    def start(self) -> Rig:
        try:
            if self._endpoint is None:
                self._dynamodb_local = DynamoDBLocal(port=self._ports[4]).start()
                self._endpoint = self._dynamodb_local.endpoint_url
            self.proxy = DynamoFaultProxy(self._endpoint, port=self._ports[3]).start()
            config = StackConfig(
                api_port=self._ports[0],
                emulator_port=self._ports[1],
                aws_port=self._ports[2],
                dynamodb_endpoint=self.proxy.endpoint_url,
                static_dir=None,
                quiet=True,
                serve_openapi=False,
                websocket=False,
                webhook_timeout_secs=10.0,
                notice_poll_secs=0.0,  # swept once at the end (deliver_notices)
                # Many clients from few addresses: the proof-of-work gate is not what is soaked.
                gateway_env={
                    "CHALLENGE_MODE": "off",
                    "PAYMENT_RECONCILE_GRACE_SECS": str(RECONCILE_GRACE_SECS),
                },
            )
            sys.stderr = self.tap
            self.stack = LocalStack(config).start()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        if self.stack is not None:
            self.stack.stop()
            self.stack = None
        sys.stderr = self.tap.original
        if self.proxy is not None:
            self.proxy.stop()
            self.proxy = None
        if self._dynamodb_local is not None:
            self._dynamodb_local.stop()
            self._dynamodb_local = None

    def __enter__(self) -> Rig:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def has_reconciler(self) -> bool:
        return self.stack is not None and RECONCILER in (
            self.stack.gateway.pools if self.stack.gateway else {}
        )

    def reconcile(self) -> Any:
        """Run the payment reconciler once, as its schedule would, once the youngest payment
        left `processing` has waited out the grace period (a scheduled run after it would
        find every one of them due; the journeys are over). The stack's own schedule also runs
        the reconciler during the journeys (every 30 s), racing the confirmations as it would in
        AWS; this run is the one the invariant reads after."""
        assert self.stack is not None
        youngest = max(
            (
                float(p["unsettled_since"])
                for p in self.scan("PaymentsTable")
                if p.get("status") == "processing" and "unsettled_since" in p
            ),
            default=None,
        )
        if youngest is not None:
            time.sleep(max(0.0, youngest + RECONCILE_GRACE_SECS + 1 - time.time()))
        return self.stack.reconcile_payments()

    def snapshot(self, reconciled: bool) -> Snapshot:
        assert self.stack is not None and self.stack.emulator is not None
        notices = [json.dumps(item, default=str) for item in self.scan("NoticesOutboxTable")]
        notices += [str(n.get("text", "")) for n in self.stack.emulator.notices()]
        return Snapshot(
            users=self.scan("UsersTable"),
            payments=self.scan("PaymentsTable"),
            ledger=self.scan("LedgerTable"),
            verifications=self.scan("VerificationsTable"),
            audit=self.scan("AuditTable"),
            notices=notices,
            log_lines=list(self.tap.lines),
            reconciled=reconciled,
        )

    def scan(self, table: str) -> list[dict[str, Any]]:
        client = boto3.client(
            "dynamodb",
            endpoint_url=self._endpoint,
            region_name="us-east-1",
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 - DynamoDB Local accepts any
        )
        plain = TypeDeserializer()
        items: list[dict[str, Any]] = []
        for page in client.get_paginator("scan").paginate(TableName=table):
            items += [{k: plain.deserialize(v) for k, v in item.items()} for item in page["Items"]]
        return items
