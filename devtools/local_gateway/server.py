"""The HTTP front door (werkzeug): routes requests to function workers like API Gateway would."""

from __future__ import annotations

import atexit
import json
import os
import re
import threading
import time
import uuid
from collections.abc import Collection, Iterable, Mapping
from pathlib import Path
from typing import Any, TextIO

from werkzeug.exceptions import NotFound
from werkzeug.middleware.shared_data import SharedDataMiddleware
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request

from . import authorizers
from .cors import echo_allowed_origin
from .environment import env_overrides, function_environment
from .events import (
    HttpResponse,
    MalformedResult,
    build_rest_event,
    build_url_event,
    json_response,
    method_arn,
    raw_path,
    rest_response,
    url_response,
)
from .gateway_responses import (
    AUTHORIZER_CONFIGURATION_ERROR,
    INTEGRATION_ERROR,
    INTEGRATION_TIMEOUT,
    MISSING_AUTHENTICATION_TOKEN,
    UNAUTHORIZED,
    GatewayError,
    gateway_answer,
)
from .routing import Resource, Router
from .template import ApiConfig, ApiRoute, load_app
from .websocket import LocalWebSocketApi
from .workers import FunctionPool, KillPlan, LogSink, Outcome

INTEGRATION_TIMEOUT_SECS = 29.0  # API Gateway REST integration timeout, seconds
# The WebSocket management API (POST/GET/DELETE @connections/{id}), under any stage prefix.
MANAGEMENT_PATH = re.compile(r"^(?:/[^/@]+)?/@connections/(?P<id>[^/]+)$")


def gateway_error(api: ApiConfig | None, error: GatewayError, request_id: str) -> HttpResponse:
    """API Gateway's own answer for ``error``, shaped by ``api``'s GatewayResponses."""
    responses = api.gateway_responses if api is not None else {}
    body, status, headers = gateway_answer(responses, error, request_id)
    return HttpResponse(body, status, headers, content_type="application/json")


class _QuietHandler(WSGIRequestHandler):
    def log(self, type: str, message: str, *args: Any) -> None:
        """Access lines are written by the gateway itself."""


