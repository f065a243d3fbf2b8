"""The HTTP front door: routes requests to function workers the way API Gateway would."""

from __future__ import annotations

import atexit
import contextlib
import json
import mimetypes
import os
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import unquote

from . import authorizers
from .cfn import TemplateError
from .events import (
    HttpRequest,
    HttpResponse,
    MalformedResult,
    add_url_cors_headers,
    api_preflight_response,
    build_rest_event,
    build_url_event,
    json_response,
    method_arn,
    rest_response,
    url_preflight_response,
    url_response,
)
from .model import App, FunctionConfig, load_app, resolve_environment, validate_env_overrides
from .routing import ApiMatch, Router, UrlMatch
from .workers import FunctionPool, LogSink, Outcome

INTEGRATION_TIMEOUT = 29.0  # API Gateway REST integration timeout, seconds
MISSING_TOKEN = {"message": "Missing Authentication Token"}
INTERNAL_ERROR = {"message": "Internal server error"}
TIMED_OUT = {"message": "Endpoint request timed out"}


def _default_region(extra_env: Mapping[str, str]) -> str:
    for source in (extra_env, os.environ):
        for name in ("AWS_DEFAULT_REGION", "AWS_REGION"):
            if source.get(name):
                return str(source[name])
    return "us-east-1"


