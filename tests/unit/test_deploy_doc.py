"""docs/deploy.md's step 2 matches template.yaml: it counts and puts every SSM parameter the
stack reads but does not create (the `*ParameterName` template parameters), by its default
name, and says which one the stack creates itself."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from devtools.aws_resources import load_template

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
NUMBERS = {3: "three", 4: "four", 5: "five", 6: "six", 7: "seven", 8: "eight", 9: "nine"}


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def _put_by_hand(template: dict[str, Any]) -> dict[str, str]:
    """The `*ParameterName` template parameters (name: default) no resource creates."""
    created = {
        resource["Properties"]["Name"].get("Ref")
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::SSM::Parameter"
    }
    return {
        name: str(spec["Default"])
        for name, spec in template["Parameters"].items()
        if name.endswith("ParameterName") and name not in created
    }


def test_the_steps_table_counts_the_parameters_put_by_hand(template: dict[str, Any]) -> None:
    count = len(_put_by_hand(template))
    row = next(line for line in DEPLOY.splitlines() if line.startswith("| 2 | stage |"))
    assert f"{NUMBERS[count]} SSM parameters" in row, row
    assert f"the {NUMBERS[count]} `*ParameterName`" in DEPLOY


def test_step_2_puts_each_of_them_by_its_default_name(template: dict[str, Any]) -> None:
    step = DEPLOY.split("## 2.", 1)[1].split("\n## ", 1)[0]
    put = set(re.findall(r"put-parameter --name (\S+)", step))
    for name, default in _put_by_hand(template).items():
        assert f"`{name}`" in step, name
        assert default in put, (name, default)
