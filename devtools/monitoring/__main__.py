"""`python -m devtools.monitoring alarms`: the per-function and per-table alarms written into
template.yaml again. `python -m devtools.monitoring picture [OUT]`: the dashboard's picture
(make dashboard-picture)."""

from __future__ import annotations

import argparse
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.monitoring")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("alarms", help="write the per-function and per-table alarms")
    picture = commands.add_parser("picture", help="drive the local stack, draw the dashboard")
    picture.add_argument("out", nargs="?", default="docs/operations-dashboard.png", type=Path)
    picture.add_argument("--metrics", type=Path, help="draw from this metrics JSON instead")
    args = parser.parse_args(argv)
    if args.command == "alarms":
        from devtools.monitoring.alarms import write

        print("template.yaml: alarms written" if write() else "template.yaml: alarms up to date")
        return 0
    from devtools.monitoring.picture import draw_from_run

    draw_from_run(args.out, args.metrics)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
