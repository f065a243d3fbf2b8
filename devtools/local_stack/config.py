"""What a local stack is configured with: hosts and ports, DynamoDB, the real Telnyx API or
the emulator, and the raised send limits the functions get locally."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from devtools.aws_resources import TEMPLATE

ROOT = TEMPLATE.parent
REGION = "us-east-1"
REAL_TELNYX_URL = "https://api.telnyx.com"

# Locally every request comes from 127.0.0.1, most codes go to the demo phone, and the tests'
# stacks share one DynamoDB for a whole session: the hourly send caps per phone, source and
# account, the SMS budget and the wrong passwords per source address are raised so that they
# only stop what tests point at them. StackConfig.gateway_env overrides them
# (tests/security/test_sms_pumping.py and test_password_throttling.py do).
LOCAL_SEND_LIMITS = {
    "MAX_SENDS_PER_PHONE": "1000",
    "MAX_SENDS_PER_IP": "10000",
    "MAX_SENDS_PER_ACCOUNT": "1000",
    "SMS_BUDGET": "100000",
    "MAX_PASSWORD_FAILURES_PER_IP": "100000",
    # The fraud guard: the tests sign up hundreds of fictional +1 ... 555 numbers an hour and
    # leave most codes unentered, which is what pumping looks like. Its own tests and the
    # campaign in `make bench` run it at its defaults (tests/security/test_fraud_guard_*).
    "PREFIX_MIN_CODES": "10000",
    # Calls: the same reasons (docs/channels.md); the emulator serves WhatsApp too.
    "MAX_CALLS_PER_PHONE": "1000",
    "CALL_BUDGET": "100000",
    "WHATSAPP_ENABLED": "true",
    # Emails (docs/email.md): the same reasons; tests/security/test_email_channel.py sets its own.
    "MAX_EMAILS_PER_ADDRESS": "100",
    "MAX_EMAILS_PER_IP": "10000",
    "EMAIL_BUDGET": "100000",
}


@dataclass
class StackConfig:
    host: str = "127.0.0.1"
    api_port: int = 3000
    emulator_port: int = 4010
    aws_port: int = 4575
    # 0 for any port: a free one, chosen at start (LocalStack.start writes it back here).
    ws_port: int = 0  # the live-status WebSocket API (docs/realtime.md)
    websocket: bool = True  # False (--no-websocket): none; the page polls GET /verify/status
    dynamodb_endpoint: str | None = None  # None: moto serves DynamoDB too
    telnyx_api_key: str | None = None  # set (with the profile id) to use the real Telnyx API
    telnyx_profile_id: str | None = None
    telnyx_public_key: str | None = None
    telnyx_messaging_sender: str | None = None  # with the real API: notices' number or profile
    static_dir: Path | None = field(default_factory=lambda: _existing(ROOT / "web"))
    gateway_env: dict[str, str] = field(default_factory=dict)
    quiet: bool = False
    serve_openapi: bool = True  # /openapi.json and /docs, built from the functions' resolvers
    # CORS origin (template parameter AllowedOrigin); None: the API's own http://host:port,
    # where the web page is served.
    allowed_origin: str | None = None
    # More origins that may call the API from a browser (make run's ALLOWED_ORIGIN, checked by
    # origins.py): the functions' EXTRA_ALLOWED_ORIGINS and the gateway's own answers.
    extra_origins: tuple[str, ...] = ()
    # How long the emulator waits for the webhook function to answer before it retries, as
    # Telnyx would; tests raise it so a cold start on a busy machine is not a lost delivery.
    webhook_timeout_secs: float = 5.0
    # How often the stack sweeps the notices outbox (devtools/local_stack/notices.py); 0: never
    # by itself (tests call LocalStack.deliver_notices() when they choose).
    notice_poll_secs: float = 1.0
    # How often the stack runs the payment reconciler (devtools/local_stack/schedules.py; the
    # template's rate is 5 minutes); 0: never by itself (LocalStack.reconcile_payments()).
    payment_reconcile_secs: float = 30.0

    @property
    def real_telnyx(self) -> bool:
        return bool(self.telnyx_api_key and self.telnyx_profile_id)

    @property
    def own_origin(self) -> str:
        """The AllowedOrigin parameter: allowed_origin, else where the stack's page is served."""
        return self.allowed_origin or f"http://{self.host}:{self.api_port}"

    @property
    def passkey_origin(self) -> str:
        """The page again, on http://localhost:<api port>: a passkey's relying-party id is a
        domain (Chromium refuses 127.0.0.1), so passkeys are made and used there, with the RP
        id `localhost` (WEBAUTHN_RP_ID, WEBAUTHN_ORIGINS)."""
        return f"http://localhost:{self.api_port}"

    @property
    def cors_origins(self) -> tuple[str, ...]:
        """Every origin a browser page may call the API from: own_origin first, then the
        page on localhost (passkey_origin), then make run's ALLOWED_ORIGIN."""
        extra = [
            origin
            for origin in (self.passkey_origin, *self.extra_origins)
            if origin != self.own_origin
        ]
        return (self.own_origin, *dict.fromkeys(extra))


def _existing(path: Path) -> Path | None:
    return path if path.is_dir() else None
