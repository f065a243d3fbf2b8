"""The dashboard's picture (docs/operations-dashboard.png): each widget of the template's
DashboardBody drawn with matplotlib, in its place on the grid, from a local run's metrics.

A mock, not CloudWatch: the run lasts minutes, so a widget's period becomes a slice of the
run (BUCKETS slices), and an hourly widget (period 3600) shows running totals since the run
began, as its hour would. Expressions are evaluated as CloudWatch's metric math would for the
functions the dashboard uses (FILL, arithmetic; SORT of a SEARCH over the stack's functions)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from devtools.monitoring.dashboard import GRID_WIDTH, SCREEN_HEIGHT, Series, Widget, widgets

BUCKETS = 12
SEARCH = re.compile(
    r"SORT\(SEARCH\('\{(?P<ns>[^,]+),(?P<dim>[^}]+)\} "
    r"MetricName=\"(?P<name>[^\"]+)\" (?P<term>[^']*)', "
    r"'(?P<stat>[^']+)', \d+\), (?P<by>\w+), (?P<order>\w+), (?P<limit>\d+)\)"
)
Arrays = dict[str, Any]  # id -> numpy array of BUCKETS values (nan: no data)


def _aggregate(values: list[float], stat: str) -> float:
    import numpy as np

    if not values:
        return float("nan")
    if stat.startswith("p"):
        return float(np.percentile(values, float(stat[1:])))
    if stat == "Maximum":
        return max(values)
    if stat == "Minimum":
        return min(values)
    return float(sum(values))


def _series(points: list[dict[str, Any]], run: float, stat: str, hourly: bool, match: Any) -> Any:
    import numpy as np

    width = run / BUCKETS
    buckets: list[list[float]] = [[] for _ in range(BUCKETS)]
    for p in points:
        if match(p):
            buckets[max(0, min(int(p["t"] / width), BUCKETS - 1))].append(p["value"])
    if hourly:  # the hour so far, at the end of each slice
        return np.array(
            [_aggregate([v for b in buckets[: i + 1] for v in b], stat) for i in range(BUCKETS)]
        )
    return np.array([_aggregate(b, stat) for b in buckets])


def evaluate(widget: Widget, metrics: dict[str, Any]) -> list[tuple[Series, str, Any]]:
    """(series, label, values) of each visible line of `widget`."""
    import numpy as np

    points, run = metrics["points"], max(float(metrics["duration"]), 1.0)
    hourly = int(widget.properties.get("period", 300)) >= 3600
    arrays: Arrays = {}
    lines: list[tuple[Series, str, Any]] = []
    for s in widget.series:
        if s.expression and (search := SEARCH.match(s.expression)):
            found: dict[str, Any] = {}
            names = {
                p["dims"][search["dim"]]
                for p in points
                if p["namespace"] == search["ns"] and p["name"] == search["name"]
                and search["dim"] in p["dims"] and search["term"] in p["dims"][search["dim"]]
            }  # fmt: skip
            for name in sorted(names):
                found[name] = _series(
                    points, run, search["stat"], hourly,
                    lambda p, n=name: p["name"] == search["name"]
                    and p["dims"].get(search["dim"]) == n,
                )  # fmt: skip
            ranked = sorted(found.items(), key=lambda kv: -np.nan_to_num(kv[1]).max())
            for name, values in ranked[: int(search["limit"])]:
                lines.append((s, name.split("-")[-1], values))
            continue
        if s.expression:
            with np.errstate(divide="ignore", invalid="ignore"):
                values = eval(  # noqa: S307 - the template's own expressions, no builtins
                    s.expression.replace("FILL(", "fill("),
                    {"__builtins__": {}, "fill": lambda a, v: np.nan_to_num(a, nan=v)},
                    dict(arrays),
                )
        else:
            values = _series(
                points, run, widget.stat, hourly,
                lambda p, s=s: p["namespace"] == s.namespace and p["name"] == s.name
                and all(p["dims"].get(k) == v for k, v in s.dimensions.items()),
            )  # fmt: skip
        arrays[s.id] = values
        if s.visible:
            lines.append((s, s.label, values))
    return lines


def draw(metrics: dict[str, Any], out: Path, source: list[Widget] | None = None) -> Path:
    """Draws every widget of the dashboard (or `source`) from `metrics` into `out` (PNG)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    unit_w, unit_h = 0.9, 0.62  # inches per grid column and row
    fig = plt.figure(figsize=(GRID_WIDTH * unit_w, SCREEN_HEIGHT * unit_h), dpi=80)
    minutes = float(metrics["duration"]) / 60
    x = np.linspace(minutes / BUCKETS, minutes, BUCKETS)
    for widget in source or widgets():
        left = (widget.x + 0.55) / GRID_WIDTH
        bottom = 1 - (widget.y + widget.height - 0.55) / SCREEN_HEIGHT
        ax = fig.add_axes(
            (left, bottom, (widget.width - 0.9) / GRID_WIDTH, (widget.height - 1.5) / SCREEN_HEIGHT)
        )
        ax.set_title(widget.title, fontsize=10, loc="left")
        ax.tick_params(labelsize=7)
        right = None
        lines = evaluate(widget, metrics)
        left_lines = [(lbl, v) for s, lbl, v in lines if s.y_axis == "left"]
        if widget.stacked and left_lines:
            ax.stackplot(x, *[np.nan_to_num(v) for _, v in left_lines],
                         labels=[lbl for lbl, _ in left_lines], alpha=0.85)  # fmt: skip
        else:
            for label, values in left_lines:
                ax.plot(x, values, marker=".", label=label)
        for series, label, values in lines:
            if series.y_axis == "right":
                right = right or ax.twinx()
                right.plot(x, values, color="black", linestyle="--", label=label)
                right.tick_params(labelsize=7)
        for label, value, axis in widget.annotations:
            target = right if axis == "right" and right is not None else ax
            target.axhline(value, color="tab:red", linewidth=0.8, linestyle=":")
            target.annotate(label, (x[0], value), fontsize=6, color="tab:red", va="bottom")
        ax.set_ylim(bottom=0)
        ax.set_xlim(0, minutes)
        if not any(np.nansum(values) for _, _, values in lines):
            ax.text(0.5, 0.5, "no data: none of these happened", transform=ax.transAxes,
                    ha="center", fontsize=8, color="gray")  # fmt: skip
        handles, labels = ax.get_legend_handles_labels()
        if right is not None:
            more = right.get_legend_handles_labels()
            handles, labels = handles + more[0], labels + more[1]
        if handles:
            ax.legend(handles, labels, fontsize=6, loc="upper left", ncol=2, frameon=False)
        ax.set_xlabel("minutes into the local run", fontsize=6)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out)
    plt.close(fig)
    return out


def draw_from_run(out: Path, metrics_file: Path | None = None) -> Path:
    """`make dashboard-picture`: a local run's metrics (or `metrics_file`'s) drawn into `out`."""
    if metrics_file is not None:
        metrics = json.loads(metrics_file.read_text(encoding="utf-8"))
    else:
        from devtools.monitoring.local_run import run

        metrics = run()
    drawn = draw(metrics, out)
    print(f"{drawn}: {len(metrics['points'])} data points over {metrics['duration']:.0f} s")
    return drawn