def load_env_vars_file(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a ``sam local --env-vars`` style JSON file."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise TemplateError(f"cannot read env vars file {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise TemplateError(f"env vars file {path} must contain a JSON object")
    return data


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = 128  # the default 5 resets bursts of parallel clients (a browser, a test)

    def __init__(self, address: tuple[str, int], gateway: LocalGateway) -> None:
        self.gateway = gateway
        super().__init__(address, _RequestHandler)


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def __getattr__(self, name: str) -> Callable[[], None]:
        if name.startswith("do_"):
            return self._handle
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:
        """Access lines are written by the gateway itself."""

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            chunks: list[bytes] = []
            while True:
                size_line = self.rfile.readline()
                size = int(size_line.split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _handle(self) -> None:
        started = time.monotonic()
        try:
            body = self._read_body()
        except ValueError:
            self.send_error(400, "Bad request body")
            return
        request = HttpRequest(
            method=self.command.upper(),
            target=self.path,
            headers=list(self.headers.items()),
            body=body,
            source_ip=self.client_address[0],
            server_port=self.server.server_address[1],
            protocol=self.request_version,
        )
        gateway = self.server.gateway
        try:
            response, served_by = gateway.dispatch(request)
        except Exception as exc:  # a gateway bug must not kill the connection silently
            gateway.sink.write(
                f"[gateway] error handling {request.method} {request.target}: {exc!r}"
            )
            response, served_by = json_response(500, {"message": str(exc)}), "gateway error"
        self._write(request, response)
        elapsed = (time.monotonic() - started) * 1000
        gateway.sink.write(
            f"{request.method} {request.target} -> {response.status} "
            f"({served_by}, {elapsed:.0f} ms)"
        )

    def _write(self, request: HttpRequest, response: HttpResponse) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            if name.lower() in ("content-length", "transfer-encoding", "connection", "date"):
                continue
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if request.method != "HEAD" and response.body:
            self.wfile.write(response.body)


class LocalGateway:
    """Serve the Lambda handlers of a SAM template over HTTP, like ``sam local start-api``.

    ``env_vars`` has the ``sam local --env-vars`` shape (a mapping, or a path to the JSON
    file); ``extra_env`` is added to every function's environment on top of everything else.
    """

    def __init__(
        self,
        template_path: str | os.PathLike[str],
        host: str = "127.0.0.1",
        port: int = 3000,
        env_vars: Mapping[str, Any] | str | os.PathLike[str] | None = None,
        parameter_overrides: Mapping[str, str] | None = None,
        static_dir: str | os.PathLike[str] | None = None,
        extra_env: Mapping[str, str] | None = None,
        *,
        region: str | None = None,
        max_workers_per_function: int = 8,
        integration_timeout: float = INTEGRATION_TIMEOUT,
        log_stream: TextIO | None = None,
        quiet: bool = False,
    ) -> None:
        self.host = host
        self._requested_port = port
        self.extra_env = {str(k): str(v) for k, v in (extra_env or {}).items()}
        self.region = region or _default_region(self.extra_env)
        self.app: App = load_app(template_path, parameter_overrides, self.region)
        self.router = Router(self.app)
        if env_vars is None:
            raw_env_vars: Mapping[str, Any] = {}
        elif isinstance(env_vars, Mapping):
            raw_env_vars = env_vars
        else:
            raw_env_vars = load_env_vars_file(env_vars)
        self.env_overrides = validate_env_overrides(raw_env_vars)
        self.static_dir = Path(static_dir).resolve() if static_dir is not None else None
        self.max_workers_per_function = max_workers_per_function
        self.integration_timeout = integration_timeout
        self.sink = LogSink(log_stream, quiet=quiet)
        self.pools: dict[str, FunctionPool] = {}
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        for warning in [*self.app.warnings, *self.router.warnings]:
            self.sink.write(f"[gateway] warning: {warning}", always=True)

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._server is None:
            return self._requested_port
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def function_environment(self, function_id: str) -> dict[str, str]:
        """The complete environment a function's workers get."""
        function = self.app.functions[function_id]
        env = dict(os.environ)
        # Lambda never sees the developer's PYTHONPATH: code comes from CodeUri and layers.
        env.pop("PYTHONPATH", None)
        env.update(resolve_environment(self.app, function_id, self.env_overrides))
        env.update(self.extra_env)
        env.update(self._runtime_variables(function))
        return env

    def _runtime_variables(self, function: FunctionConfig) -> dict[str, str]:
        name = function.logical_id
        return {
            "AWS_LAMBDA_FUNCTION_NAME": name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_size),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(function.timeout),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": "$LATEST",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{function.runtime}",
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_SAM_LOCAL": "true",
            "LAMBDA_TASK_ROOT": str(function.code_dir),
            "LAMBDA_RUNTIME_DIR": str(Path(__file__).parent),
            "_HANDLER": function.handler,
            "TZ": ":UTC",
        }

    def start(self) -> LocalGateway:
        with self._lock:
            if self._server is not None:
                raise RuntimeError("gateway already started")
            server = _Server((self.host, self._requested_port), self)
            self._server = server
            self.app.resolver.function_url_base = lambda: self.base_url
            try:
                for function_id, function in self.app.functions.items():
                    if not function.runnable:
                        continue
                    self.pools[function_id] = FunctionPool(
                        function,
                        self.function_environment(function_id),
                        self.sink,
                        self.max_workers_per_function,
                    )
            except BaseException:
                self._server = None
                self.pools.clear()
                server.server_close()
                raise
            self._thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.1},
                name="local-gateway",
                daemon=True,
            )
            self._thread.start()
            atexit.register(self.stop)
        self.sink.write(self.route_table(), always=True)
        return self

    def stop(self) -> None:
        with self._lock:
            server, thread = self._server, self._thread
            self._server, self._thread = None, None
            pools = list(self.pools.values())
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5)
        stoppers = [threading.Thread(target=pool.stop, daemon=True) for pool in pools]
        for stopper in stoppers:
            stopper.start()
        for stopper in stoppers:
            stopper.join(timeout=10)
        with contextlib.suppress(Exception):
            atexit.unregister(self.stop)

    def __enter__(self) -> LocalGateway:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def worker_pids(self) -> dict[str, list[int]]:
        """Live worker process ids per function (for diagnostics and tests)."""
        return {name: pool.pids() for name, pool in self.pools.items() if pool.pids()}

    def routes(self) -> list[tuple[str, str, str]]:
        """(method, path, target) of everything mounted."""
        return self.router.table()

    def route_table(self) -> str:
        rows = self.routes()
        if self.static_dir is not None:
            rows.append(("GET", "/<file>", f"static files from {self.static_dir}"))
        width_method = max([len("METHOD"), *(len(r[0]) for r in rows)])
        width_path = max([len("PATH"), *(len(r[1]) for r in rows)])
        lines = [f"Local gateway for {self.app.template_path}", ""]
        lines.append(f"  {'METHOD':<{width_method}}  {'PATH':<{width_path}}  TARGET")
        for method, path, target in rows:
            lines.append(f"  {method:<{width_method}}  {path:<{width_path}}  {target}")
        lines.append("")
        lines.append(f"Listening on {self.base_url}  (region {self.region})")
        return "\n".join(lines)

    # -- request handling -----------------------------------------------------------------

    def dispatch(self, request: HttpRequest) -> tuple[HttpResponse, str]:
        """Answer one HTTP request: (response, what served it)."""
        request_id = str(uuid.uuid4())
        api_match = self.router.match_api(request.path, request.method)
        if api_match is not None:
            response, served_by = self._serve_api(request, api_match, request_id)
            response.headers.append(("x-amzn-RequestId", request_id))
            return response, served_by
        url_match = self.router.match_url(request.path)
        if url_match is not None:
            response, served_by = self._serve_url(request, url_match, request_id)
            response.headers.append(("x-amzn-RequestId", request_id))
            return response, served_by
        if (
            self.static_dir is not None
            and request.method in ("GET", "HEAD")
            and not self.router.is_mounted(request.path)
        ):
            return self._serve_static(request), "static"
        response = json_response(
            403,
            MISSING_TOKEN,
            "MissingAuthenticationTokenException",
            [("x-amzn-RequestId", request_id)],
        )
        return response, "no route"

    def _invoke(
        self, function_id: str, event: dict[str, Any], request_id: str, timeout: float | None
    ) -> Outcome:
        pool = self.pools.get(function_id)
        if pool is None:
            problems = "; ".join(self.app.functions[function_id].problems)
            self.sink.function_line(function_id, f"cannot run locally: {problems}")
            return Outcome("crash")
        trace_id = f"Root=1-{int(time.time()):08x}-{secrets.token_hex(12)};Sampled=0"
        return pool.invoke(event, request_id, trace_id=trace_id, timeout=timeout)

    def _serve_api(
        self, request: HttpRequest, match: ApiMatch, request_id: str
    ) -> tuple[HttpResponse, str]:
        api = match.resource.api
        resource_path = match.resource.path
        route = match.route
        authorizer_name = route.authorizer if route is not None else None
        if route is None and api.authorize_cors_preflight:
            authorizer_name = api.default_authorizer
        authorizer_context: dict[str, Any] | None = None
        if authorizer_name is not None:
            authorized = self._authorize(request, match, authorizer_name, request_id)
            if isinstance(authorized, HttpResponse):
                return authorized, f"authorizer {authorizer_name}"
            authorizer_context = authorized
        if route is None:
            assert api.cors is not None
            return api_preflight_response(api.cors, match.resource.allowed_methods()), "CORS"
        event = build_rest_event(
            request, api, resource_path, match.path_parameters, request_id, authorizer_context
        )
        outcome = self._invoke(route.function_id, event, request_id, self.integration_timeout)
        served_by = route.function_id + (" (cold)" if outcome.cold else "")
        if outcome.kind == "ok":
            try:
                return rest_response(outcome.payload), served_by
            except MalformedResult as exc:
                self.sink.function_line(
                    route.function_id, f"Execution failed: Malformed Lambda proxy response: {exc}"
                )
                return json_response(502, INTERNAL_ERROR), served_by
        if outcome.kind == "timeout":
            return json_response(504, TIMED_OUT), served_by
        return json_response(502, INTERNAL_ERROR), served_by

    def _authorize(
        self, request: HttpRequest, match: ApiMatch, name: str, request_id: str
    ) -> dict[str, Any] | HttpResponse:
        api = match.resource.api
        authorizer = api.authorizers[name]
        if authorizer.problem or authorizer.function_id not in self.pools:
            self.sink.write(f"[gateway] authorizer {name} cannot run locally")
            return authorizers.configuration_error()
        arn = method_arn(api, self.region, request.method, request.path)
        call = authorizers.prepare(
            authorizer,
            request,
            api,
            match.resource.path,
            match.path_parameters,
            request_id,
            arn,
        )
        if call.response is not None or call.event is None:
            return call.response or authorizers.unauthorized()
        outcome = self._invoke(authorizer.function_id, call.event, request_id, None)
        context, response, note = authorizers.interpret(outcome, arn)
        if response is not None:
            self.sink.write(f"[gateway] authorizer {name}: {note}")
            return response
        assert context is not None
        return context

    def _serve_url(
        self, request: HttpRequest, match: UrlMatch, request_id: str
    ) -> tuple[HttpResponse, str]:
        function_id = match.mount.function_id
        function = self.app.functions[function_id]
        cors = function.function_url.cors if function.function_url else None
        origin = request.header("Origin")
        if (
            cors is not None
            and request.method == "OPTIONS"
            and request.header("Access-Control-Request-Method") is not None
        ):
            return url_preflight_response(cors, origin), "function URL CORS"
        event = build_url_event(request, function_id, match.sub_path, request_id)
        outcome = self._invoke(function_id, event, request_id, None)
        served_by = f"{function_id} (function URL{', cold' if outcome.cold else ''})"
        response: HttpResponse
        if outcome.kind == "ok":
            try:
                response = url_response(outcome.payload)
            except MalformedResult as exc:
                self.sink.function_line(function_id, f"Malformed function URL response: {exc}")
                response = _url_error()
        else:
            response = _url_error()
        if cors is not None:
            response = add_url_cors_headers(response, cors, origin)
        return response, served_by

    def _serve_static(self, request: HttpRequest) -> HttpResponse:
        assert self.static_dir is not None
        relative = unquote(request.path).lstrip("/")
        if "\x00" in relative or "\\" in relative:
            return json_response(403, {"message": "Forbidden"})
        candidate = (self.static_dir / relative).resolve()
        if not candidate.is_relative_to(self.static_dir):
            return json_response(403, {"message": "Forbidden"})
        if candidate.is_dir():
            candidate = candidate / "index.html"
        if not candidate.is_file():
            return json_response(404, {"message": "Not Found"})
        content_type = mimetypes.guess_type(candidate.name)[0] or "application/octet-stream"
        if content_type.startswith("text/") or content_type in (
            "application/javascript",
            "application/json",
        ):
            content_type += "; charset=utf-8"
        modified = datetime.fromtimestamp(candidate.stat().st_mtime, tz=UTC)
        headers = [
            ("Content-Type", content_type),
            ("Cache-Control", "no-cache"),
            ("Last-Modified", modified.strftime("%a, %d %b %Y %H:%M:%S GMT")),
        ]
        return HttpResponse(200, headers, candidate.read_bytes())


def _url_error() -> HttpResponse:
    return HttpResponse(502, [("Content-Type", "text/plain")], b"Internal Server Error")
