"""The sign-up form's model says what the OpenAPI document says (four required strings), and
answers as the contract does: a missing, null or blank field is "All fields required" naming
the first in the form's order, once every field given is valid."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from phoneverify.domain.validation import describe_validation_error
from phoneverify.http.requests import RegisterStartRequest

FORM = {
    "name": "Ada Lovelace",
    "email": "ada@example.com",
    "phone_number": "+14155550187",
    "password": "analytical engine 1843",
}


def refusal(body: Any) -> tuple[str, str | None]:
    with pytest.raises(ValidationError) as refused:
        RegisterStartRequest.model_validate(body)
    return describe_validation_error(refused.value.errors()[0])


def test_the_model_requires_what_the_document_requires() -> None:
    schema = RegisterStartRequest.model_json_schema()
    assert schema["required"] == ["name", "email", "phone_number", "password"]
    assert RegisterStartRequest.model_validate(FORM).name == "Ada Lovelace"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "name"),
        ({"name": "Ada"}, "email"),
        ({**FORM, "password": None}, "password"),
        ({"name": " ", "email": None}, "name"),  # blank before missing, in the form's order
    ],
)
def test_an_absent_field_is_all_fields_required_naming_the_first(
    body: dict[str, Any], field: str
) -> None:
    assert refusal(body) == ("All fields required", field)


@pytest.mark.parametrize(
    ("body", "answer"),
    [
        ({"email": 5}, ("email must be a string", "email")),
        ({"email": "x" * 321}, ("email must be at most 320 characters", "email")),
        ({"admin": True}, ("admin is not an allowed field", "admin")),
    ],
)
def test_a_wrong_field_given_is_named_before_any_absent_one(
    body: dict[str, Any], answer: tuple[str, str]
) -> None:
    assert refusal(body) == answer


def test_a_blank_field_is_left_to_the_flow_which_names_it_alike() -> None:
    # "" passes the model (the flow answers "All fields required" for it, naming the field)
    assert RegisterStartRequest.model_validate({**FORM, "phone_number": ""}).phone_number == ""
