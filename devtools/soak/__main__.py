"""`python -m devtools.soak` (`make soak`): the soak, its figures, and exit status 1 on any
invariant violation or any 500. SOAK_SEED replays a run's schedule."""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter

from devtools.soak.run import Report, SoakConfig, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m devtools.soak", description=__doc__)
    parser.add_argument("--seed", type=int, default=int(os.environ.get("SOAK_SEED", "1")))
    parser.add_argument("--people", type=int, default=200, help="journeys (about 10 requests each)")
    parser.add_argument("--concurrency", type=int, default=12)
    parser.add_argument("--port-base", type=int, default=0, help="5 ports from here (0: free ones)")
    parser.add_argument("--quick", action="store_true", help="a slice: 30 journeys")
    parser.add_argument("--log", help="write the gateway's and functions' log lines here")
    args = parser.parse_args(argv)
    people = 30 if args.quick else args.people
    cfg = SoakConfig(
        seed=args.seed,
        people=people,
        concurrency=args.concurrency,
        port_base=args.port_base,
        expected_requests=people * 10,
    )
    report = run(cfg)
    if args.log:
        with open(args.log, "w", encoding="utf-8") as out:
            out.write("\n".join(report.log_lines) + "\n")
    print(render(report))
    return 0 if report.violations == 0 and not report.five_hundreds else 1


def render(report: Report) -> str:
    cfg = report.config
    lines = [
        f"soak: seed {cfg.seed}, {cfg.people} journeys, {cfg.concurrency} at once, "
        f"{report.seconds:.0f} s",
        f"journeys: {_counts(report.outcomes)}",
        f"requests: {report.requests}; answers: {_counts(report.statuses)}",
        f"faults: {_counts(report.faults)}",
        f"killed invocations answered (the gateway's own, counted apart): "
        f"{_counts(report.killed_answers) or 'none'}",
        f"other 5xx (each with Retry-After unless listed below): {_counts(report.project_5xx)}",
        f"500s: {len(report.five_hundreds)}",
        *[f"  {line}" for line in report.five_hundreds[:20]],
        "invariants:",
    ]
    for verdict in report.verdicts:
        state = verdict.skipped or ("ok" if not verdict.violations else "VIOLATED")
        lines.append(f"  {verdict.name}: {state}")
        lines += [f"    - {v}" for v in verdict.violations[:10]]
    lines.append(f"violations: {report.violations}")
    return "\n".join(lines)


def _counts(counter: Counter[str] | Counter[int]) -> str:
    return ", ".join(f"{k}: {n}" for k, n in sorted(counter.items(), key=lambda kv: str(kv[0])))


if __name__ == "__main__":
    sys.exit(main())
