"""`python -m devtools.perf_model`: docs/cost.md and docs/capacity.md rendered again from the
committed measurements (devtools/perf_model/measured.json) after a price or an assumption
changed; `make bench` measures again and writes all three."""

from __future__ import annotations

from pathlib import Path

from devtools.perf_model import capacity, report
from devtools.perf_model.model import load

DOCS = Path(__file__).resolve().parents[2] / "docs"


def main() -> None:
    requests, about = load()
    (DOCS / "cost.md").write_text(report.render(requests, about))
    (DOCS / "capacity.md").write_text(capacity.render(requests, report.group_memory(requests)))


if __name__ == "__main__":
    main()
