"""A local stack: starts each service in order and stops them in reverse.

moto's server (SSM, and DynamoDB unless another endpoint such as DynamoDB Local is given), the
tables from template.yaml, the SSM parameters and demo accounts (seeding.py), the Telnyx
emulator (unless the real Telnyx API is configured) and every function behind the local
gateway, with the web page and OpenAPI document it serves (site.py).
"""

from __future__ import annotations

import logging
from typing import Any, Literal

import boto3

from devtools.aws_resources import TEMPLATE, create_tables
from devtools.local_gateway import LocalGateway
from devtools.local_stack.config import LOCAL_SEND_LIMITS, REAL_TELNYX_URL, REGION, StackConfig
from devtools.local_stack.moto_server import SerialMotoServer
from devtools.local_stack.notices import NoticePoller, pending_in, sweep
from devtools.local_stack.ports import check_ports_free, free_port
from devtools.local_stack.schedules import RECONCILER, ScheduledFunction, run_scheduled
from devtools.local_stack.seeding import (
    LOCAL_FACTOR_KEY_PARAM,
    PROCESS_SECRETS,
    put_parameters,
    seed_accounts,
)
from devtools.local_stack.ses_events import SesEventRelay
from devtools.local_stack.site import Site
from devtools.telnyx_emulator import EmulatorConfig, TelnyxEmulator


