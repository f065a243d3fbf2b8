"""`make run`: the whole system on 127.0.0.1 with no AWS account, no Docker, no Telnyx account.

Starts moto's server (SSM, and DynamoDB unless another endpoint such as DynamoDB Local is
given), creates the tables from template.yaml, puts the SSM parameters, seeds the demo
accounts, starts the Telnyx emulator and serves every function through the local gateway.
With TELNYX_API_KEY and TELNYX_VERIFY_PROFILE_ID in the environment it talks to the real
Telnyx API instead of the emulator. This module reads the command line and the environment
(ports: ports.py) and prints what runs where.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading

from devtools.local_stack.config import REAL_TELNYX_URL, StackConfig
from devtools.local_stack.origins import OriginRefused, parse_origins
from devtools.local_stack.ports import PORT_VARIABLES, PortUnavailable, env_port
from devtools.local_stack.stack import LocalStack


def _banner(stack: LocalStack) -> str:
    cfg = stack.config
    lines = [
        "",
        "phone-verify is running locally",
        f"  API            {stack.api_url}   (POST /login, /login/verify, /login/resend)",
        "                 (POST /register/start, /register/verify, /register/resend)",
        "                 (POST /verify/cancel, GET /verify/status, POST /webhooks/telnyx)",
        "                 (POST /payments/initiate, /payments/confirm, /payments/resend: Bearer)",
        "                 (POST /password/reset/start, /verify, /resend)",
        "                 (POST /password/reset/lost-phone/start, /verify, /confirm-phone,"
        " /complete)",
        "                 (GET /challenge: the proof of work sign-ups and resets may carry)",
        "                 (POST /account/reauth/start, /verify, /resend: Bearer)",
        "                 (POST /account/phone/start, /verify, /resend: Bearer, Reauth-Token)",
        "                 (GET /account/phone/pending, POST /account/phone/pending/cancel: Bearer)",
        "                 (POST /logout: Bearer)",
    ]
    if cfg.static_dir:
        lines.append(f"  Web page       {stack.api_url}/")
        lines.append(f"                 {cfg.passkey_origin}/   (the same page: passkeys need it)")
    if stack.websocket_url:
        lines.append(f"  Live status    {stack.websocket_url}/?flow_id=...   (WebSocket)")
    elif not cfg.websocket:
        lines.append("  Live status    off (--no-websocket): the page polls GET /verify/status")
    origins = cfg.cors_origins
    lines.append(f"  CORS origins   {origins[0]}   (the page's own)")
    lines += [
        f"                 {origin}   "
        + ("(the page again, for passkeys)" if origin == cfg.passkey_origin else "(ALLOWED_ORIGIN)")
        for origin in origins[1:]
    ]
    if cfg.serve_openapi:
        lines.append(f"  OpenAPI        {stack.api_url}/openapi.json   (Swagger UI: /docs)")
    if stack.emulator is not None:
        lines += [
            f"  Telnyx (emu)   {stack.emulator.base_url}/v2",
            f"  SMS outbox     {stack.emulator.base_url}/_emulator/messages"
            "?phone_number=%2B14155550123",
            f"  Email outbox   {stack.emulator.base_url}/_emulator/emails?to=demo%40example.com",
            "                 (to bounce@ or complaint@simulator.amazonses.com: suppressed, as"
            " SES's simulator)",
        ]
    else:
        lines.append(f"  Telnyx         {REAL_TELNYX_URL} (real API; codes arrive by SMS)")
    lines += [
        f"  AWS (moto)     {stack.aws_env['AWS_ENDPOINT_URL']}   (SSM, DynamoDB)",
        "  Demo accounts  demo@example.com / correct horse battery staple  (phone +14155550123)",
        "                 nophone@example.com / correct horse battery staple (no phone yet: no"
        " 2FA until it adds one under Phone number)",
        "",
        "Try it:",
        f"  curl -s -X POST {stack.api_url}/login -H 'Content-Type: application/json' \\",
        '       -d \'{"email":"demo@example.com","password":"correct horse battery staple"}\'',
        "",
        "Ctrl-C stops everything.",
    ]
    return "\n".join(lines)


def _flag(variable: str) -> bool:
    """An on/off environment variable: 1, true, yes or on is on; anything else off."""
    return os.environ.get(variable, "").strip().lower() in ("1", "true", "yes", "on")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    try:
        env_ports = {name: env_port(name) for name in PORT_VARIABLES}
    except PortUnavailable as exc:
        print(f"make run: {exc}", file=sys.stderr)
        return 2
    parser.add_argument("--api-port", type=int, default=env_ports["API_PORT"])
    parser.add_argument("--emulator-port", type=int, default=env_ports["EMULATOR_PORT"])
    parser.add_argument("--aws-port", type=int, default=env_ports["AWS_PORT"])
    parser.add_argument("--ws-port", type=int, default=env_ports["WS_PORT"])
    parser.add_argument(
        "--no-websocket",
        action="store_true",
        default=_flag("NO_WEBSOCKET"),
        help="no live-status WebSocket: the page polls GET /verify/status (env NO_WEBSOCKET=1)",
    )
    parser.add_argument(
        "--allowed-origin",
        default=os.environ.get("ALLOWED_ORIGIN", ""),
        help="more origins that may call the API from a browser, comma-separated "
        "(env ALLOWED_ORIGIN), e.g. http://127.0.0.1:5173",
    )
    parser.add_argument(
        "--dynamodb-endpoint",
        default=os.environ.get("DYNAMODB_ENDPOINT"),
        help="use this DynamoDB (e.g. DynamoDB Local) instead of moto's",
    )
    args = parser.parse_args(argv)
    try:
        extra_origins = parse_origins(args.allowed_origin)
    except OriginRefused as exc:
        print(f"make run: {exc}", file=sys.stderr)
        return 2
    config = StackConfig(
        host=args.host,
        api_port=args.api_port,
        emulator_port=args.emulator_port,
        aws_port=args.aws_port,
        ws_port=args.ws_port,
        websocket=not args.no_websocket,
        extra_origins=extra_origins,
        dynamodb_endpoint=args.dynamodb_endpoint,
        telnyx_api_key=os.environ.get("TELNYX_API_KEY") or None,
        telnyx_profile_id=os.environ.get("TELNYX_VERIFY_PROFILE_ID") or None,
        telnyx_public_key=os.environ.get("TELNYX_PUBLIC_KEY") or None,
        telnyx_messaging_sender=os.environ.get("TELNYX_MESSAGING_SENDER") or None,
    )
    if os.environ.get("TELNYX_API_KEY") and not config.real_telnyx:
        print("TELNYX_API_KEY is set but TELNYX_VERIFY_PROFILE_ID is not", file=sys.stderr)
        return 2
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        stack = LocalStack(config).start()
    except PortUnavailable as exc:
        print(f"make run: {exc}", file=sys.stderr)  # one line, no traceback
        return 1
    try:
        print(_banner(stack), flush=True)
        stop.wait()
    finally:
        stack.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
