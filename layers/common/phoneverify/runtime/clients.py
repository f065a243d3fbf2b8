"""The composition root's floor: the function's settings, its clock, and the clients and
secrets every builder above reads (DynamoDB, SSM, Telnyx, Powertools' metrics), plus the
request scope every handler opens. Each is built on first use and reused by warm
invocations; nothing is imported before a builder runs."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from contextvars import ContextVar
from functools import cached_property
from typing import TYPE_CHECKING, Any, Self, TypeVar

from phoneverify.config import ConfigurationError, Settings

if TYPE_CHECKING:
    from aws_lambda_powertools import Metrics
    from mypy_boto3_dynamodb.client import DynamoDBClient

    from phoneverify.adapters.ssm import SecretSource
    from phoneverify.adapters.telnyx.client import TelnyxVerifyClient
    from phoneverify.adapters.telnyx.sender import TelnyxCodeSender
    from phoneverify.domain.clock import Clock
    from phoneverify.domain.passwords import PasswordHasher
    from phoneverify.domain.tokens import AccessTokenIssuer
else:
    DynamoDBClient = Any

S = TypeVar("S", bound=Settings)


class Clients:
    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        secrets: SecretSource | None = None,
        dynamodb: DynamoDBClient | None = None,
    ) -> None:
        from phoneverify.domain.clock import SystemClock

        self.settings = settings
        self.clock: Clock = clock or SystemClock()
        self._secrets = secrets
        self._dynamodb = dynamodb

    @classmethod
    def from_environment(cls, settings_type: type[Settings] = Settings) -> Self:
        """Validate the function's environment as `settings_type` (the settings this function
        needs, config.py); an incomplete one fails the cold start naming what is missing."""
        return cls(settings_type.from_env(os.environ))

    def settings_as(self, kind: type[S]) -> S:
        """The function's settings as `kind`, which a builder needs. A function declared with
        settings that lack it fails as its cold start would have, naming the variables."""
        if isinstance(self.settings, kind):
            return self.settings
        missing = sorted(set(kind.model_fields) - set(type(self.settings).model_fields))
        problems = "; ".join(f"{name.upper()}: Field required" for name in missing)
        raise ConfigurationError(f"invalid function environment: {problems}")

    def request_scope(self, request_id: str | None = None) -> AbstractContextManager[None]:
        """What lasts one invocation (every handler opens it: http/request_end.py): the
        best-effort DynamoDB writes it makes (audit records, a wrong-code count's reset),
        collected and written in one call when it ends, answer or error
        (adapters/dynamo/write_buffer.py); and `request_id`, API Gateway's id of the request
        (`current_request_id`), which names what the request leaves to be done later (a
        notice: a retried request writes it once)."""
        return _request(request_id)

    @staticmethod
    def current_request_id() -> str | None:
        """The id of the request being handled, None outside one (or when it has none)."""
        return _REQUEST_ID.get()

    @cached_property
    def metrics(self) -> Metrics:
        from aws_lambda_powertools import Metrics

        return Metrics()

    def count_metric(self, name: str) -> None:
        from aws_lambda_powertools.metrics import MetricUnit

        self.metrics.add_metric(name=name, unit=MetricUnit.Count, value=1)

    @cached_property
    def secrets(self) -> SecretSource:
        from phoneverify.adapters.ssm import SsmSecrets

        return self._secrets or SsmSecrets(max_age=self.settings.secrets_max_age_secs)

    def hash_pepper(self) -> bytes:
        """The pepper of keyed digests (domain/keyed.py), read from SSM when first needed
        and cached as every secret is (SsmSecrets)."""
        return self.secrets.get(self.settings.hash_pepper_param).encode("utf-8")

    @cached_property
    def dynamodb(self) -> DynamoDBClient:
        import boto3
        from botocore.config import Config

        # Short timeouts and standard retries: a slow table answers 503 well inside the
        # function's timeout.
        config = Config(
            connect_timeout=2, read_timeout=5, retries={"mode": "standard", "max_attempts": 3}
        )
        return self._dynamodb or boto3.client("dynamodb", config=config)

    @staticmethod
    def quick_client(
        service: str, timeout_secs: float, endpoint_url: str | None = None
    ) -> Callable[[], Any]:
        """A builder of a boto3 client of `service` that waits `timeout_secs` at most to
        connect and to read, and retries once: for a call that is news or a message, not
        state (an email, a live-status push), which must not hold its request up."""

        def build() -> Any:
            import boto3
            from botocore.config import Config

            config = Config(
                connect_timeout=timeout_secs,
                read_timeout=timeout_secs,
                retries={"mode": "standard", "max_attempts": 2},
            )
            return boto3.client(service, config=config, endpoint_url=endpoint_url)  # type: ignore[call-overload]

        return build

    @cached_property
    def telnyx(self) -> TelnyxVerifyClient:
        from phoneverify.adapters.telnyx.client import TelnyxVerifyClient

        s = self.settings
        return TelnyxVerifyClient(
            s.telnyx_api_base_url,
            api_key=lambda: self.secrets.get(s.telnyx_api_key_param),
            timeout_secs=s.telnyx_timeout_secs,
        )

    def code_sender(self, timeout_secs: int) -> TelnyxCodeSender:
        """Telnyx must accept a code for as long as its flow waits for it."""
        from phoneverify.adapters.telnyx.sender import TelnyxCodeSender

        profile_param = self.settings.telnyx_verify_profile_id_param
        return TelnyxCodeSender(
            self.telnyx,
            verify_profile_id=lambda: self.secrets.get(profile_param),
            timeout_secs=timeout_secs,
        )

    @cached_property
    def passwords(self) -> PasswordHasher:
        from phoneverify.domain.passwords import PasswordHasher

        return PasswordHasher(cost=self.settings.bcrypt_cost)

    @cached_property
    def tokens(self) -> AccessTokenIssuer:
        from phoneverify.domain.tokens import AccessTokenIssuer

        s = self.settings
        return AccessTokenIssuer(
            lambda: self.secrets.get(s.jwt_signing_secret_param),
            issuer=s.jwt_issuer,
            audience=s.jwt_audience,
            ttl_seconds=s.access_token_ttl_seconds,
            clock=self.clock,
        )


_REQUEST_ID: ContextVar[str | None] = ContextVar("phoneverify_request_id", default=None)


@contextmanager
def _request(request_id: str | None) -> Iterator[None]:
    from phoneverify.adapters.dynamo.write_buffer import deferred_writes

    token = _REQUEST_ID.set(request_id)
    try:
        with deferred_writes():
            yield
    finally:
        _REQUEST_ID.reset(token)
