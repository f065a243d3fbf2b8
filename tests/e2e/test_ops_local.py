"""The operators' command against a running local stack, as an operator runs it: `python -m
ops --local` in its own process, and docs/abuse-controls.md's `make admin` blocks pasted into
bash, each printing what the page says it prints."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from devtools.local_stack.stack import LocalStack
from phoneverify.adapters.dynamo.toolkit import from_item
from tests.support import accounts
from tests.support.payments import bearer, token_for
from tests.support.stacks import dynamodb_of, running_stack, table_items

ROOT = Path(__file__).resolve().parents[2]
PAGE = ROOT / "docs" / "abuse-controls.md"
SECTION = "## Operators: rules and holds"
EXPECTED_PREFIX = "# → "


@pytest.fixture(scope="module")
def stack() -> Iterator[LocalStack]:
    """`make run`'s own kind of stack (moto's DynamoDB), on free ports: the rules written
    here are seen by no other module's stack."""
    with running_stack(None) as running:
        yield running


def operator_env(stack: LocalStack, **more: str) -> dict[str, str]:
    """An operator's shell next to `make run` with AWS_PORT set; no AWS credentials at all.
    PYTHONPATH: this checkout's layer, whichever one the virtualenv was installed from."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("AWS_")
        and key != "DYNAMODB_ENDPOINT"
        # A person's shell is not inside make (make test's own variables would make the
        # pasted `make admin` print "Entering directory" lines)
        and key not in {"MAKELEVEL", "MAKEFLAGS", "MFLAGS", "MAKEOVERRIDES"}
    }
    return {
        **env,
        "AWS_PORT": str(stack.config.aws_port),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "layers" / "common"), str(ROOT)]),
        **more,
    }


def ops(stack: LocalStack, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ops", "--local", *argv],
        cwd=ROOT,
        env=operator_env(stack),
        capture_output=True,
        text=True,
        timeout=60,
    )


def operator_records(stack: LocalStack) -> list[dict[str, object]]:
    return [
        from_item(item)
        for item in table_items(stack, "AuditTable")
        if item["subject"]["S"] == "operator"
    ]


def test_python_m_ops_local_changes_the_stacks_rules_and_audits_it(stack: LocalStack) -> None:
    before = len(operator_records(stack))
    # When an operator denies a country on the running stack, in a process of its own
    result = ops(stack, "country", "deny", "jm")
    # Then it says so, and the stack's rules item holds it
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("country JM: denied (rules version ")
    rules = dynamodb_of(stack.aws_env).get_item(
        TableName="RateLimitsTable", Key={"pk": {"S": "rules#fraud"}}
    )["Item"]
    assert rules["deny_countries"] == {"SS": ["JM"]}
    # And one audit record says who
    records = operator_records(stack)
    assert len(records) == before + 1
    assert {
        "change": "deny",
        "list": "countries",
        "value": "JM",
        "by": "local",
    } in [record["detail"] for record in records]
    # A bad value is refused before anything is sent
    refused = ops(stack, "country", "deny", "XX")
    assert (refused.returncode, refused.stdout) == (2, "")
    assert refused.stderr.startswith("python -m ops: not a country: 'XX'")
    assert ops(stack, "country", "unlist", "JM").returncode == 0


def test_a_rate_the_operator_sets_is_what_the_next_payment_is_converted_with(
    stack: LocalStack,
) -> None:
    # Given an account on the running stack, and KYD without a rate (the local sample table)
    account = accounts.seed_account(stack, "fx", "a passphrase for the rates test")
    token = token_for(stack, account.email, "a passphrase for the rates test", account.phone)
    assert '"KYD"' not in ops(stack, "rates", "show").stdout
    # When the operator sets KYD's rate, in a process of its own, before any KYD payment
    result = ops(stack, "rates", "set", "KYD", "1.20")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("KYD = 1.2 USD (was none; version ")
    # Then 10.00 KYD (12.00 USD) goes through without a code, counted in USD cents
    with httpx.Client(base_url=stack.api_url, timeout=60) as api:
        paid = api.post(
            "/payments/initiate",
            json={"amount": "10.00", "currency": "KYD", "recipient": "acct-fx"},
            headers=bearer(token),
        )
    assert paid.status_code == 200, paid.text
    assert paid.json()["status"] == "completed", paid.text
    count = dynamodb_of(stack.aws_env).get_item(
        TableName="PaymentsTable", Key={"payment_id": {"S": f"exempt#{account.user_id}"}}
    )["Item"]
    assert count["sum_USD"] == {"N": "1200"}
    # and the change is audited
    wanted = {"change": "set", "value": "KYD", "rate": "1.2", "previous": "", "by": "local"}
    assert any(
        wanted.items() <= dict(record["detail"]).items()
        for record in operator_records(stack)
        if record["event"] == "fx_rates_changed"
    )
    assert ops(stack, "rates", "unset", "KYD").returncode == 0


def test_a_stack_that_is_not_up_is_one_line_and_status_1(stack: LocalStack) -> None:
    env = operator_env(stack, DYNAMODB_ENDPOINT="http://127.0.0.1:9")
    result = subprocess.run(
        [sys.executable, "-m", "ops", "--local", "rules", "show"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr == (
        "python -m ops: nothing answers at http://127.0.0.1:9/: is `make run` up (and "
        "AWS_PORT the one it uses)?\n"
    )


# -- the page's blocks ------------------------------------------------------------------------
def page_blocks() -> list[str]:
    section = PAGE.read_text().split(SECTION, 1)[1].split("\n## ", 1)[0]
    return [
        block
        for block in re.findall(r"^```sh\n(.*?)^```$", section, re.M | re.S)
        if 'make admin ARGS="--local' in block
    ]


def matches(expected: str, line: str) -> bool:
    pattern = ".*".join(re.escape(part) for part in expected.split("..."))
    return re.fullmatch(pattern, line) is not None


@pytest.fixture(scope="module")
def run_install(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A virtualenv as `make run` leaves it: its install stamp newer than pyproject.toml (so
    `make admin` installs nothing), its python this test's interpreter."""
    venv = tmp_path_factory.mktemp("venv")
    (venv / "bin").mkdir()
    python = venv / "bin" / "python"
    python.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    python.chmod(0o755)
    stamp = venv / ".installed-run"
    stamp.touch()
    later = (ROOT / "pyproject.toml").stat().st_mtime + 60
    os.utime(stamp, (later, later))
    return venv


