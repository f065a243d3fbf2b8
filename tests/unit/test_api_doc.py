"""docs/api.md's table of error codes says what the error classes answer: every code, with
its status, and nothing that no error answers; and the validation messages are plain words."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from phoneverify.domain import errors
from phoneverify.domain.validation import describe_validation_error
from phoneverify.http.errors import status_for
from phoneverify.http.operations import error_responses

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
GATEWAY_ONLY = {("throttled", 429)}  # answered by API Gateway itself (GatewayResponses)


def answered() -> set[tuple[str, int]]:
    found: set[tuple[str, int]] = set()
    pending = [errors.DomainError]
    while pending:
        cls = pending.pop()
        found.add((cls.code, status_for(cls)))
        pending.extend(cls.__subclasses__())
    return found


def documented() -> set[tuple[str, int]]:
    rows = re.findall(r"^\| `(\w+)` \| (\d{3}) \| .+ \|$", DOC.read_text(), re.MULTILINE)
    return {(code, int(status)) for code, status in rows}


def test_every_code_the_errors_answer_is_in_the_table_with_its_status() -> None:
    assert answered() == documented() - GATEWAY_ONLY


def test_a_status_in_the_document_comes_from_the_error_table() -> None:
    responses = error_responses(errors.InvalidCode, errors.TooManyAttempts)
    assert set(responses) == {400, 401, 413, 415, 429, 500, 503}
    assert "`invalid_code`" in responses[401]["description"]
    assert "Retry-After" in responses[429]["headers"]
    assert "headers" not in responses[401]


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (
            {"type": "string_too_short", "loc": ("body", "flow_id"), "ctx": {"min_length": 20}},
            "flow_id must be at least 20 characters",
        ),
        (
            {
                "type": "string_pattern_mismatch",
                "loc": ("body", "code"),
                "ctx": {"pattern": "^[0-9]+$"},
            },
            "code must contain only the digits 0-9",
        ),
        (
            {"type": "string_too_long", "loc": ("body", "email"), "ctx": {"max_length": 254}},
            "email must be at most 254 characters",
        ),
        ({"type": "missing", "loc": ("body", "password")}, "password is required"),
        (
            {"type": "string_too_short", "loc": ("body", "password"), "ctx": {"min_length": 1}},
            "password must not be empty",
        ),
        ({"type": "bool_type", "loc": ("body", "all")}, "all must be true or false"),
        ({"type": "extra_forbidden", "loc": ("body", "role")}, "role is not an allowed field"),
        ({"type": "json_invalid", "loc": ("body", 0)}, "Request body is not valid JSON"),
        ({"type": "model_attributes_type", "loc": ("body",)}, "Request body must be a JSON object"),
        (
            {"type": "amount_type", "loc": ("body", "amount"), "msg": "must be a number"},
            "amount must be a number",
        ),
        ({"type": "something_new", "loc": ("query", "flow_id")}, "flow_id is not valid"),
    ],
)
def test_validation_errors_name_the_field_and_what_it_must_be(
    error: dict[str, object], message: str
) -> None:
    text, _ = describe_validation_error(error)
    assert text == message


def test_the_readme_and_docs_link_only_to_files_inside_the_repository() -> None:
    root = DOC.parents[1]
    for page in [root / "README.md", *sorted((root / "docs").glob("*.md"))]:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text()):
            if re.match(r"[a-z]+:", target):  # http:, https:, mailto:
                continue
            resolved = (page.parent / target).resolve()
            assert resolved.is_relative_to(root), f"{page.name} links outside: {target}"
            assert resolved.exists(), f"{page.name} links to a missing {target}"
