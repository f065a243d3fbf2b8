"""The wrapper every Lambda entry point puts around its handler: it writes the request's
buffered best-effort records at the end of the request.

Some writes are records of what happened, not state transitions: audit events, the reset of an
account's wrong-code count after an accepted code. Inside a request they are buffered
(adapters/dynamo/write_buffer.py) and written in one DynamoDB call when the handler returns or
raises; a failed one is logged, never answered. `http/app.py` `lambda_handler_for` wraps every
HTTP handler with it (the REST routes and the Telnyx webhook's function URL); the payment
routes' authorizer wraps its own entry point. State transitions never wait for it: they stay
conditional writes, made at once (docs/design.md, "Per-request writes").
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any, Protocol, TypeVar, cast

_Handler = TypeVar("_Handler", bound=Callable[..., Any])


class RequestScoped(Protocol):
    """What the wrapper needs of a function's runtime (phoneverify.runtime.Runtime): the scope
    that buffers the request's best-effort writes and writes them when it closes."""

    def request_scope(self, request_id: str | None = None) -> AbstractContextManager[None]: ...


def writes_buffered_records_at_request_end(
    runtime: RequestScoped,
) -> Callable[[_Handler], _Handler]:
    """Decorator of a Lambda handler: writes buffered best-effort records (audit events, the
    wrong-code count's reset) at the end of the request, in one call, whether the handler
    answers or raises. Put it innermost, so that the logging context is still set when a
    failed write is logged."""

    def wrap(handler: _Handler) -> _Handler:
        @functools.wraps(handler)
        def handle_then_write(*args: Any, **kwargs: Any) -> Any:
            with runtime.request_scope(_request_id(args[0] if args else None)):
                return handler(*args, **kwargs)

        return cast(_Handler, handle_then_write)

    return wrap


def _request_id(event: object) -> str | None:
    """API Gateway's id of the request (REST proxy, function URL and authorizer events all
    carry requestContext.requestId)."""
    context = event.get("requestContext") if isinstance(event, dict) else None
    request_id = context.get("requestId") if isinstance(context, dict) else None
    return request_id if isinstance(request_id, str) and request_id else None
