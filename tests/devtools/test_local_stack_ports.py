"""`make run` on a machine where a port it wants is already taken: one line that names the
port and the variable that moves it, never a traceback, and nothing left running."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from devtools.local_stack.ports import PORT_VARIABLES, free_port


@contextmanager
def listening_socket() -> Iterator[int]:
    """Another program listening on a port of 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def make_run(**ports: str) -> subprocess.CompletedProcess[str]:
    """What `make run` runs, with the port variables given (the others on free ports)."""
    env = {**os.environ, **{name: str(free_port()) for name in PORT_VARIABLES}, **ports}
    return subprocess.run(
        [sys.executable, "-m", "devtools.local_stack"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("variable", sorted(PORT_VARIABLES))
def test_a_busy_port_ends_make_run_with_one_line_naming_the_port_and_its_variable(
    variable: str,
) -> None:
    # Given another program listens on the port the variable names
    with listening_socket() as busy:
        # When the stack is started on it
        result = make_run(**{variable: str(busy)})
    # Then it stops at once with one line that says which port and how to choose another
    assert result.returncode == 1
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert f"port {busy} ({variable}) is in use" in lines[0]
    assert f"{variable}=" in lines[0]
    assert "Traceback" not in result.stderr


def test_two_variables_naming_one_port_are_refused_like_a_busy_port() -> None:
    # Given the API and the emulator are both told to use one free port
    port = str(free_port())
    # When the stack is started
    result = make_run(API_PORT=port, EMULATOR_PORT=port)
    # Then the second one to bind is named
    assert result.returncode == 1
    assert result.stderr.splitlines() == [result.stderr.strip()]
    assert f"port {port} (EMULATOR_PORT) is in use" in result.stderr


def test_a_port_variable_that_is_not_a_number_is_one_line_naming_it() -> None:
    # When a port variable holds something that is not a port
    result = make_run(AWS_PORT="45x75")
    # Then one line names the variable and its default
    assert result.returncode == 2
    assert result.stderr == (
        "make run: AWS_PORT='45x75' is not a port number (1-65535, or 0: a free one), "
        "e.g. AWS_PORT=4575 make run\n"
    )
