"""The errors only the HTTP edge can meet, before or around a use case: a body that is too
large or not JSON, a method or path no route serves, a failure nobody foresaw. Domain errors
all the same (a message and a machine code, `phoneverify.domain.errors`), answered through
the one status table in `phoneverify.http.errors`; no flow ever raises them."""

from __future__ import annotations

from phoneverify.domain.errors import DomainError, InvalidRequest


class BodyTooLarge(InvalidRequest):
    """A request body over the size cap, refused before anything parses it."""

    code = "body_too_large"
    message = "Request body is too large"


class UnsupportedMediaType(InvalidRequest):
    """A request body that is not declared as JSON."""

    code = "unsupported_media_type"
    message = "Content-Type must be application/json"


class MethodNotAllowed(DomainError):
    """A method the path does not answer; `allowed` names the ones it does (the Allow header)."""

    code = "method_not_allowed"

    def __init__(self, method: str, allowed: tuple[str, ...]) -> None:
        self.allowed = allowed
        super().__init__(f"{method} is not allowed here: use {' or '.join(allowed)}")


class RouteNotFound(DomainError):
    """No route at this path (a function URL answers every path it is sent)."""

    code = "not_found"
    message = "Not found"


class InternalError(DomainError):
    """A failure nobody foresaw: logged in full, told to the client in these words only."""

    code = "internal_error"
    message = "Internal error"
