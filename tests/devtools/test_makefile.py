"""The Makefile's two install levels, read from `make -n` (what make would run) against an
empty virtualenv directory: `make run` installs only the `local` group, `make test` adds the
`dev` group on top of a run-only install, and neither installs again until pyproject.toml
changes."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = ROOT / "pyproject.toml"


def planned(target: str, venv: Path) -> str:
    """The commands `make <target>` would run with this virtualenv, without running them."""
    result = subprocess.run(
        ["make", "-n", "--no-print-directory", target, f"VENV={venv}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return result.stdout


def installed(venv: Path, *stamps: str) -> None:
    """Mark install levels as done after the last change to pyproject.toml."""
    venv.mkdir(exist_ok=True)
    done_at = PYPROJECT.stat().st_mtime + 60
    for stamp in stamps:
        (venv / stamp).touch()
        os.utime(venv / stamp, (done_at, done_at))


@pytest.fixture
def venv(tmp_path: Path) -> Path:
    return tmp_path / ".venv"


def test_a_first_make_run_installs_the_local_group_only_and_says_so(venv: Path) -> None:
    # When make run is planned on a machine with no virtualenv
    plan = planned("run", venv)
    # Then it creates one, says what it installs, and installs only what running needs
    assert "-m venv" in plan
    assert "make: installing what make run needs" in plan
    assert "--group local" in plan
    assert "--group dev" not in plan


def test_make_test_after_a_run_only_install_installs_the_rest(venv: Path) -> None:
    # Given make run has installed the local group
    installed(venv, ".installed-run")
    # When make test is planned
    plan = planned("test", venv)
    # Then the dev group is installed before the tests run
    assert "--group dev" in plan
    assert plan.index("--group dev") < plan.index("-m pytest")


def test_nothing_is_installed_again_once_each_level_is_done(venv: Path) -> None:
    # Given make test has installed everything (which includes the local group)
    installed(venv, ".installed", ".installed-run")
    installed(venv.with_name(venv.name + "-scan"), ".installed")  # and the scanners' own venv
    # When make run and make test are planned again
    # Then neither installs anything
    for target in ("run", "test"):
        assert "pip install" not in planned(target, venv), target


def test_a_change_to_pyproject_installs_again(venv: Path) -> None:
    # Given an install older than the last change to pyproject.toml
    installed(venv, ".installed-run")
    before = PYPROJECT.stat().st_mtime - 60
    os.utime(venv / ".installed-run", (before, before))
    # When make run is planned
    # Then it installs again
    assert "--group local" in planned("run", venv)


def test_make_admin_needs_only_what_make_run_installs(venv: Path) -> None:
    # Given nothing installed, make admin installs the local group only
    first = planned("admin", venv)
    assert "--group local" in first
    assert "--group dev" not in first
    # And once make run has installed it, make admin runs the operators' command with ARGS
    installed(venv, ".installed-run")
    result = subprocess.run(
        ["make", "-n", "--no-print-directory", "admin", f"VENV={venv}", "ARGS=--local rules show"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "pip install" not in result.stdout
    assert f"{venv}/bin/python -m ops --local rules show" in result.stdout


def test_make_test_type_checks_the_typescript_client_and_make_test_unit_does_not(
    venv: Path,
) -> None:
    # Given everything installed
    installed(venv, ".installed", ".installed-run")
    # When make test is planned
    plan = planned("test", venv)
    # Then after npm ci, the document is written from the code, its types generated, and tsc
    # checks the client strictly, before pytest
    steps = [
        "npm ci",
        "-m devtools.openapi > clients/typescript/openapi.json",
        "node_modules/.bin/openapi-typescript clients/typescript/openapi.json",
        "node_modules/.bin/tsc --strict --noEmit --project clients/typescript",
        "-m pytest",
    ]
    positions = [plan.find(step) for step in steps]
    assert -1 not in positions and positions == sorted(positions), plan
    # and the fast target stays fast
    assert "tsc" not in planned("test-unit", venv)
