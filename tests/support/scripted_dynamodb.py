"""A DynamoDB client that answers from a script of errors, for adapters' failure paths."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError


def client_error(
    code: str, reasons: list[str] | None = None, items: dict[int, dict[str, Any]] | None = None
) -> ClientError:
    """`items`: by position in `reasons`, the item a failed condition found (DynamoDB JSON),
    as ReturnValuesOnConditionCheckFailure=ALL_OLD answers it."""
    response: dict[str, Any] = {"Error": {"Code": code, "Message": code}}
    if reasons is not None:
        response["CancellationReasons"] = [{"Code": reason} for reason in reasons]
        for index, item in (items or {}).items():
            response["CancellationReasons"][index]["Item"] = item
    return ClientError(response, "TransactWriteItems")  # type: ignore[arg-type]


class ScriptedClient:
    """Answers transact_write_items / update_item / get_item / put_item / delete_item /
    batch_write_item from a script of errors (a batch leaves nothing unprocessed)."""

    def __init__(self, *errors: ClientError | None) -> None:
        self.script = list(errors)
        self.calls = 0
        self.transactions: list[list[dict[str, Any]]] = []  # TransactItems of each call
        self.requests: list[tuple[str, dict[str, Any]]] = []  # (operation, request) of writes

    def _next(self) -> None:
        self.calls += 1
        error = self.script.pop(0) if self.script else None
        if error is not None:
            raise error

    def transact_write_items(self, **request: Any) -> dict[str, Any]:
        self.transactions.append(request["TransactItems"])
        self._next()
        return {}

    def update_item(self, **request: Any) -> dict[str, Any]:
        self._next()
        return {"Attributes": {"failures": {"N": "1"}}}

    def get_item(self, **request: Any) -> dict[str, Any]:
        self._next()
        return {}

    def delete_item(self, **request: Any) -> dict[str, Any]:
        self.requests.append(("DeleteItem", request))
        self._next()
        return {}

    def put_item(self, **request: Any) -> dict[str, Any]:
        self.requests.append(("PutItem", request))
        self._next()
        return {}

    def batch_write_item(self, **request: Any) -> dict[str, Any]:
        self.requests.append(("BatchWriteItem", request))
        self._next()
        return {"UnprocessedItems": {}}
