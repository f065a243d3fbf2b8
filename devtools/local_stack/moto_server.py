"""moto's server, one request at a time (docs/dynamodb-local.md#moto-under-concurrency).

moto's in-memory backends are plain dicts with no locks: two requests at once can iterate a
table while the other writes it. Under 40 concurrent sign-ups on a `make run` stack,
TransactWriteItems raised `RuntimeError: dictionary changed size during iteration` (a 500
the SDK's retry happened to hide), and a conditional write checked against one request's
half-written state could pass where DynamoDB would refuse it. The local stack's moto serves
every request under one lock, the response body read inside it: moto answers in a
millisecond or two, so the functions' requests queue for a moment instead of racing. A stack
on DynamoDB Local (`StackConfig.dynamodb_endpoint`, Java) needs none of it for DynamoDB.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.moto_server.threaded_moto_server import ThreadedMotoServer
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import make_server


class SerialisedApp:
    """A WSGI app that serves one request at a time, its whole body included."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self._app = app
        self._lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with self._lock:
            return list(self._app(environ, start_response))


class SerialMotoServer(ThreadedMotoServer):
    """ThreadedMotoServer whose requests are served one at a time (SerialisedApp)."""

    def _server_entry(self) -> None:
        app = SerialisedApp(DomainDispatcherApplication(create_backend_app))
        self._server = make_server(
            self._ip_address, self._port, app, True, request_handler=MotoRequestHandler
        )
        self._server_ready_event.set()
        self._server.serve_forever()
