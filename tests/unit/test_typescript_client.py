"""The TypeScript client's example branches only on codes the API answers (tsc cannot tell:
`ErrorResponse.code` accepts any string, so a misspelt case would compile and never match),
and its tools are pinned exactly. `make client-ts` and tests/e2e type-check and run it."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "clients" / "typescript" / "example.mts"
API_DOC = ROOT / "docs" / "api.md"


def table_codes() -> set[str]:
    return set(re.findall(r"^\| `(\w+)` \| \d{3} \| .+ \|$", API_DOC.read_text(), re.MULTILINE))


def test_every_code_the_example_branches_on_is_in_the_error_table() -> None:
    cases = set(re.findall(r'^\s*case "(\w+)":', EXAMPLE.read_text(), re.MULTILINE))
    assert cases, "the example branches on error codes"
    assert cases <= table_codes(), f"not codes of the API: {sorted(cases - table_codes())}"


def test_the_client_tools_are_pinned_exactly() -> None:
    tools = json.loads((ROOT / "package.json").read_text())["devDependencies"]
    for name in ("openapi-typescript", "openapi-fetch", "typescript"):
        assert re.fullmatch(r"\d+\.\d+\.\d+", tools[name]), f"{name}: {tools[name]}"
