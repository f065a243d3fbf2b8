"""X-Ray traces of every function (docs/operations.md#traces): one Powertools Tracer, the
wrapper every entry point puts around its handler, the libraries whose calls become
subsegments, and the annotations a person filters traces by.

- `traced(handler)`: the `## <handler>` subsegment of each invocation (ColdStart and Service
  annotated by Powertools). Never the handler's answer as metadata: an answer can carry an
  access token.
- botocore is patched when this module loads, which every function's init does anyway
  (boto3 is loaded by then): each DynamoDB, SSM (Parameters) and API Gateway management
  (WebSocket push) call is a subsegment. httpx is patched by the builders of the Telnyx
  clients (`patch_http_client`), just before they build one: a function that sends no code
  never imports httpx for the tracer's sake (benchmarks/test_cold_start_and_hot_path.py).
- `annotate(...)`: flow, outcome, channel, error_code: short names and codes only, never a
  phone, a code, a token or an email (tests/integration/test_traces.py reads what is sent).

Powertools turns the tracer off outside Lambda (no LAMBDA_TASK_ROOT), under SAM local
(AWS_SAM_LOCAL, which the local gateway sets) and with POWERTOOLS_TRACE_DISABLED=true: then
nothing is patched and every call here does nothing. A tracer that cannot reach the X-Ray
daemon costs a request nothing: segments go by UDP, sent and forgotten.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

from aws_lambda_powertools import Logger, Tracer

logger = Logger(child=True)

# auto_patch=False: Powertools' default patches every library the SDK knows that can be
# imported, and importing httpx there would put it in every function's init.
tracer = Tracer(auto_patch=False)
tracer.patch(["botocore"])

_Handler = TypeVar("_Handler", bound=Callable[..., Any])


def traced(handler: _Handler) -> _Handler:
    """The handler in its own subsegment, its answer never recorded (it can carry a token).
    Every functions/*/app.py entry point has it (tests/unit/test_tracing.py)."""
    wrapped = cast(_Handler, tracer.capture_lambda_handler(handler, capture_response=False))
    wrapped.__traced__ = True  # type: ignore[attr-defined]
    return wrapped


def is_traced(handler: Callable[..., Any]) -> bool:
    """Whether `handler`, or a handler it wraps (functools.wraps), went through `traced`."""
    seen: Any = handler
    while seen is not None:
        if getattr(seen, "__traced__", False):
            return True
        seen = getattr(seen, "__wrapped__", None)
    return False


def patch_http_client() -> None:
    """Telnyx's calls as subsegments: the SDK's httpx patch, which every httpx.Client built
    after it carries (a no-op when tracing is off, or patched already)."""
    tracer.patch(["httpx"])


def annotate(**annotations: str | None) -> None:
    """Annotate the invocation's current subsegment (X-Ray indexes annotations: a filter
    expression `annotation.flow = "login"`); None values are left out. The names in use:
    flow, outcome, channel (adapters/event_log.py) and error_code (http/errors.py). Tracing
    never fails a request: a value X-Ray refuses is logged and dropped."""
    for key, value in annotations.items():
        if value is None:
            continue
        try:
            tracer.put_annotation(key, value)
        except Exception:  # e.g. outside any subsegment: Lambda's own segment is read-only
            logger.debug("trace annotation dropped", extra={"annotation": key})
