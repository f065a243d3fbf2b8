"""The ports the local stack listens on: their environment variables, and checking that
each is a port number and free before anything starts."""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping

# The environment variables `make run` reads its ports from (README "Ports",
# docs/configuration.md), with the defaults the README's examples use. 0: any free port, chosen
# at start and printed in the banner.
PORT_VARIABLES = {"API_PORT": 3000, "EMULATOR_PORT": 4010, "AWS_PORT": 4575, "WS_PORT": 3002}


class PortUnavailable(Exception):
    """A port the stack would listen on is taken (or not a port): says which and how to move."""

    def __init__(self, variable: str, port: int | str, host: str = "127.0.0.1") -> None:
        self.variable, self.port, self.host = variable, port, host
        super().__init__(
            f"port {port} ({variable}) is in use on {host}: stop what listens there, "
            f"or choose a free one, e.g. {variable}={_suggestion(port)} make run"
            if isinstance(port, int)
            else f"{variable}={port!r} is not a port number (1-65535, or 0: a free one), e.g. "
            f"{variable}={PORT_VARIABLES[variable]} make run"
        )


def _suggestion(port: int) -> int:
    return port + 1 if port < 65535 else free_port()


def check_ports_free(host: str, ports: Mapping[str, int]) -> None:
    """Raise PortUnavailable for the first of `ports` (variable -> port) that cannot be bound
    on `host`, or that another of them already names. All are held until every one is tried:
    moto's server thread would otherwise wait forever for a port it could not bind."""
    held: list[socket.socket] = []
    try:
        for variable, port in ports.items():
            sock = socket.socket()
            held.append(sock)
            # As the servers do: a port left in TIME_WAIT by a previous run is free.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind((host, port))
                sock.listen()
            except OSError as exc:
                raise PortUnavailable(variable, port, host) from exc
    finally:
        for sock in held:
            sock.close()


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        port: int = sock.getsockname()[1]
        return port


def env_port(variable: str) -> int:
    """The port `variable` names in the environment (0: a free one), else its default."""
    raw = os.environ.get(variable, "").strip()
    if not raw:
        return PORT_VARIABLES[variable]
    if not raw.isdigit() or not 0 <= int(raw) < 65536:
        raise PortUnavailable(variable, raw)
    return int(raw)