BLOCKS = page_blocks()


def test_the_page_shows_the_lists_the_holds_and_the_rates() -> None:
    assert len(BLOCKS) == 3
    commands = " ".join(BLOCKS)
    for command in (
        "rules show",
        "prefix deny",
        "prefix unlist",
        "holds list",
        "hold release",
        "rates show",
        "rates set",
        "rates unset",
    ):
        assert command in commands


@pytest.mark.parametrize("block", BLOCKS, ids=["lists", "holds", "rates"])
def test_a_make_admin_block_pasted_into_bash_prints_what_the_page_says(
    stack: LocalStack, run_install: Path, block: str
) -> None:
    expected = [
        line.removeprefix(EXPECTED_PREFIX)
        for line in block.splitlines()
        if line.startswith(EXPECTED_PREFIX)
    ]
    # When the block is pasted into bash in a clone where make run is up
    result = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block],
        cwd=ROOT,
        env=operator_env(stack, VENV=str(run_install)),
        capture_output=True,
        text=True,
        timeout=120,
    )
    # Then it succeeds and prints, line by line, what the page shows
    assert result.returncode == 0, result.stderr
    printed = result.stdout.splitlines()
    assert len(printed) == len(expected), result.stdout
    for want, line in zip(expected, printed, strict=True):
        assert matches(want, line), f"the page says {want!r}, the block printed {line!r}"
