"""After a session that called functions through `invoke` (tests/support/lambda_env.py): the
error codes each route documents that no test made it answer, as a note in the summary.

`invoke` fails a test whose handler answers an error its OpenAPI operation does not list (the
`documented(...)` list is incomplete); this is the other direction, which cannot fail a run:
a documented code nobody provoked may be a test worth writing, or a code the route cannot
answer any more (the list is too long). Only a full integration run says which.
"""

from __future__ import annotations

import pytest

from tests.support.lambda_env import ANSWERED, DOCUMENTED


def never_answered() -> dict[tuple[str, str], list[str]]:
    """(METHOD, path) -> "status code" documented for it and never answered this session."""
    left: dict[tuple[str, str], list[str]] = {}
    for route, answers in sorted(DOCUMENTED.items()):
        answered = {(status, code) for m, p, status, code in ANSWERED if (m, p) == route}
        missing = [
            f"{status} {code}"
            for status, codes in sorted(answers.items())
            for code in sorted(codes)
            if (status, code) not in answered
        ]
        if missing:
            left[route] = missing
    return left


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    left = never_answered()
    if not left:
        return
    terminalreporter.write_sep("-", "documented error codes no test answered")
    for (method, path), missing in left.items():
        terminalreporter.write_line(f"{method} {path}: {', '.join(missing)}")
