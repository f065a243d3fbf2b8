"""`make run`: the whole system on 127.0.0.1 with no AWS account, no Docker, no Telnyx account.

Starts moto's server (SSM, and DynamoDB unless another endpoint such as DynamoDB Local is
given), creates the tables from template.yaml, puts the SSM parameters, seeds the demo
accounts, starts the Telnyx emulator and serves every function through the local gateway.
With TELNYX_API_KEY and TELNYX_VERIFY_PROFILE_ID in the environment it talks to the real
Telnyx API instead of the emulator.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import secrets
import shutil
import signal
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import boto3
from moto.server import ThreadedMotoServer

from devtools.aws_resources import TEMPLATE, create_tables, load_template
from devtools.local_gateway import LocalGateway
from devtools.openapi import write_site
from devtools.telnyx_emulator import EmulatorConfig, TelnyxEmulator
from phoneverify.adapters.dynamo.users import DynamoUserRepository
from phoneverify.domain.models import User
from phoneverify.domain.passwords import PasswordHasher
from phoneverify.ports.conditions import ConditionFailed

ROOT = TEMPLATE.parent
REGION = "us-east-1"
REAL_TELNYX_URL = "https://api.telnyx.com"


@dataclass(frozen=True)
class DemoAccount:
    user_id: str
    email: str
    password: str
    phone_number: str | None
    name: str


DEMO_PASSWORD = "correct horse battery staple"  # noqa: S105 - the documented demo account
DEMO_ACCOUNTS = (
    DemoAccount("demo-user", "demo@example.com", DEMO_PASSWORD, "+14155550123", "Demo User"),
    DemoAccount("demo-no-phone", "nophone@example.com", DEMO_PASSWORD, None, "No Phone"),
)


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
}


@dataclass(frozen=True)
class _LocalSecrets:
    """Fresh for each process, and the same for every stack in it: moto keeps one SSM for
    the whole process, so a second stack must not replace the secrets the first one uses."""

    jwt_signing_secret: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    webhook_signing_seed: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    # The proof-of-work gate's HMAC key (docs/abuse-controls.md#the-proof-of-work-gate).
    altcha_hmac_key: str = field(default_factory=lambda: secrets.token_urlsafe(48))
    # The pepper of keyed digests (domain/keyed.py): the reset's decoy numbers, audit subjects.
    hash_pepper: str = field(default_factory=lambda: secrets.token_urlsafe(48))


_PROCESS_SECRETS = _LocalSecrets()


# The environment variables `make run` reads its ports from (README "Ports",
# docs/configuration.md), with the defaults the README's examples use.
PORT_VARIABLES = {"API_PORT": 3000, "EMULATOR_PORT": 4010, "AWS_PORT": 4575, "WS_PORT": 3002}


class PortUnavailable(Exception):
    """A port the stack would listen on is taken (or not a port): says which and how to move."""

    def __init__(self, variable: str, port: int | str, host: str = "127.0.0.1") -> None:
        self.variable, self.port, self.host = variable, port, host
        super().__init__(
            f"port {port} ({variable}) is in use on {host}: stop what listens there, "
            f"or choose a free one, e.g. {variable}={_suggestion(port)} make run"
            if isinstance(port, int)
            else f"{variable}={port!r} is not a port number (1-65535), e.g. "
            f"{variable}={PORT_VARIABLES[variable]} make run"
        )


def _suggestion(port: int) -> int:
    return port + 1 if port < 65535 else free_port()


def check_ports_free(host: str, ports: Mapping[str, int]) -> None:
    """Raise PortUnavailable for the first of `ports` (variable -> port) that cannot be bound
    on `host`, or that another of them already names. All are held until every one is tried:
    moto's server thread would otherwise wait forever for a port it could not bind."""
    held: list[socket.socket] = []
    try:
        for variable, port in ports.items():
            sock = socket.socket()
            held.append(sock)
            # As the servers do: a port left in TIME_WAIT by a previous run is free.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, port))
                sock.listen()
            except OSError as exc:
                raise PortUnavailable(variable, port, host) from exc
    finally:
        for sock in held:
            sock.close()


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class StackConfig:
    host: str = "127.0.0.1"
    api_port: int = 3000
    emulator_port: int = 4010
    aws_port: int = 4575
    ws_port: int = 0  # the live-status WebSocket API (docs/realtime.md); 0: a free port
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
    # How long the emulator waits for the webhook function to answer before it retries, as
    # Telnyx would; tests raise it so a cold start on a busy machine is not a lost delivery.
    webhook_timeout_secs: float = 5.0

    @property
    def real_telnyx(self) -> bool:
        return bool(self.telnyx_api_key and self.telnyx_profile_id)


