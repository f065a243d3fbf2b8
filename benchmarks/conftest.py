"""`make bench` (full) and its quick mode (`pytest benchmarks --quick`, part of `make test`).

The full run builds the layer as `sam build` does (for this machine's architecture), measures
everything side by side in one session and writes docs/benchmarks.md. The quick run measures
each figure once on the dev virtualenv's packages, checks only what cannot depend on the
machine's load, renders the report without writing it (git status stays clean), and takes
about two minutes (the SMS-pumping campaign, benchmarks/campaign.py, and one pass of the CPU
per request, benchmarks/test_cost_model.py, take most of it).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from benchmarks.report import Report
from devtools.local_stack.stack import LocalStack
from tests.support.stacks import running_stack

# DynamoDB Local for the SMS-pumping campaign (benchmarks/test_sms_pumping_campaign.py).
pytest_plugins = ["tests.plugins.dynamodb_local"]

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "docs" / "benchmarks.md"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--quick",
        action="store_true",
        help="one round of each measurement, no layer build, docs/benchmarks.md left alone",
    )


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--quick"):
        # pytest-benchmark runs each benchmarked function once and times nothing
        config.option.benchmark_disable = True


@pytest.fixture(scope="session")
def quick(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--quick"))


@pytest.fixture(scope="session")
def bench_stack(dynamodb_local_endpoint: str) -> Iterator[LocalStack]:
    """One local stack on DynamoDB Local for the session's measurements through it (moto's
    backends are per process: a second stack would replace the first one's secrets)."""
    with running_stack(dynamodb_local_endpoint) as stack:
        yield stack


@pytest.fixture(scope="session")
def report(quick: bool, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Report]:
    """Every figure of the run; written when the session ends (full mode, all measured)."""
    collected = Report()
    yield collected
    text = collected.render()
    if quick or not collected.complete():
        (tmp_path_factory.getbasetemp() / "benchmarks.md").write_text(text)
    else:
        REPORT.write_text(text)
