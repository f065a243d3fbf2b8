"""Telnyx's v2 error envelope and the catalogue entries the emulator answers with.

Codes, titles and details are the ones in Telnyx's "API error codes" reference
(developers.telnyx.com/development/api-fundamentals/api-errors); the envelope
`{"errors": [{code, title, detail, source?, meta: {url}}]}` is the one shown in the
Verify API reference error samples.
"""

from __future__ import annotations

from typing import Any

ERROR_DOCS_URL = "https://developers.telnyx.com/docs/overview/errors/{code}"

# code -> (title, catalogue detail)
CATALOGUE: dict[str, tuple[str, str]] = {
    "10004": ("Missing required parameter", "A required parameter was missing."),
    "10005": ("Resource not found", "The requested resource or URL could not be found."),
    "10006": ("Invalid ID", "The resource ID provided was invalid."),
    "10007": ("Unexpected error", "An unexpected error occured."),
    "10008": ("Request timeout", "The request timed out."),
    "10009": (
        "Authentication failed",
        "The required authentication headers were either invalid or not included in the request.",
    ),
    "10010": (
        "Authorization failed",
        "You do not have permission to perform the requested action on the specified resource "
        "or resources.",
    ),
    "10011": ("Too many requests", "You have exceeded the maximum number of allowed requests."),
    "10015": ("Bad Request", "The request failed because it was not well-formed."),
    "10016": (
        "Phone number must be in +E.164 format",
        "The specified phone number parameter must be in +E.164 format.",
    ),
    # Messaging (developers.telnyx.com, "Messaging error codes").
    "40305": ("Invalid 'from' address", "The 'from' address is not a number of this account."),
    "40310": ("Invalid 'to' address", "The 'to' address is not a valid +E.164 phone number."),
}

# HTTP status -> catalogue code used for injected faults.
_STATUS_CODES: dict[int, str] = {
    400: "10015",
    401: "10009",
    403: "10010",
    404: "10005",
    408: "10008",
    422: "10015",
    429: "10011",
}


class TelnyxApiError(Exception):
    """An error the emulated API answers with, in Telnyx's envelope."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str | None = None,
        *,
        pointer: str | None = None,
        parameter: str | None = None,
    ) -> None:
        title, catalogue_detail = CATALOGUE[code]
        self.status = status
        self.code = code
        self.title = title
        self.detail = detail or catalogue_detail
        self.pointer = pointer
        self.parameter = parameter
        super().__init__(f"{status} {code} {title}: {self.detail}")

    def envelope(self) -> dict[str, Any]:
        error: dict[str, Any] = {"code": self.code, "title": self.title, "detail": self.detail}
        source: dict[str, str] = {}
        if self.pointer is not None:
            source["pointer"] = self.pointer
        if self.parameter is not None:
            source["parameter"] = self.parameter
        if source:
            error["source"] = source
        error["meta"] = {"url": ERROR_DOCS_URL.format(code=self.code)}
        return {"errors": [error]}


def authentication_failed() -> TelnyxApiError:
    return TelnyxApiError(401, "10009")


def not_found(detail: str | None = None, *, pointer: str | None = None) -> TelnyxApiError:
    return TelnyxApiError(404, "10005", detail, pointer=pointer)


def malformed_body(detail: str) -> TelnyxApiError:
    return TelnyxApiError(400, "10015", detail)


def missing_parameter(name: str) -> TelnyxApiError:
    return TelnyxApiError(422, "10004", f"The '{name}' parameter is required.", pointer=f"/{name}")


def invalid_parameter(name: str, detail: str) -> TelnyxApiError:
    return TelnyxApiError(422, "10015", detail, pointer=f"/{name}")


def invalid_phone_number(
    *, pointer: str | None = None, parameter: str | None = None
) -> TelnyxApiError:
    return TelnyxApiError(422, "10016", pointer=pointer, parameter=parameter)


def injected(status: int) -> TelnyxApiError:
    """The error body for a fault injected with this HTTP status."""
    return TelnyxApiError(status, _STATUS_CODES.get(status, "10007"))
