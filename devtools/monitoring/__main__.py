"""`python -m devtools.monitoring alarms`: the per-function and per-table alarms written into
template.yaml again."""

from __future__ import annotations

import argparse


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.monitoring")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("alarms", help="write the per-function and per-table alarms")
    parser.parse_args(argv)
    from devtools.monitoring.alarms import write

    print("template.yaml: alarms written" if write() else "template.yaml: alarms up to date")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
