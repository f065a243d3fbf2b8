"""How a conditional write says it was refused: the one exception every DynamoDB adapter raises
and the flows may catch."""

from __future__ import annotations

from typing import Any


class ConditionFailed(Exception):
    """A conditional write's condition did not hold; nothing was written. `item` is the item
    as it was, when the write asked for it (DynamoDB: ReturnValuesOnConditionCheckFailure)."""

    def __init__(self, item: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.item = item
