"""What the tracer sends (phoneverify/tracing.py), read off the wire: a login (POST /login,
a wrong code, the right code) through the real handlers, in a process of its own with tracing
on as in Lambda (tests/support/traced_login.py), its segments sent to a UDP socket this test
listens on in the X-Ray daemon's stead."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from tests.support.verify_stack import PASSWORD, PHONE

ROOT = Path(__file__).resolve().parents[2]
HEADER = '{"format":"json","version":1}\n'  # the daemon protocol's first line


@pytest.fixture(scope="module")
def emitted() -> tuple[dict[str, Any], list[str]]:
    """The run's printed ids and secrets, and every datagram the tracer sent."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as daemon:
        daemon.bind(("127.0.0.1", 0))
        daemon.settimeout(0.2)
        host, port = daemon.getsockname()
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("AWS_SAM_LOCAL", "POWERTOOLS_TRACE_DISABLED", "_X_AMZN_TRACE_ID")
        }
        env.update(
            LAMBDA_TASK_ROOT=str(ROOT / "functions"),
            # As Lambda's environment holds before any import (template.yaml's Globals): the
            # tracer reads its service when first built, whatever the harness imports first.
            POWERTOOLS_SERVICE_NAME="phone-verify",
            AWS_XRAY_DAEMON_ADDRESS=f"{host}:{port}",
            PYTHONPATH=os.pathsep.join([str(ROOT / "layers" / "common"), str(ROOT)]),
        )
        run = subprocess.Popen(
            [sys.executable, "-m", "tests.support.traced_login"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        datagrams: list[str] = []
        while True:
            try:
                datagrams.append(daemon.recv(65_535).decode("utf-8"))
            except TimeoutError:
                if run.poll() is not None:
                    break
        out, err = run.communicate(timeout=60)
    assert run.returncode == 0, err[-3000:]
    return json.loads(out.strip().splitlines()[-1]), datagrams


def documents(datagrams: list[str]) -> list[dict[str, Any]]:
    found = []
    for datagram in datagrams:
        assert datagram.startswith(HEADER), datagram[:100]
        found.append(json.loads(datagram[len(HEADER) :]))
    return found


def trees(datagrams: list[str]) -> dict[str, dict[str, Any]]:
    """Each trace's handler subsegment (`## handler`) with its children by name."""
    by_trace: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for document in documents(datagrams):
        by_trace[document["trace_id"]].append(document)
    found = {}
    for trace_id, entities in by_trace.items():
        (handler,) = [e for e in entities if e["name"] == "## handler"]
        children = [e for e in entities if e.get("parent_id") == handler["id"]]
        found[trace_id] = {**handler, "children": children}
    return found


def test_a_login_is_one_trace_per_request_with_its_calls_as_subsegments(
    emitted: tuple[dict[str, Any], list[str]],
) -> None:
    ran, datagrams = emitted
    traces = trees(datagrams)
    login = traces[ran["traces"]["login"]]
    verify = traces[ran["traces"]["verify"]]
    names = {child["name"] for child in login["children"]}
    # DynamoDB and SSM (cold: the secrets read on first use) through botocore, Telnyx by httpx
    assert {"dynamodb", "ssm"} <= names
    (telnyx,) = [c for c in login["children"] if c["namespace"] == "remote"]
    assert telnyx["http"]["request"]["url"].endswith("/v2/verifications/sms")
    assert {"dynamodb"} <= {child["name"] for child in verify["children"]}
    assert [c for c in verify["children"] if c["namespace"] == "remote"]  # the code's check
    every_call = [c for trace in traces.values() for c in trace["children"]]
    assert all(c["trace_id"] in ran["traces"].values() for c in every_call)


def test_each_request_is_annotated_with_its_flow_outcome_and_error(
    emitted: tuple[dict[str, Any], list[str]],
) -> None:
    ran, datagrams = emitted
    traces = trees(datagrams)
    annotations = {
        name: traces[trace_id]["annotations"] for name, trace_id in ran["traces"].items()
    }
    assert annotations["login"] == {
        "flow": "login",
        "outcome": "sent",
        "channel": "sms",
        "ColdStart": True,
        "Service": "phone-verify",
    }
    wrong = annotations["wrong code"]
    assert (wrong["flow"], wrong["outcome"], wrong["error_code"]) == (
        "login",
        "rejected",
        "invalid_code",
    )
    assert (annotations["verify"]["outcome"], annotations["verify"].get("error_code")) == (
        "accepted",
        None,
    )


def test_no_phone_code_token_email_or_password_is_sent(
    emitted: tuple[dict[str, Any], list[str]],
) -> None:
    ran, datagrams = emitted
    sent = "\n".join(datagrams)
    assert datagrams
    national = PHONE.removeprefix("+1")
    for value in (PHONE, national, "demo@example.com", "demo%40example.com", PASSWORD):
        assert value not in sent, value
    assert ran["secrets"]["token"] not in sent
    assert ran["secrets"]["token"].split(".")[1] not in sent  # not even its claims
    for code in (ran["secrets"]["code"], ran["secrets"]["wrong code"]):
        # a code is 6 digits: never as a number of its own (timestamps have more digits)
        assert not re.search(rf"(?<![\d.]){code}(?!\d)", sent), code
