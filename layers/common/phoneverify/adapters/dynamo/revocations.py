"""Ended access tokens in DynamoDB (docs/sessions.md).

One token: its `jti` in the RevokedTokensTable until the token's own expiry (TTL `ttl`). Every
token of an account: `token_gen` on its `USER#<id>` item, raised by one. Checking a token is a
single BatchGetItem reading both.
"""

from __future__ import annotations

from contextlib import suppress
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools import Logger
from botocore.exceptions import BotoCoreError, ClientError

from phoneverify.adapters.dynamo.toolkit import dynamodb_errors, from_item, put_new, to_item
from phoneverify.adapters.dynamo.users import DynamoUserRepository
from phoneverify.domain.clock import Clock
from phoneverify.domain.errors import StorageUnavailable
from phoneverify.domain.tokens import TokenClaims, revocation_refusal
from phoneverify.ports.conditions import ConditionFailed

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
else:
    DynamoDBClient = Any

logger = Logger(child=True)


class DynamoTokenRevocations:
    def __init__(
        self, client: DynamoDBClient, users_table: str, revoked_table: str, clock: Clock
    ) -> None:
        self._client = client
        self._users = users_table
        self._revoked = revoked_table
        self._clock = clock

    def end_token(self, jti: str, expires_at: int) -> None:
        # ConditionFailed: ended already (a concurrent logout of the same token).
        with suppress(ConditionFailed):
            put_new(self._client, self._revoked, {"jti": jti, "ttl": expires_at}, "jti")

    def end_all_tokens(self, user_id: str) -> str | None:
        return DynamoUserRepository(self._client, self._users).end_all_tokens(user_id)

    def is_active(self, claims: TokenClaims) -> bool:
        return self.refusal(claims) is None

    def refusal(self, claims: TokenClaims) -> str | None:
        user_key = to_item({"pk": f"USER#{claims.subject}"})
        token_key = to_item({"jti": claims.jti})
        found = self._batch_get(
            {
                self._users: {
                    "Keys": [user_key],
                    "ProjectionExpression": "pk, token_gen",
                    "ConsistentRead": True,
                },
                self._revoked: {
                    "Keys": [token_key],
                    "ProjectionExpression": "jti, #ttl",
                    "ExpressionAttributeNames": {"#ttl": "ttl"},
                    "ConsistentRead": True,
                },
            }
        )
        user = next(iter(found.get(self._users, [])), None)
        ended = next(iter(found.get(self._revoked, [])), None)
        generation = None if user is None else int(from_item(user).get("token_gen", 0))
        ended_until = None if ended is None else float(from_item(ended)["ttl"])
        return revocation_refusal(claims, generation, ended_until, self._clock.now())

    def _batch_get(self, request: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
        """Items by table; the keys DynamoDB left unprocessed are asked for once more, and
        still unprocessed then, the answer is StorageUnavailable (never a guess)."""
        found: dict[str, list[dict[str, Any]]] = {}
        for _ in range(2):
            response = self._call(request)
            for table, items in response.get("Responses", {}).items():
                found.setdefault(table, []).extend(items)
            request = dict(response.get("UnprocessedKeys") or {})
            if not request:
                return found
        logger.warning("token check left unprocessed keys", extra={"tables": sorted(request)})
        raise StorageUnavailable()

    def _call(self, request: dict[str, Any]) -> Any:
        try:
            with dynamodb_errors():
                return self._client.batch_get_item(RequestItems=request)
        except (ClientError, BotoCoreError) as exc:
            # Any other refusal (access denied, missing table) cannot answer either.
            logger.error("token check failed", extra={"error": type(exc).__name__})
            raise StorageUnavailable() from exc