class LocalGateway:
    """Serve the Lambda handlers of a SAM template over HTTP, like ``sam local start-api``.

    ``env_vars`` has the ``sam local --env-vars`` shape (a mapping, or a path to the JSON
    file); ``extra_env`` is added to every function's environment on top of everything else.
    ``websocket_port`` (0: a free one; None: not served) is where the template's WebSocket API
    listens (websocket.py); its management API is served on this gateway's own port.
    ``extra_origins``: origins the gateway's own answers (preflight, gateway responses) echo
    besides the template's AllowedOrigin (cors.py).
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
        integration_timeout: float = INTEGRATION_TIMEOUT_SECS,
        log_stream: TextIO | None = None,
        quiet: bool = False,
        websocket_port: int | None = None,
        extra_origins: Collection[str] = (),
    ) -> None:
        self.host, self._requested_port = host, port
        self.extra_origins = frozenset(extra_origins)
        self.extra_env = {str(k): str(v) for k, v in (extra_env or {}).items()}
        env = {**os.environ, **self.extra_env}
        self.region = (
            region or env.get("AWS_DEFAULT_REGION") or env.get("AWS_REGION") or "us-east-1"
        )
        self.app = load_app(template_path, parameter_overrides, self.region)
        self.router = Router(self.app)
        self.env_overrides = env_overrides(env_vars or {})
        self.static_dir = Path(static_dir).resolve() if static_dir is not None else None
        self.max_workers_per_function = max_workers_per_function
        self.integration_timeout = integration_timeout
        self.sink = LogSink(log_stream, quiet=quiet)
        self.pools: dict[str, FunctionPool] = {}
        self._server: BaseWSGIServer | None = None
        self._lock = threading.Lock()
        self.websocket: LocalWebSocketApi | None = None
        if websocket_port is not None and self.app.websockets:
            api = next(iter(self.app.websockets.values()))
            self.websocket = LocalWebSocketApi(
                api, self._invoke, host, websocket_port, self.sink.write
            )
            if len(self.app.websockets) > 1:
                self.app.warnings.append(f"only {api.logical_id} of the WebSocket APIs is served")
        for warning in [*self.app.warnings, *self.router.warnings]:
            self.sink.write(f"[gateway] warning: {warning}", always=True)

    # -- lifecycle ------------------------------------------------------------------------

    @property
    def port(self) -> int:
        server = self._server
        return self._requested_port if server is None else int(server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://{f'[{self.host}]' if ':' in self.host else self.host}:{self.port}"

    def function_environment(self, function_id: str) -> dict[str, str]:
        """The complete environment a function's workers get."""
        return function_environment(
            self.app, function_id, self.env_overrides, self.extra_env, self.region
        )

    def start(self) -> LocalGateway:
        with self._lock:
            if self._server is not None:
                raise RuntimeError("gateway already started")
            address = (self.host, self._requested_port)
            server = make_server(*address, self, threaded=True, request_handler=_QuietHandler)
            try:
                for name, function in self.app.functions.items():
                    if not function.problems:
                        env, cap = self.function_environment(name), self.max_workers_per_function
                        self.pools[name] = FunctionPool(function, env, self.sink, cap)
            except BaseException:
                self.pools.clear()
                server.server_close()
                raise
            self._server = server
            thread = threading.Thread(target=server.serve_forever, args=(0.1,), daemon=True)
            thread.start()
            if self.websocket is not None:
                self.websocket.start()
            atexit.register(self.stop)
        self.sink.write(self.route_table(), always=True)
        return self

    def stop(self) -> None:
        with self._lock:
            server, self._server = self._server, None
            pools = list(self.pools.values())
        if self.websocket is not None:
            self.websocket.stop()
        if server is not None:
            server.shutdown()
            server.server_close()
        for pool in pools:
            pool.stop()
        atexit.unregister(self.stop)

    def __enter__(self) -> LocalGateway:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def worker_pids(self) -> dict[str, list[int]]:
        """Live worker process ids per function (for diagnostics and tests)."""
        return {name: pool.pids() for name, pool in self.pools.items() if pool.pids()}

    def set_kill_plan(self, plan: KillPlan | None) -> None:
        """Test hook: which invocations die after their Nth DynamoDB call (workers.KillPlan)."""
        for pool in self.pools.values():
            pool.kill_plan = plan

    def invoke(self, function_id: str, event: Any, timeout: float | None = None) -> Any:
        """Invoke a function with `event` as Lambda would from an event source (a schedule, a
        stream): its answer, or RuntimeError when it failed."""
        outcome = self._invoke(function_id, event, str(uuid.uuid4()), timeout)
        if outcome.kind != "ok":
            raise RuntimeError(f"{function_id} failed ({outcome.kind}): {outcome.error}")
        return outcome.payload

    def routes(self) -> list[tuple[str, str, str]]:
        """(method, path, target) of everything mounted."""
        return self.router.table()

    def route_table(self) -> str:
        rows = [("METHOD", "PATH", "TARGET"), *self.routes()]
        if self.static_dir is not None:
            rows.append(("GET", "/<file>", f"static files from {self.static_dir}"))
        width_method, width_path = (max(len(row[i]) for row in rows) for i in (0, 1))
        lines = [f"Local gateway for {self.app.template_path}", ""]
        for method, path, target in rows:
            lines.append(f"  {method:<{width_method}}  {path:<{width_path}}  {target}")
        if self.websocket is not None:
            lines.append("")
            for route, function_id in sorted(self.websocket.api.routes.items()):
                lines.append(f"  WS  {self.websocket.url}  {route}  {function_id}")
            lines.append(f"  POST  {self.base_url}/@connections/{{id}}  (management API)")
        lines += ["", f"Listening on {self.base_url}  (region {self.region})"]
        return "\n".join(lines)

    # -- request handling -----------------------------------------------------------------

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        """The WSGI application: one HTTP request, answered and logged."""
        started, request = time.monotonic(), Request(environ)
        try:
            response, served_by = self.dispatch(request)
        except Exception as exc:  # a gateway bug must not kill the connection silently
            self.sink.write(f"[gateway] error handling {request.method} {request.path}: {exc!r}")
            response, served_by = json_response(500, {"message": str(exc)}), "gateway error"
        if served_by == "no route" and self.static_dir and request.method in ("GET", "HEAD"):
            static = self._serve_static(environ)
            if static.status_code != 404:  # no such file: the API's answer for no route
                response, served_by = static, "static"
        echo_allowed_origin(response, request.headers.get("Origin"), self.extra_origins)
        elapsed = (time.monotonic() - started) * 1000
        line = f"{request.method} {request.full_path.rstrip('?')} -> {response.status_code}"
        self.sink.write(f"{line} ({served_by}, {elapsed:.0f} ms)")
        return response(environ, start_response)

    def _serve_static(self, environ: dict[str, Any]) -> HttpResponse:
        """Files under ``static_dir`` (no traversal out of it); a directory is its index.html."""
        assert self.static_dir is not None
        path = environ["PATH_INFO"]
        if path.endswith("/") or (self.static_dir / path.lstrip("/")).is_dir():
            environ["PATH_INFO"] = path.rstrip("/") + "/index.html"
        files = SharedDataMiddleware(NotFound(), {"/": str(self.static_dir)}, cache=False)
        return HttpResponse.from_app(files, environ)  # type: ignore[return-value]

    def dispatch(self, request: Request) -> tuple[HttpResponse, str]:
        """Answer one HTTP request: (response, what served it)."""
        request_id = str(uuid.uuid4())
        managed = MANAGEMENT_PATH.match(request.path) if self.websocket is not None else None
        if managed is not None:
            response = self._manage(request, managed.group("id"))
            response.headers["x-amzn-RequestId"] = request_id
            return response, "WebSocket management API"
        resource, url = self.router.resource(request.path), self.router.match_url(raw_path(request))
        response = gateway_error(self._api_of(resource), MISSING_AUTHENTICATION_TOKEN, request_id)
        served_by = "no route"
        if resource is not None:
            methods, params = resource
            route, served_by = methods.get(request.method) or methods.get("ANY"), "no method"
            if route is not None:
                response, served_by = self._serve_api(request, route, params, request_id)
        elif url is not None:
            response, served_by = self._serve_url(request, *url, request_id)
        response.headers["x-amzn-RequestId"] = request_id
        return response, served_by

    def _manage(self, request: Request, connection_id: str) -> HttpResponse:
        """The management API: SigV4-signed callers only (IAM on AWS; the signature itself is
        not checked locally), 410 GoneException for a connection that is not open."""
        assert self.websocket is not None
        if not request.headers.get("Authorization", "").startswith("AWS4-HMAC-SHA256 "):
            return json_response(403, {"message": "Missing Authentication Token"})
        ws = self.websocket
        if request.method == "POST":
            done = ws.post(connection_id, request.get_data())
            answer: Any = None
        elif request.method == "DELETE":
            done = ws.close(connection_id)
            answer = None
        elif request.method == "GET":
            answer = ws.describe(connection_id)
            done = answer is not None
        else:
            return json_response(405, {"message": "Method Not Allowed"})
        if not done:
            gone = HttpResponse(json.dumps({"message": None}), 410, content_type="application/json")
            gone.headers["x-amzn-ErrorType"] = "GoneException"
            return gone
        body = b"" if answer is None else json.dumps(answer).encode()
        return HttpResponse(body, 200, content_type="application/json")

    def _api_of(self, resource: Resource | None) -> ApiConfig | None:
        """The API a request belongs to: its resource's, else the only one (None with several:
        API Gateway's defaults, as no one API's GatewayResponses can be right)."""
        if resource is not None:
            return self.app.apis[next(iter(resource[0].values())).api_logical_id]
        return next(iter(self.app.apis.values())) if len(self.app.apis) == 1 else None

    def _invoke(
        self, function_id: str, event: Any, request_id: str, timeout: float | None
    ) -> Outcome:
        pool = self.pools.get(function_id)
        if pool is None:
            problems = self.app.functions[function_id].problems
            self.sink.function_line(function_id, f"cannot run locally: {problems}")
            return Outcome("crash")
        return pool.invoke(event, request_id, timeout)

    def _serve_api(
        self, request: Request, route: ApiRoute, params: dict[str, str], request_id: str
    ) -> tuple[HttpResponse, str]:
        api = self.app.apis[route.api_logical_id]
        context: dict[str, Any] | None = None
        if route.authorizer is not None:
            authorized = self._authorize(request, route, params, request_id)
            if isinstance(authorized, GatewayError):
                return gateway_error(api, authorized, request_id), f"authorizer {route.authorizer}"
            context = authorized
        if route.function_id is None:  # the MOCK integration SAM generates for CORS
            headers = [("Content-Type", "application/json"), *route.mock_headers]
            return HttpResponse(b"", 200, headers), "CORS"
        event = build_rest_event(request, api, route.path, params, request_id, context)
        outcome = self._invoke(route.function_id, event, request_id, self.integration_timeout)
        served_by = route.function_id + (" (cold)" if outcome.cold else "")
        if outcome.kind == "timeout":
            return gateway_error(api, INTEGRATION_TIMEOUT, request_id), served_by
        try:
            if outcome.kind == "ok":
                return rest_response(outcome.payload), served_by
        except MalformedResult as exc:
            note = f"Execution failed: Malformed Lambda proxy response: {exc}"
            self.sink.function_line(route.function_id, note)
        return gateway_error(api, INTEGRATION_ERROR, request_id), served_by

    def _authorize(
        self, request: Request, route: ApiRoute, params: dict[str, str], request_id: str
    ) -> dict[str, Any] | GatewayError:
        api = self.app.apis[route.api_logical_id]
        authorizer = api.authorizers[str(route.authorizer)]
        if authorizer.function_id not in self.pools:
            self.sink.write(f"[gateway] authorizer {authorizer.name} cannot run locally")
            return AUTHORIZER_CONFIGURATION_ERROR
        arn = method_arn(api, self.region, request.method, raw_path(request))
        event = authorizers.authorizer_event(
            authorizer, request, api, route.path, params, request_id, arn
        )
        if event is None:
            return UNAUTHORIZED
        outcome = self._invoke(str(authorizer.function_id), event, request_id, None)
        context, refusal, note = authorizers.interpret(outcome, arn)
        if refusal is not None:
            self.sink.write(f"[gateway] authorizer {authorizer.name}: {note}")
            return refusal
        return context or {}

    def _serve_url(
        self, request: Request, function_id: str, sub_path: str, request_id: str
    ) -> tuple[HttpResponse, str]:
        event = build_url_event(request, function_id, sub_path, request_id)
        outcome = self._invoke(function_id, event, request_id, None)
        served_by = f"{function_id} (function URL{', cold' if outcome.cold else ''})"
        response = HttpResponse(b"Internal Server Error", 502, content_type="text/plain")
        try:
            response = url_response(outcome.payload) if outcome.kind == "ok" else response
        except MalformedResult as exc:
            self.sink.function_line(function_id, f"Malformed function URL response: {exc}")
        return response, served_by
