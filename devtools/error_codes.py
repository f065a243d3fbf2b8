"""Every error `code` a client can meet, from the two places that answer them: the error
classes (their status from the one table in http/errors.py) and API Gateway's own answers
(template.yaml's GatewayResponses, the one table of the gateway's codes, which the local
gateway serves). The OpenAPI document's `ErrorCode` enum is built from both, each code
described by what docs/api.md's "Errors" table tells a client to do; tests/unit/test_api_doc.py
keeps that table, the classes and the template in step.

The enum is open: `ErrorResponse.code` is `anyOf: [ErrorCode, string]`, so a client generated
today still accepts a code added tomorrow (docs/api.md "Error codes in a generated client").
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devtools.local_gateway.gateway_responses import GatewayResponse
from phoneverify.http.errors import answered_codes

DOC = Path(__file__).resolve().parents[1] / "docs" / "api.md"
# A row of docs/api.md's error table: | `code` | status | what the client should do |
ROW = re.compile(r"^\| `(\w+)` \| (\d{3}) \| (.+) \|$", re.MULTILINE)
LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
# The status a DEFAULT_* gateway response answers when API Gateway's own is not known.
DEFAULT_STATUS = {"DEFAULT_4XX": 400, "DEFAULT_5XX": 500}
ERROR_CODE = "ErrorCode"
CODE_DESCRIPTION = (
    "What to branch on: one of ErrorCode (each described there), or a code added since this "
    "client was generated, which a client treats as its status's general case."
)


@dataclass(frozen=True)
class GatewayCode:
    """What one of API Gateway's own answers says: its code, its status (None: the status of
    whatever error a DEFAULT_4XX/5XX reshapes) and whether it tells `retry_after`."""

    response_type: str
    code: str
    status: int | None
    retry_after: bool


def gateway_codes(responses: Mapping[str, GatewayResponse]) -> dict[str, GatewayCode]:
    """Response type -> what the API's gateway response answers (template.yaml)."""
    codes: dict[str, GatewayCode] = {}
    for response_type, response in responses.items():
        template = response.templates.get("application/json")
        if template is None:
            continue
        body = json.loads(template.replace("$context.error.messageString", '""'))
        codes[response_type] = GatewayCode(
            response_type, str(body["code"]), response.status, "retry_after" in body
        )
    return codes


def gateway_pairs(codes: Mapping[str, GatewayCode]) -> set[tuple[str, int]]:
    """(code, status) of every gateway answer, a DEFAULT_* at its usual status."""
    return {
        (gateway.code, gateway.status or DEFAULT_STATUS.get(gateway.response_type, 500))
        for gateway in codes.values()
    }


def documented_codes(doc: Path = DOC) -> dict[tuple[str, int], str]:
    """(code, status) -> what docs/api.md's error table tells a client to do."""
    return {
        (code, int(status)): LINK.sub(r"\1", text).strip()
        for code, status, text in ROW.findall(doc.read_text("utf-8"))
    }


def error_code_schema(
    gateway: Mapping[str, GatewayCode], doc: Path = DOC
) -> dict[str, dict[str, Any]]:
    """The `ErrorCode` enum (every code the functions and the gateway answer, each with what to
    do), and the open `code` property of `ErrorResponse` that refers to it."""
    pairs = answered_codes() | gateway_pairs(gateway)
    described = documented_codes(doc)
    codes = sorted({code for code, _ in pairs})
    descriptions: list[str] = []
    for code in codes:
        statuses = sorted(status for known, status in pairs if known == code)
        rows = [(status, described.get((code, status), "")) for status in statuses]
        descriptions.append(" ".join(f"{status}: {text}" for status, text in rows))
    enum = {
        "type": "string",
        "title": ERROR_CODE,
        "description": "Every error code this version answers, with its status and what a "
        "client should do. Open: a newer API may answer a code not listed here (ErrorResponse."
        "code accepts any string), so keep a default branch.\n\n"
        + "\n".join(f"- `{code}`: {text}" for code, text in zip(codes, descriptions, strict=True)),
        "enum": codes,
        "x-enum-descriptions": descriptions,
    }
    code_property = {
        "anyOf": [{"$ref": f"#/components/schemas/{ERROR_CODE}"}, {"type": "string"}],
        "title": "Code",
        "description": CODE_DESCRIPTION,
    }
    return {"enum": enum, "code": code_property}
