"""Idempotency-Key handling over Powertools Idempotency and its DynamoDB table, and the
format a payment's answer is kept in (a dict out, the same answer back in)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from phoneverify.domain.errors import (
    StorageUnavailable,
)
from phoneverify.domain.models import Channel, PaymentStatus, StepUpReason
from phoneverify.domain.payment_errors import (
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
)
from phoneverify.ports.payments import (
    PaymentAnswer,
    PaymentCompleted,
    PaymentVerificationRequired,
)

if TYPE_CHECKING:
    from aws_lambda_powertools.utilities.typing import LambdaContext
    from mypy_boto3_dynamodb.client import DynamoDBClient
else:
    DynamoDBClient = Any


def stored_answer(answer: PaymentAnswer) -> dict[str, Any]:
    """The answer as kept for its Idempotency-Key. The keys are the ones records written by
    earlier releases hold, so a repeat within the key's lifetime replays across a deploy."""
    if isinstance(answer, PaymentCompleted):
        return {
            "payment_id": answer.payment_id,
            "status": PaymentStatus.COMPLETED.value,
            "transaction_id": answer.transaction_id,
            "amount": answer.amount,
            "currency": answer.currency,
        }
    return {
        "payment_id": answer.payment_id,
        "requires_verification": True,
        "reason": answer.reason.value,
        "status": PaymentStatus.PENDING.value,
        "amount": answer.amount,
        "currency": answer.currency,
        "timeout_secs": answer.timeout_secs,
        "code_length": answer.code_length,
        "phone_hint": answer.phone_hint,
        "resend_after_secs": answer.resend_after_secs,
        "channel": answer.channel.value,
        "channels": [channel.value for channel in answer.channels],
    }


def answer_from_stored(stored: Mapping[str, Any]) -> PaymentAnswer:
    """The answer a stored_answer record holds."""
    if stored.get("status") == PaymentStatus.COMPLETED.value:
        return PaymentCompleted(
            str(stored["payment_id"]),
            str(stored["transaction_id"]),
            str(stored["amount"]),
            str(stored["currency"]),
        )
    return PaymentVerificationRequired(
        payment_id=str(stored["payment_id"]),
        amount=str(stored["amount"]),
        currency=str(stored["currency"]),
        reason=StepUpReason(stored.get("reason", StepUpReason.AMOUNT.value)),
        timeout_secs=int(stored["timeout_secs"]),
        code_length=int(stored["code_length"]),
        phone_hint=str(stored["phone_hint"]),
        resend_after_secs=int(stored["resend_after_secs"]),
        # Answers kept before channels existed were sent by SMS.
        channel=Channel(stored.get("channel", Channel.SMS.value)),
        channels=tuple(Channel(c) for c in stored.get("channels", [Channel.SMS.value])),
    )


class PowertoolsIdempotentRequests:
    """Idempotency-Key over Powertools Idempotency and its DynamoDB table (pk `id`, TTL
        `expiration`). The record's key is a hash of (scope, key): a key is scoped per user. The
        request is hashed for payload validation; the stored answer is the first answer, as
    stored_answer writes it."""

    KEY_PREFIX = "payments-initiate"

    def __init__(self, client: DynamoDBClient, table: str, expires_after_secs: int) -> None:
        # Imported here, not with the module: the functions that only read payments
        # (GET /verify/status) never load Powertools Idempotency (docs/performance.md).
        from aws_lambda_powertools.utilities.idempotency import (
            DynamoDBPersistenceLayer,
            IdempotencyConfig,
        )

        self._store = DynamoDBPersistenceLayer(table_name=table, boto3_client=client)
        self.config = IdempotencyConfig(
            event_key_jmespath="[scope, key]",
            payload_validation_jmespath="request",
            raise_on_no_idempotency_key=True,
            expires_after_seconds=expires_after_secs,
            hash_function="sha256",
        )

    def register_lambda_context(self, context: LambdaContext) -> None:
        """Lets an in-progress record expire when the invocation times out (Powertools)."""
        self.config.register_lambda_context(context)

    def run(
        self,
        scope: str,
        key: str,
        request: Mapping[str, Any],
        compute: Callable[[], PaymentAnswer],
    ) -> PaymentAnswer:
        from aws_lambda_powertools.utilities.idempotency import idempotent_function
        from aws_lambda_powertools.utilities.idempotency.exceptions import (
            IdempotencyAlreadyInProgressError,
            IdempotencyInconsistentStateError,
            IdempotencyPersistenceLayerError,
            IdempotencyValidationError,
        )

        @idempotent_function(  # type: ignore[untyped-decorator]
            data_keyword_argument="data",
            persistence_store=self._store,
            config=self.config,
            key_prefix=self.KEY_PREFIX,
        )
        def first_answer(*, data: dict[str, Any]) -> dict[str, Any]:
            return stored_answer(compute())

        try:
            answer: dict[str, Any] = first_answer(
                data={"scope": scope, "key": key, "request": dict(request)}
            )
        except IdempotencyValidationError:
            raise IdempotencyKeyReused() from None
        except IdempotencyAlreadyInProgressError:
            raise IdempotencyKeyInUse() from None
        except (IdempotencyPersistenceLayerError, IdempotencyInconsistentStateError) as exc:
            raise StorageUnavailable() from exc
        return answer_from_stored(answer)
