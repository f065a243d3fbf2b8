"""Execution environment of one Lambda function: ``python -u -P _bootstrap.py HANDLER PATH...``.

Standard library only, started by path (not as part of the ``devtools`` package) so that
``sys.path`` holds exactly what the function would see in Lambda: its code directory and its
layers (the PATHs), then the interpreter's own paths.

Protocol, one JSON document per line: after importing the handler the worker writes
``{"init_ms": ...}`` (or ``{"error": ...}`` and exits); then for each request read on stdin
(``event``, ``request_id``, ``deadline_ms``, ``arn``, ``trace_id``) it writes ``{"payload": ...}``
or ``{"error": ...}``. Replies go to the original stdout; file descriptors 1 and 2 both go to the
gateway's log pipe, so whatever the function prints (even from C code) is logged, and its stdin
is /dev/null. The worker exits at the end of stdin, or when the gateway process goes away.
"""

from __future__ import annotations

import decimal
import importlib
import json
import os
import resource
import sys
import threading
import time
import traceback
from types import SimpleNamespace
from typing import Any


class LambdaContext:
    """Same attributes as the Python runtime's context (values read from the environment)."""

    def __init__(self, request_id: str, deadline_ms: int, invoked_function_arn: str) -> None:
        self.aws_request_id = request_id
        self.log_group_name = os.environ.get("AWS_LAMBDA_LOG_GROUP_NAME")
        self.log_stream_name = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME")
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME")
        self.memory_limit_in_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE")
        self.function_version = os.environ.get("AWS_LAMBDA_FUNCTION_VERSION")
        self.invoked_function_arn = invoked_function_arn
        self.tenant_id: str | None = None
        self.client_context: Any = None
        self.identity = SimpleNamespace(cognito_identity_id=None, cognito_identity_pool_id=None)
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))

    def log(self, msg: str) -> None:
        sys.stdout.write(str(msg))


def _json_default(value: Any) -> Any:
    """Decimals (what boto3 reads from DynamoDB) as numbers, like the Python runtime."""
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _error(exc: BaseException) -> dict[str, Any]:
    """Lambda's error shape, also logged; frames of this bootstrap and importlib left out."""
    frames = [
        frame
        for frame in traceback.extract_tb(exc.__traceback__)
        if frame.filename != __file__ and "importlib" not in frame.filename
    ]
    error = {
        "errorMessage": str(exc),
        "errorType": type(exc).__name__,
        "stackTrace": traceback.format_list(frames),
    }
    trace = "Traceback (most recent call last):\n" + "".join(error["stackTrace"]) if frames else ""
    sys.stderr.write(f"[ERROR] {error['errorType']}: {exc}\n{trace}")
    return error


_kill_after: list[Any] = []  # [DynamoDB calls this invocation may still make, its request id]


def _arm_kill(calls: Any, request_id: str) -> None:
    """The gateway's test hook (workers.KillPlan): SIGKILL this process right after the
    invocation's Nth DynamoDB call returned, as a Lambda crash between two writes."""
    _kill_after[:] = [] if calls is None else [int(calls), request_id]
    if calls is None:
        return
    from botocore.client import BaseClient  # the function's own dependency, armed only

    if getattr(BaseClient, "_local_gateway_kill", False):
        return
    original = getattr(BaseClient, "_make_api_call")  # noqa: B009 - private, untyped

    def counted(self: Any, operation: str, params: Any) -> Any:
        result = original(self, operation, params)
        if _kill_after and self.meta.service_model.service_name == "dynamodb":
            _kill_after[0] -= 1
            if _kill_after[0] <= 0:
                note = f"killed after DynamoDB {operation} (RequestId: {_kill_after[1]})"
                sys.stderr.write(f"[local gateway] {note}\n")
                sys.stderr.flush()
                os.kill(os.getpid(), 9)
        return result

    setattr(BaseClient, "_make_api_call", counted)  # noqa: B010
    setattr(BaseClient, "_local_gateway_kill", True)  # noqa: B010


def _invoke(handler: Any, request: dict[str, Any]) -> str:
    """Run one invocation between Lambda's START and END/REPORT lines; the reply line."""
    request_id = str(request["request_id"])
    _arm_kill(request.get("kill_after_dynamodb_calls"), request_id)
    context = LambdaContext(request_id, int(request["deadline_ms"]), str(request["arn"]))
    os.environ["_X_AMZN_TRACE_ID"] = str(request["trace_id"])
    sys.stderr.write(f"START RequestId: {request_id} Version: $LATEST\n")
    started = time.monotonic()
    try:
        reply = json.dumps({"payload": handler(request["event"], context)}, default=_json_default)
    except Exception as exc:  # the handler's, or a result Lambda could not serialise
        reply = json.dumps({"error": _error(exc)})
    duration = (time.monotonic() - started) * 1000
    max_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    sys.stdout.flush()
    sys.stderr.write(
        f"END RequestId: {request_id}\nREPORT RequestId: {request_id}\tDuration: {duration:.2f} "
        f"ms\tMemory Size: {context.memory_limit_in_mb} MB\tMax Memory Used: {max_rss_mb} MB\n"
    )
    return reply


def _watch_parent(parent_pid: int) -> None:
    """Exit when the gateway goes away, even if it was killed while the function runs."""
    while os.getppid() == parent_pid:
        time.sleep(0.5)
    os._exit(1)


def main() -> None:
    requests, replies = os.fdopen(os.dup(0), "rb"), os.fdopen(os.dup(1), "w")
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.dup2(2, 1)  # print() and C-level writes to stdout go to the log pipe
    threading.Thread(target=_watch_parent, args=(os.getppid(),), daemon=True).start()
    handler_name, *paths = sys.argv[1:]
    sys.path[:0] = paths

    def reply(line: str) -> None:
        sys.stderr.flush()
        replies.write(line + "\n")
        replies.flush()

    started = time.monotonic()
    try:
        module, _, name = handler_name.rpartition(".")
        handler = getattr(importlib.import_module(module.replace("/", ".")), name)
    except Exception as exc:
        reply(json.dumps({"error": _error(exc)}))
        return
    reply(json.dumps({"init_ms": round((time.monotonic() - started) * 1000, 2)}))
    for line in requests:
        reply(_invoke(handler, json.loads(line)))


if __name__ == "__main__":
    main()
