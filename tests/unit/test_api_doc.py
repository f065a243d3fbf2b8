"""docs/api.md's table of error codes says what the error classes and API Gateway's own answers
(template.yaml GatewayResponses) answer: every code, with its status, and nothing that neither
answers; the OpenAPI document's ErrorCode enum is the same codes; and the validation messages
are plain words."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from devtools.aws_resources import LOCAL_PARAMETERS, TEMPLATE
from devtools.error_codes import (
    ERROR_CODE,
    GatewayCode,
    documented_codes,
    error_code_schema,
    gateway_codes,
    gateway_pairs,
)
from devtools.local_gateway import load_app
from phoneverify.domain import errors
from phoneverify.domain.validation import describe_validation_error
from phoneverify.http.errors import answered_codes
from phoneverify.http.operations import error_responses

DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"


@pytest.fixture(scope="module")
def gateway() -> dict[str, GatewayCode]:
    """What API Gateway answers itself, read from template.yaml's GatewayResponses."""
    (api,) = load_app(TEMPLATE, LOCAL_PARAMETERS).apis.values()
    return gateway_codes(api.gateway_responses)


def documented() -> set[tuple[str, int]]:
    return set(documented_codes(DOC))


def test_every_code_the_errors_and_the_gateway_answer_is_in_the_table_with_its_status(
    gateway: dict[str, GatewayCode],
) -> None:
    # Given every answer the template gives (401 refused token, 429, 503, 504, defaults)
    assert {"ACCESS_DENIED", "THROTTLED", "INTEGRATION_TIMEOUT", "DEFAULT_5XX"} <= set(gateway)
    # Then the table is exactly the functions' and the gateway's codes, no hand exemption
    assert documented() == answered_codes() | gateway_pairs(gateway)
    assert ("throttled", 429) not in documented()


def test_the_documents_error_code_enum_is_every_code_each_with_what_to_do(
    gateway: dict[str, GatewayCode],
) -> None:
    schema = error_code_schema(gateway)
    codes = {code for code, _ in documented()}
    assert set(schema["enum"]["enum"]) == codes
    assert {gateway[kind].code for kind in gateway} <= codes
    for code, description in zip(
        schema["enum"]["enum"], schema["enum"]["x-enum-descriptions"], strict=True
    ):
        assert re.fullmatch(r"(\d{3}: .+\. ?)+", description), (code, description)
    # and it is open: ErrorResponse.code is the enum or any other string
    assert schema["code"]["anyOf"] == [
        {"$ref": f"#/components/schemas/{ERROR_CODE}"},
        {"type": "string"},
    ]


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
