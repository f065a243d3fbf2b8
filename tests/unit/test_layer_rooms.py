"""The layer's rooms keep to their jobs: rules (domain/) and use cases (flows/) reach no AWS
SDK, no HTTP client and no Powertools, and know nothing of HTTP; a reader finds a DynamoDB or
Telnyx call under adapters/ and an HTTP status under http/ alone."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

LAYER = Path(__file__).resolve().parents[2] / "layers/common/phoneverify"
INNER_ROOMS = ("domain", "flows")
FORBIDDEN = ("boto3", "botocore", "mypy_boto3_dynamodb", "httpx", "aws_lambda_powertools")
HTTP_ROOM = "phoneverify.http"


def modules(*rooms: str) -> list[Path]:
    return sorted(path for room in rooms for path in (LAYER / room).rglob("*.py"))


def imported(path: Path) -> set[str]:
    """Every module `path` imports, at the top or inside a function."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text("utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def reaches(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


@pytest.mark.parametrize("path", modules(*INNER_ROOMS), ids=lambda p: str(p.relative_to(LAYER)))
def test_rules_and_use_cases_import_no_sdk_http_client_or_powertools(path: Path) -> None:
    # Given a module under domain/ or flows/, when its imports are read
    names = imported(path)
    # Then none reaches an AWS SDK, the HTTP client, Powertools, adapters or the HTTP edge
    assert not [n for n in names for pkg in FORBIDDEN if reaches(n, pkg)]
    assert not [n for n in names if reaches(n, "phoneverify.adapters")]
    assert not [n for n in names if reaches(n, HTTP_ROOM)]


@pytest.mark.parametrize("path", modules(*INNER_ROOMS), ids=lambda p: str(p.relative_to(LAYER)))
def test_rules_and_use_cases_hold_no_http_status(path: Path) -> None:
    # Given a module under domain/ or flows/, when its code (not its comments) is read
    tree = ast.parse(path.read_text("utf-8"))
    statuses = [
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, int)
        and not isinstance(node.value, bool)
        and 400 <= node.value <= 599
    ]
    named = [
        target.id
        for node in ast.walk(tree)
        if isinstance(node, (ast.Assign, ast.AnnAssign))
        for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
        if isinstance(target, ast.Name) and target.id in ("status_code", "http_status")
    ]
    # Then no number in the range of HTTP error statuses, and no attribute that holds one
    assert (statuses, named) == ([], [])


@pytest.mark.parametrize("path", modules("adapters"), ids=lambda p: str(p.relative_to(LAYER)))
def test_adapters_know_nothing_of_the_http_edge(path: Path) -> None:
    # Given a module under adapters/, when its imports are read
    names = imported(path)
    # Then none reaches http/: the edge sits above the adapters, never under them
    assert not [n for n in names if reaches(n, HTTP_ROOM)]


def test_the_domain_reaches_no_use_case() -> None:
    # Rules sit under the use cases: nothing in domain/ imports a flow.
    for path in modules("domain"):
        assert not [n for n in imported(path) if reaches(n, "phoneverify.flows")], path


def test_the_composition_root_loads_nothing_until_a_builder_runs() -> None:
    # Given a fresh interpreter, when only the runtime module is imported
    probe = (
        "import sys, phoneverify.runtime; "
        "print(sorted(m for m in sys.modules if m.startswith(("
        "'phoneverify.adapters', 'phoneverify.flows', 'httpx', 'boto3', 'cryptography'))))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(LAYER.parent)},
    ).stdout.strip()
    # Then no adapter, flow, SDK or HTTP client is loaded: each builder imports what it builds
    assert loaded == "[]"
