"""The dashboard's widgets as template.yaml deploys them (OperationsDashboard's DashboardBody,
the one source): read back, with the template's substitutions filled in, for the unit test
that checks its metrics and for the picture in docs/operations.md."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devtools.aws_resources import TEMPLATE, load_template

DASHBOARD = "OperationsDashboard"
NAMESPACE = "PhoneVerify"
GRID_WIDTH = 24
# What a laptop shows without scrolling at CloudWatch's default row height.
SCREEN_HEIGHT = 24
# Values for the template's ${...} in the picture (a stack named phone-verify, stage dev).
PICTURE_VALUES = {"AWS::Region": "us-east-1", "AWS::StackName": "phone-verify", "Stage": "dev"}


@dataclass(frozen=True)
class Series:
    """One line of a widget: a metric (namespace, name, dimensions) or an expression."""

    id: str
    label: str
    visible: bool
    namespace: str = ""
    name: str = ""
    dimensions: dict[str, str] = field(default_factory=dict)
    expression: str = ""
    y_axis: str = "left"


@dataclass(frozen=True)
class Widget:
    title: str
    x: int
    y: int
    width: int
    height: int
    stacked: bool
    stat: str
    series: tuple[Series, ...]
    annotations: tuple[tuple[str, float, str], ...]  # label, value, axis
    properties: dict[str, Any]


def body_source(path: Path = TEMPLATE) -> str:
    """The DashboardBody as written in the template, its ${...} not yet filled in."""
    body = load_template(path)["Resources"][DASHBOARD]["Properties"]["DashboardBody"]
    source: str = body["Fn::Sub"]
    return source


def defaults(path: Path = TEMPLATE) -> dict[str, str]:
    """Each template parameter's default, then the pseudo parameters of the picture's stack."""
    parameters = load_template(path).get("Parameters", {})
    values = {name: str(p["Default"]) for name, p in parameters.items() if "Default" in p}
    return {**values, **PICTURE_VALUES}


def substitute(source: str, values: dict[str, str]) -> str:
    """Fn::Sub for a body with ${Name} references (a resource's is its logical id here)."""

    def value(match: re.Match[str]) -> str:
        name = match.group(1)
        return values.get(name, name)

    return re.sub(r"\$\{([A-Za-z0-9:.]+)\}", value, source)


def widgets(path: Path = TEMPLATE, values: dict[str, str] | None = None) -> list[Widget]:
    body = json.loads(substitute(body_source(path), values or defaults(path)))
    return [_widget(w) for w in body["widgets"]]


def _widget(raw: dict[str, Any]) -> Widget:
    props = raw["properties"]
    series: list[Series] = []
    for n, row in enumerate(props.get("metrics", [])):
        options = row[-1] if row and isinstance(row[-1], dict) else {}
        axis = options.get("yAxis", "left")
        if "expression" in options and len(row) == 1:
            series.append(
                Series(
                    id=options.get("id", f"e{n}"),
                    label=str(options.get("label", options["expression"])),
                    visible=options.get("visible", True),
                    expression=options["expression"],
                    y_axis=axis,
                )
            )
            continue
        parts = row[:-1] if options else row
        namespace, name, *dims = parts
        series.append(
            Series(
                id=options.get("id", f"m{n}"),
                label=options.get("label", name),
                visible=options.get("visible", True),
                namespace=namespace,
                name=name,
                dimensions=dict(zip(dims[::2], dims[1::2], strict=True)),
                y_axis=axis,
            )
        )
    annotations = tuple(
        (a.get("label", ""), float(a["value"]), a.get("yAxis", "left"))
        for a in props.get("annotations", {}).get("horizontal", [])
    )
    return Widget(
        title=props["title"],
        x=raw["x"],
        y=raw["y"],
        width=raw["width"],
        height=raw["height"],
        stacked=bool(props.get("stacked", False)),
        stat=props.get("stat", "Sum"),
        series=tuple(series),
        annotations=annotations,
        properties=props,
    )