class LocalStack:
    def __init__(self, config: StackConfig | None = None) -> None:
        self.config = config or StackConfig()
        self.emulator: TelnyxEmulator | None = None
        self.gateway: LocalGateway | None = None
        self._moto: SerialMotoServer | None = None
        self._site = Site(self.config)
        self.aws_env: dict[str, str] = {}
        self._poller: NoticePoller | None = None
        self._schedules: list[ScheduledFunction] = []
        self._ses_events: SesEventRelay | None = None

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
        # Port 0: a free one, chosen now so that everything told of it (the AllowedOrigin, the
        # page's config.js, the banner) names the port that listens. The WebSocket's is chosen
        # by the gateway as it binds (LocalGateway.websocket.url).
        cfg.api_port, cfg.aws_port = (
            cfg.api_port or free_port(cfg.host),
            cfg.aws_port or free_port(cfg.host),
        )
        ports = {"API_PORT": cfg.api_port, "AWS_PORT": cfg.aws_port}
        if not cfg.real_telnyx:
            cfg.emulator_port = cfg.emulator_port or free_port(cfg.host)
            ports["EMULATOR_PORT"] = cfg.emulator_port
        if cfg.ws_port and cfg.websocket:
            ports["WS_PORT"] = cfg.ws_port
        check_ports_free(cfg.host, ports)
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's per-request access log
        # One request at a time: moto's backends race themselves (moto_server.py).
        self._moto = SerialMotoServer(ip_address=cfg.host, port=cfg.aws_port, verbose=False)
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

        own_origin, *extra_origins = cfg.cors_origins
        # Passkeys on the page at http://localhost:<api port> (config.passkey_origin): a
        # relying-party id is a domain, and browsers refuse 127.0.0.1.
        overrides = {
            "AllowedOrigin": own_origin,
            "PasskeyRpId": "localhost",
            "PasskeyOrigins": cfg.passkey_origin,
        }
        if cfg.real_telnyx:
            overrides["TelnyxApiBaseUrl"] = REAL_TELNYX_URL
        else:
            self.emulator = TelnyxEmulator(
                EmulatorConfig(
                    host=cfg.host,
                    port=cfg.emulator_port,
                    log_requests=not cfg.quiet,
                    signing_key_seed=PROCESS_SECRETS.webhook_signing_seed,
                    webhook_timeout_secs=cfg.webhook_timeout_secs,
                )
            ).start()
            overrides["TelnyxApiBaseUrl"] = self.emulator.base_url
            # The lost phone's emails (SES v2 SendEmail) land in the emulator's outbox:
            # GET /_emulator/emails?to= (devtools/telnyx_emulator/emails.py).
            self.aws_env["AWS_ENDPOINT_URL_SESV2"] = self.emulator.base_url
        put_parameters(self._client("ssm"), cfg, self.emulator)
        seed_accounts(dynamodb)

        self.gateway = LocalGateway(
            TEMPLATE,
            host=cfg.host,
            port=cfg.api_port,
            parameter_overrides=overrides,
            static_dir=self._site.build(self.emulator),
            extra_env={
                **self.aws_env,
                **LOCAL_SEND_LIMITS,
                # The functions push to the page through the gateway's management API.
                "WEBSOCKET_MANAGEMENT_URL": f"http://{cfg.host}:{cfg.api_port}",
                # make run's ALLOWED_ORIGIN (origins.py): Powertools' CORS and the WebSocket.
                "EXTRA_ALLOWED_ORIGINS": ",".join(extra_origins),
                # No KMS locally: app secrets are sealed under the key seeded in SSM.
                "FACTOR_KEY_ID": "",
                "FACTOR_KEY_PARAM": LOCAL_FACTOR_KEY_PARAM,
                **cfg.gateway_env,
            },
            quiet=cfg.quiet,
            websocket_port=cfg.ws_port if cfg.websocket else None,
            extra_origins=extra_origins,
        )
        self.gateway.start()
        self._site.link_websocket(self.websocket_url)
        if self.emulator is not None and "/webhooks/telnyx" in TEMPLATE.read_text():
            self.emulator.set_webhook_url(f"{self.gateway.base_url}/webhooks/telnyx")
        if self.emulator is not None and "functions/ses_events/" in TEMPLATE.read_text():
            # SES's mailbox simulator: its bounce and complaint reach SesEventsFunction.
            self._ses_events = SesEventRelay(self.gateway.invoke).start()
            self.emulator.on_email(self._ses_events)
        if cfg.notice_poll_secs > 0:
            pending = pending_in(dynamodb, "NoticesOutboxTable")
            self._poller = NoticePoller(self.gateway, cfg.notice_poll_secs, pending).start()
        if (
            cfg.payment_reconcile_secs > 0
            and "functions/payments_reconcile/" in TEMPLATE.read_text()
        ):
            reconciler = ScheduledFunction(self.gateway, RECONCILER, cfg.payment_reconcile_secs)
            self._schedules.append(reconciler.start())

    def deliver_notices(self) -> dict[str, Any]:
        """Sweep the notices outbox now, as the schedule does in AWS (notices.py)."""
        assert self.gateway is not None, "stack not started"
        return sweep(self.gateway)

    def reconcile_payments(self) -> dict[str, Any]:
        """Run the payment reconciler now, as its schedule does in AWS (schedules.py): the
        outcomes of the payments it settled ({"failed": 1, ...}) and the oldest unsettled
        payment's age in seconds (`oldest_unsettled_secs`)."""
        assert self.gateway is not None, "stack not started"
        return run_scheduled(self.gateway, RECONCILER)

    def ses_events_handled(self) -> list[dict[str, Any]]:
        """Wait until SesEventsFunction has handled every SES event the emails sent so far to
        the mailbox simulator caused (ses_events.py); what each invocation answered."""
        assert self._ses_events is not None, "stack not started, or no SES events locally"
        self._ses_events.join()
        return list(self._ses_events.outcomes)

    @property
    def websocket_url(self) -> str:
        """The live-status WebSocket (``?flow_id=``), or "" when the template declares none."""
        ws = self.gateway.websocket if self.gateway is not None else None
        return ws.url if ws is not None else ""

    def stop(self) -> None:
        for schedule in self._schedules:  # before the gateway whose function they invoke
            schedule.stop()
        self._schedules = []
        if self._poller is not None:  # before the gateway whose function it invokes
            self._poller.stop()
            self._poller = None
        # The emulator first: its webhooks in flight must not reach a gateway shutting down.
        if self.emulator is not None:
            self.emulator.on_email(None)
            self.emulator.stop()
            self.emulator = None
        if self._ses_events is not None:  # before the gateway whose function it invokes
            self._ses_events.stop()
            self._ses_events = None
        if self.gateway is not None:
            self.gateway.stop()
            self.gateway = None
        if self._moto is not None:
            self._moto.stop()
            self._moto = None
        self._site.remove()

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def api_url(self) -> str:
        assert self.gateway is not None, "stack not started"
        return self.gateway.base_url

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