def _existing(path: Path) -> Path | None:
    return path if path.is_dir() else None


# Sample exchange rates of the local stack (units of USD per unit; docs/payments.md).
LOCAL_FX_RATES = {"EUR": "1.08", "GBP": "1.27", "CHF": "1.13"}


def local_fx_rates(now: float, reference: str = "USD") -> str:
    """The local stack's rate table: the sample rates, set `now`."""
    return json.dumps(
        {"reference": reference, "rates": LOCAL_FX_RATES, "updated_at": int(now)},
        separators=(",", ":"),
    )


def _parameter_defaults() -> dict[str, str]:
    params = load_template().get("Parameters", {})
    return {name: str(spec.get("Default", "")) for name, spec in params.items()}


class LocalStack:
    def __init__(self, config: StackConfig | None = None) -> None:
        self.config = config or StackConfig()
        self.emulator: TelnyxEmulator | None = None
        self.gateway: LocalGateway | None = None
        self._moto: ThreadedMotoServer | None = None
        self._site_dir: Path | None = None
        self._web_config: dict[str, str] = {"apiUrl": ""}  # web/config.js as served
        self.aws_env: dict[str, str] = {}

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> LocalStack:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        cfg = self.config
        ports = {"API_PORT": cfg.api_port, "AWS_PORT": cfg.aws_port}
        if not cfg.real_telnyx:
            ports["EMULATOR_PORT"] = cfg.emulator_port
        if cfg.ws_port:
            ports["WS_PORT"] = cfg.ws_port
        check_ports_free(cfg.host, ports)
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's per-request access log
        self._moto = ThreadedMotoServer(ip_address=cfg.host, port=cfg.aws_port, verbose=False)
        self._moto.start()
        aws = f"http://{cfg.host}:{cfg.aws_port}"
        self.aws_env = {
            "AWS_ENDPOINT_URL": aws,
            "AWS_ENDPOINT_URL_DYNAMODB": cfg.dynamodb_endpoint or aws,
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
        }
        dynamodb = self._client("dynamodb")
        create_tables(dynamodb)  # those missing: an external DynamoDB may outlive a run

        overrides = {"AllowedOrigin": cfg.allowed_origin or f"http://{cfg.host}:{cfg.api_port}"}
        if cfg.real_telnyx:
            overrides["TelnyxApiBaseUrl"] = REAL_TELNYX_URL
        else:
            self.emulator = TelnyxEmulator(
                EmulatorConfig(
                    host=cfg.host,
                    port=cfg.emulator_port,
                    log_requests=not cfg.quiet,
                    signing_key_seed=_PROCESS_SECRETS.webhook_signing_seed,
                    webhook_timeout_secs=cfg.webhook_timeout_secs,
                )
            ).start()
            overrides["TelnyxApiBaseUrl"] = self.emulator.base_url
        self._put_parameters()
        self._seed_accounts(dynamodb)

        self.gateway = LocalGateway(
            TEMPLATE,
            host=cfg.host,
            port=cfg.api_port,
            parameter_overrides=overrides,
            static_dir=self._site(),
            extra_env={
                **self.aws_env,
                **LOCAL_SEND_LIMITS,
                # The functions push to the page through the gateway's management API.
                "WEBSOCKET_MANAGEMENT_URL": f"http://{cfg.host}:{cfg.api_port}",
                **cfg.gateway_env,
            },
            quiet=cfg.quiet,
            websocket_port=cfg.ws_port,
        )
        self.gateway.start()
        self._link_websocket()
        if self.emulator is not None and "/webhooks/telnyx" in TEMPLATE.read_text():
            self.emulator.set_webhook_url(f"{self.gateway.base_url}/webhooks/telnyx")

    def _site(self) -> Path | None:
        """What the gateway serves as files: the web page with a config.js that links the
        emulator's outbox (web/config.js, docs/web.md), plus the API's OpenAPI document."""
        cfg = self.config
        if cfg.static_dir is None and not cfg.serve_openapi:
            return None
        self._site_dir = Path(tempfile.mkdtemp(prefix="phone-verify-site-"))
        if cfg.static_dir is not None:
            shutil.copytree(cfg.static_dir, self._site_dir, dirs_exist_ok=True)
            if self.emulator is not None:
                outbox = f"{self.emulator.base_url}/_emulator/messages"
                self._web_config = {"apiUrl": "", "emulatorOutboxUrl": outbox}
                (self._site_dir / "config.js").write_text(
                    f"window.PHONE_VERIFY_CONFIG = {json.dumps(self._web_config)};\n"
                )
        if cfg.serve_openapi:
            write_site(self._site_dir, api_url=f"http://{cfg.host}:{cfg.api_port}")
        return self._site_dir

    def _link_websocket(self) -> None:
        """Tell the page where the live-status WebSocket listens (its port is known once
        started): websocketUrl in config.js, and its origin in the page's connect-src."""
        if self._site_dir is None or self.config.static_dir is None:
            return
        web_config = {**self._web_config, "websocketUrl": self.websocket_url}
        (self._site_dir / "config.js").write_text(
            f"window.PHONE_VERIFY_CONFIG = {json.dumps(web_config)};\n"
        )
        index = self._site_dir / "index.html"
        if index.is_file() and self.websocket_url:
            allowed = f"connect-src 'self' {self.websocket_url}"
            index.write_text(index.read_text().replace("connect-src 'self'", allowed))

    @property
    def websocket_url(self) -> str:
        """The live-status WebSocket (``?flow_id=``), or "" when the template declares none."""
        ws = self.gateway.websocket if self.gateway is not None else None
        return ws.url if ws is not None else ""

    def stop(self) -> None:
        # The emulator first: its webhooks in flight must not reach a gateway shutting down.
        if self.emulator is not None:
            self.emulator.stop()
            self.emulator = None
        if self.gateway is not None:
            self.gateway.stop()
            self.gateway = None
        if self._moto is not None:
            self._moto.stop()
            self._moto = None
        if self._site_dir is not None:
            shutil.rmtree(self._site_dir, ignore_errors=True)
            self._site_dir = None

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def api_url(self) -> str:
        assert self.gateway is not None, "stack not started"
        return self.gateway.base_url

    # -- seeding ---------------------------------------------------------------------------
    def _client(self, service: Literal["dynamodb", "ssm"]) -> Any:
        endpoint = self.aws_env[
            "AWS_ENDPOINT_URL_DYNAMODB" if service == "dynamodb" else "AWS_ENDPOINT_URL"
        ]
        return boto3.client(
            service,
            endpoint_url=endpoint,
            region_name=REGION,
            aws_access_key_id="local",
            aws_secret_access_key="local",  # noqa: S106 - moto and DynamoDB Local accept any
        )

    def _put_parameters(self) -> None:
        cfg = self.config
        names = _parameter_defaults()
        if cfg.real_telnyx:
            api_key, profile_id = cfg.telnyx_api_key or "", cfg.telnyx_profile_id or ""
            public_key = cfg.telnyx_public_key or "not-configured"
            messaging_sender = cfg.telnyx_messaging_sender or "not-configured"
        else:
            assert self.emulator is not None
            api_key, profile_id = self.emulator.config.api_key, self.emulator.config.profile_id
            public_key = self.emulator.public_key_b64
            messaging_sender = self.emulator.config.messaging_from
        values = {
            "TelnyxApiKeyParameterName": ("SecureString", api_key),
            "TelnyxVerifyProfileIdParameterName": ("String", profile_id),
            "TelnyxMessagingSenderParameterName": ("String", messaging_sender),
            "JwtSigningSecretParameterName": ("SecureString", _PROCESS_SECRETS.jwt_signing_secret),
            "TelnyxPublicKeyParameterName": ("String", public_key),
            "AltchaHmacKeyParameterName": ("SecureString", _PROCESS_SECRETS.altcha_hmac_key),
            "HashPepperParameterName": ("SecureString", _PROCESS_SECRETS.hash_pepper),
        }
        ssm = self._client("ssm")
        for param, (kind, value) in values.items():
            ssm.put_parameter(Name=names[param], Value=value, Type=kind, Overwrite=True)
        # The exchange rates the template's FxRatesParameter holds, with sample rates so that
        # `make run` pays in EUR, GBP and CHF below the threshold; `make admin ARGS="rates
        # set KYD 1.20"` adds one. Written only when absent: an operator's change outlives a
        # restart on an external moto.
        with contextlib.suppress(ssm.exceptions.ParameterAlreadyExists):
            ssm.put_parameter(
                Name=names["FxRatesParameterName"],
                Value=local_fx_rates(time.time()),
                Type="String",
            )

    def _seed_accounts(self, dynamodb: Any) -> None:
        users = DynamoUserRepository(dynamodb, "UsersTable")
        hasher = PasswordHasher(cost=12)
        for account in DEMO_ACCOUNTS:
            user = User(
                user_id=account.user_id,
                email=account.email,
                password_hash=hasher.hash(account.password),
                phone_number=account.phone_number,
                name=account.name,
            )
            # Already seeded when an external DynamoDB outlived a previous run.
            with contextlib.suppress(ConditionFailed):
                users.put_user(user, phone_verified_at=0 if account.phone_number else None)


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
        "                 (GET /challenge: the proof of work sign-ups and resets may carry)",
        "                 (POST /account/phone/start, /verify, /resend: Bearer)",
        "                 (POST /logout: Bearer)",
    ]
    if cfg.static_dir:
        lines.append(f"  Web page       {stack.api_url}/")
    if stack.websocket_url:
        lines.append(f"  Live status    {stack.websocket_url}/?flow_id=...   (WebSocket)")
    if cfg.serve_openapi:
        lines.append(f"  OpenAPI        {stack.api_url}/openapi.json   (Swagger UI: /docs)")
    if stack.emulator is not None:
        lines += [
            f"  Telnyx (emu)   {stack.emulator.base_url}/v2",
            f"  SMS outbox     {stack.emulator.base_url}/_emulator/messages"
            "?phone_number=%2B14155550123",
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--host", default="127.0.0.1")
    try:
        env_ports = {name: _env_port(name) for name in PORT_VARIABLES}
    except PortUnavailable as exc:
        print(f"make run: {exc}", file=sys.stderr)
        return 2
    parser.add_argument("--api-port", type=int, default=env_ports["API_PORT"])
    parser.add_argument("--emulator-port", type=int, default=env_ports["EMULATOR_PORT"])
    parser.add_argument("--aws-port", type=int, default=env_ports["AWS_PORT"])
    parser.add_argument("--ws-port", type=int, default=env_ports["WS_PORT"])
    parser.add_argument(
        "--dynamodb-endpoint",
        default=os.environ.get("DYNAMODB_ENDPOINT"),
        help="use this DynamoDB (e.g. DynamoDB Local) instead of moto's",
    )
    args = parser.parse_args(argv)
    config = StackConfig(
        host=args.host,
        api_port=args.api_port,
        emulator_port=args.emulator_port,
        aws_port=args.aws_port,
        ws_port=args.ws_port,
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


def _env_port(variable: str) -> int:
    raw = os.environ.get(variable, "").strip()
    if not raw:
        return PORT_VARIABLES[variable]
    if not raw.isdigit() or not 0 < int(raw) < 65536:
        raise PortUnavailable(variable, raw)
    return int(raw)


if __name__ == "__main__":
    raise SystemExit(main())
