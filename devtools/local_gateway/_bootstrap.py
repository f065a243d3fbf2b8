"""Execution environment of one Lambda function: runs as a subprocess of the gateway.

Standard library only, started by path (not as part of the ``devtools`` package) so that
``sys.path`` holds exactly what the function would see in Lambda: its code directory, its
layers, then the interpreter's own paths.

Protocol (one JSON document per line):

* gateway -> worker, on stdin: first a config message, then ``{"type": "invoke", ...}``.
* worker -> gateway, on the original stdout: ``ready`` / ``init_error`` once, then one
  ``result`` per invoke.

File descriptors 1 and 2 both go to the gateway's log pipe, so whatever the function prints
(even from C code) ends up in the gateway's log; stdin is /dev/null for the function.
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
from collections.abc import Callable
from typing import IO, Any

Handler = Callable[[Any, Any], Any]


class CognitoIdentity:
    cognito_identity_id: str | None = None
    cognito_identity_pool_id: str | None = None


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
        self.identity = CognitoIdentity()
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))

    def log(self, msg: str) -> None:
        sys.stdout.write(str(msg))

    def __repr__(self) -> str:
        return (
            f"LambdaContext([aws_request_id={self.aws_request_id},"
            f"function_name={self.function_name},"
            f"memory_limit_in_mb={self.memory_limit_in_mb},"
            f"function_version={self.function_version},"
            f"invoked_function_arn={self.invoked_function_arn}])"
        )


def _json_default(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def _error(exc: BaseException, error_type: str | None = None) -> dict[str, Any]:
    """Lambda's error shape; frames of this bootstrap and of importlib are left out."""
    frames = [
        frame
        for frame in traceback.extract_tb(exc.__traceback__)
        if frame.filename != __file__ and not frame.filename.startswith("<frozen importlib")
    ]
    return {
        "errorMessage": str(exc),
        "errorType": error_type or type(exc).__name__,
        "stackTrace": traceback.format_list(frames),
    }


def _log_error(error: dict[str, Any]) -> None:
    lines = [f"[ERROR] {error['errorType']}: {error['errorMessage']}"]
    if error["stackTrace"]:
        lines.append("Traceback (most recent call last):")
        lines.extend(frame.rstrip("\n") for frame in error["stackTrace"])
    sys.stderr.write("\n".join(lines) + "\n")
    sys.stderr.flush()


def _load_handler(handler: str) -> Handler:
    module_name, _, function_name = handler.rpartition(".")
    if not module_name:
        raise ValueError(f"Bad handler '{handler}': not enough values to unpack")
    module_name = module_name.replace("/", ".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise _InitError(
            f"Unable to import module '{module_name}': {exc}", "Runtime.ImportModuleError"
        ) from exc
    except SyntaxError as exc:
        raise _InitError(
            f"Syntax error in module '{module_name}': {exc}", "Runtime.UserCodeSyntaxError"
        ) from exc
    function = getattr(module, function_name, None)
    if not callable(function):
        raise _InitError(
            f"Handler '{function_name}' missing on module '{module_name}'",
            "Runtime.HandlerNotFound",
        )
    return function  # type: ignore[no-any-return]


class _InitError(Exception):
    def __init__(self, message: str, error_type: str) -> None:
        super().__init__(message)
        self.error_type = error_type


def _watch_parent(parent_pid: int) -> None:
    """Exit when the gateway goes away, even if it was killed without cleaning up."""
    while True:
        if os.getppid() != parent_pid:
            os._exit(1)
        time.sleep(0.5)


class _Channel:
    def __init__(self, out: IO[bytes]) -> None:
        self._out = out

    def send(self, message: dict[str, Any]) -> None:
        self._out.write(json.dumps(message, default=_json_default).encode("utf-8") + b"\n")
        self._out.flush()


def _invoke(handler: Handler, message: dict[str, Any], channel: _Channel, memory_mb: str) -> None:
    request_id = str(message["request_id"])
    context = LambdaContext(request_id, int(message["deadline_ms"]), str(message["arn"]))
    if message.get("trace_id"):
        os.environ["_X_AMZN_TRACE_ID"] = str(message["trace_id"])
    sys.stderr.write(f"START RequestId: {request_id} Version: $LATEST\n")
    started = time.monotonic()
    reply: dict[str, Any] = {"type": "result", "request_id": request_id}
    try:
        result = handler(message["event"], context)
        try:
            json.dumps(result, default=_json_default)
            reply.update(ok=True, payload=result)
        except (TypeError, ValueError) as exc:
            error = _error(exc, "Runtime.MarshalError")
            error["errorMessage"] = f"Unable to marshal response: {exc}"
            _log_error(error)
            reply.update(ok=False, error=error)
    except Exception as exc:
        error = _error(exc)
        _log_error(error)
        reply.update(ok=False, error=error)
    duration = (time.monotonic() - started) * 1000
    max_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    sys.stdout.flush()
    sys.stderr.write(
        f"END RequestId: {request_id}\n"
        f"REPORT RequestId: {request_id}\tDuration: {duration:.2f} ms\t"
        f"Memory Size: {memory_mb} MB\tMax Memory Used: {max_rss_mb} MB\n"
    )
    sys.stderr.flush()
    channel.send(reply)


def main() -> int:
    requests = os.fdopen(os.dup(0), "rb")
    channel = _Channel(os.fdopen(os.dup(1), "wb"))
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    os.close(devnull)
    os.dup2(2, 1)  # print() and C-level writes to stdout go to the log pipe

    config = json.loads(requests.readline() or b"{}")
    threading.Thread(target=_watch_parent, args=(int(config["parent_pid"]),), daemon=True).start()

    here = os.path.dirname(os.path.abspath(__file__))
    inherited = [p for p in sys.path if p and os.path.abspath(p) not in (here, os.getcwd())]
    sys.path[:] = [*config["sys_path"], *inherited]

    started = time.monotonic()
    try:
        handler = _load_handler(str(config["handler"]))
    except _InitError as exc:
        error = _error(exc, exc.error_type)
        error["stackTrace"] = []
        _log_error(error)
        channel.send({"type": "init_error", "error": error})
        return 1
    except Exception as exc:
        error = _error(exc)
        _log_error(error)
        channel.send({"type": "init_error", "error": error})
        return 1
    init_ms = (time.monotonic() - started) * 1000
    channel.send({"type": "ready", "pid": os.getpid(), "init_ms": round(init_ms, 2)})
    memory_mb = os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")

    for line in requests:
        if not line.strip():
            continue
        message = json.loads(line)
        if message.get("type") == "invoke":
            _invoke(handler, message, channel, memory_mb)
    return 0


if __name__ == "__main__":
    sys.exit(main())
