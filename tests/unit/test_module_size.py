"""No module of the layer, the functions or the dev tools outgrows one reading: each stays under
400 lines, so a newcomer reads a room's piece at once. A module that grows past it is split by
what it is responsible for (docs/design.md), never by line count."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ROOMS = ("layers/common/phoneverify", "functions", "devtools")
LIMIT = 400


def modules() -> list[Path]:
    return sorted(path for room in ROOMS for path in (ROOT / room).rglob("*.py"))


def test_the_rooms_hold_modules() -> None:
    # The walk finds the code (a moved folder would make the next test pass on nothing).
    assert len(modules()) > 100


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_is_over_the_limit(path: Path) -> None:
    lines = len(path.read_text("utf-8").splitlines())
    assert lines <= LIMIT, f"{path.relative_to(ROOT)} has {lines} lines (limit {LIMIT})"
