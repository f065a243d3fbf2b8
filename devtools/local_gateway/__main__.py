"""``python -m devtools.local_gateway``: serve template.yaml locally without Docker."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence

from .server import LocalGateway
from .template import TemplateError


def _key_values(items: Sequence[str], what: str) -> dict[str, str]:
    """``Key=Value`` pairs; also accepts SAM's ``ParameterKey=K,ParameterValue=V`` form."""
    values: dict[str, str] = {}
    for item in items:
        key, sep, value = item.removeprefix("ParameterKey=").partition(
            ",ParameterValue=" if item.startswith("ParameterKey=") else "="
        )
        if not sep or not key:
            raise SystemExit(f"{what}: expected Key=Value, got {item!r}")
        values[key] = value
    return values


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.local_gateway",
        description="Serve the Lambda handlers of a SAM template over HTTP (no Docker).",
    )
    add = parser.add_argument
    add("--template", "-t", default="template.yaml", help="SAM template path")
    add("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    add("--port", "-p", type=int, default=3000, help="port (3000; 0 = any)")
    add("--env-vars", "-n", help="JSON file like sam local --env-vars (Parameters / per function)")
    for flag, text in (
        ("--parameter-overrides", "template parameter values"),
        ("--extra-env", "variables for every function (e.g. AWS_ENDPOINT_URL=...)"),
    ):
        add(flag, nargs="+", action="extend", default=[], metavar="KEY=VALUE", help=text)
    add("--static-dir", help="serve files from this directory at /")
    add(
        "--extra-origin",
        nargs="+",
        action="extend",
        default=[],
        metavar="ORIGIN",
        help="an origin the gateway's own answers (preflights, gateway responses) echo besides "
        "the template's AllowedOrigin (cors.py)",
    )
    add("--region", help="AWS region (default: AWS_DEFAULT_REGION/AWS_REGION)")
    add("--max-workers", type=int, default=8, help="concurrent workers per function (8)")
    add("--quiet", "-q", action="store_true", help="no access log lines")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, lambda _signum, _frame: stop.set())
    try:
        gateway = LocalGateway(
            args.template,
            host=args.host,
            port=args.port,
            env_vars=args.env_vars,
            parameter_overrides=_key_values(args.parameter_overrides, "--parameter-overrides"),
            static_dir=args.static_dir,
            extra_env=_key_values(args.extra_env, "--extra-env"),
            region=args.region,
            max_workers_per_function=args.max_workers,
            quiet=args.quiet,
            extra_origins=args.extra_origin,
        ).start()
    except (TemplateError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"Listening on {gateway.base_url}", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        print("Stopping: shutting down workers", file=sys.stderr, flush=True)
        gateway.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
