"""docs/contract.md, the repository's copy of the team's contract, names only folders the
repository has (a copy once pointed at a `seed/` folder that was never here), and what it
says is not built yet is not in template.yaml."""

from __future__ import annotations

import re
from pathlib import Path

from devtools.aws_resources import load_template

ROOT = Path(__file__).resolve().parents[2]
CONTRACT = (ROOT / "docs" / "contract.md").read_text(encoding="utf-8")


def test_every_folder_the_contract_names_is_in_the_repository() -> None:
    folders = set(re.findall(r"`([\w./-]+/)`", CONTRACT))
    for folder in folders:
        assert (ROOT / "docs" / folder).is_dir() or (ROOT / folder).is_dir(), folder


def test_the_routes_it_says_are_not_built_are_not_in_the_template() -> None:
    preamble = CONTRACT.split("\n## ", 1)[0]
    not_built = next(line for line in preamble.split("\n> -") if "Not built yet" in line)
    template = load_template()
    paths = {
        event["Properties"].get("Path")
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::Serverless::Function"
        for event in resource["Properties"].get("Events", {}).values()
    }
    said = re.findall(r"`(?:GET|POST) (/[\w/]+)`", not_built)
    assert "/account" in paths
    for path in said:
        assert path not in paths, f"{path} is built: the contract's preamble says it is not"
    assert "not yet built" not in CONTRACT
