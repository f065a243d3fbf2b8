"""`writes_buffered_records_at_request_end` (http/request_end.py): the records buffered while a
handler runs are written once it has answered or raised, never before."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

import pytest

from phoneverify.http.request_end import writes_buffered_records_at_request_end


class RecordingRuntime:
    def __init__(self) -> None:
        self.events: list[str] = []

    def request_scope(self, request_id: str | None = None) -> AbstractContextManager[None]:
        @contextmanager
        def scope() -> Iterator[None]:
            self.events.append("opened")
            try:
                yield
            finally:
                self.events.append("written")

        return scope()


def test_the_records_are_written_after_the_answer() -> None:
    runtime = RecordingRuntime()

    @writes_buffered_records_at_request_end(runtime)
    def handler(event: dict[str, str], context: object) -> dict[str, int]:
        runtime.events.append("handled")
        return {"statusCode": 200}

    assert handler({}, None) == {"statusCode": 200}
    assert runtime.events == ["opened", "handled", "written"]
    assert handler.__name__ == "handler"


def test_the_records_are_written_when_the_handler_raises() -> None:
    runtime = RecordingRuntime()

    @writes_buffered_records_at_request_end(runtime)
    def handler(event: dict[str, str], context: object) -> dict[str, int]:
        raise RuntimeError("a bug")

    with pytest.raises(RuntimeError):
        handler({}, None)
    assert runtime.events == ["opened", "written"]
