"""Command line: `python -m devtools.telnyx_emulator --port 4010 [...]`."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from types import FrameType

from devtools.telnyx_emulator.config import (
    DEFAULT_API_KEY,
    DEFAULT_MESSAGING_FROM,
    DEFAULT_MESSAGING_PROFILE_ID,
    DEFAULT_PROFILE_ID,
    EmulatorConfig,
)
from devtools.telnyx_emulator.emulator import TelnyxEmulator

logger = logging.getLogger("telnyx_emulator")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m devtools.telnyx_emulator",
        description="Local Telnyx Verify v2 and Messaging emulator (development only).",
    )
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=4010)
    parser.add_argument("--api-key", default=DEFAULT_API_KEY)
    parser.add_argument("--profile-id", default=DEFAULT_PROFILE_ID)
    parser.add_argument("--code-length", type=int, default=6)
    parser.add_argument("--timeout-secs", type=int, default=300)
    parser.add_argument("--webhook-url", default=None)
    parser.add_argument(
        "--signing-key-file",
        default=None,
        help="base64 of the 32-byte Ed25519 seed; created (mode 0600) if missing",
    )
    parser.add_argument("--webhook-max-attempts", type=int, default=3)
    parser.add_argument("--webhook-retry-delay-secs", type=float, default=1.0)
    parser.add_argument(
        "--messaging-from", default=DEFAULT_MESSAGING_FROM, help="our number for /v2/messages"
    )
    parser.add_argument("--messaging-profile-id", default=DEFAULT_MESSAGING_PROFILE_ID)
    parser.add_argument("--quiet", action="store_true", help="no per-request access log")
    return parser.parse_args(argv)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s telnyx-emulator %(levelname)s %(message)s",
        stream=sys.stderr,
    )
    try:
        config = EmulatorConfig(
            host=args.host,
            port=args.port,
            api_key=args.api_key,
            profile_id=args.profile_id,
            code_length=args.code_length,
            timeout_secs=args.timeout_secs,
            webhook_url=args.webhook_url,
            signing_key_file=args.signing_key_file,
            webhook_max_attempts=args.webhook_max_attempts,
            webhook_retry_delay_secs=args.webhook_retry_delay_secs,
            log_requests=not args.quiet,
            messaging_from=args.messaging_from,
            messaging_profile_id=args.messaging_profile_id,
        )
        emulator = TelnyxEmulator(config).bind()
    except (ValueError, OSError) as exc:
        logger.error("cannot start: %s", exc)
        return 2
    logger.info(
        "listening on %s (API under /v2), profile %s, messages from %s, webhooks to %s",
        emulator.base_url,
        config.profile_id,
        config.messaging_from,
        config.webhook_url or "nowhere",
    )
    logger.info("webhook public key (base64 Ed25519): %s", emulator.public_key_b64)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        emulator.serve_forever()
    except KeyboardInterrupt:
        logger.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
