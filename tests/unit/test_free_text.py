"""Control characters (NUL, newlines, escapes, bidi overrides) are refused in every free-text
field of every request, a 400 naming the field (issue 18: sign-up took NUL and newlines in
`name` while the payment's recipient and description refused them)."""

from __future__ import annotations

import typing
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from phoneverify.domain.validation import describe_validation_error
from phoneverify.http import requests
from phoneverify.http.requests import FreeText, RequestModel

# Passwords are secrets, never shown or logged: any character a person can type is theirs
# (NIST SP 800-63B 5.1.1.2), and refusing one now would lock out a password set before.
PASSWORDS = {"password", "new_password"}
BAD = ["Ab\x00", "A\nB", "A\r\nB: 1", "A\x1b[31m", "A\u202eB"]  # each within every cap


def models() -> list[type[RequestModel]]:
    found = [
        value
        for value in vars(requests).values()
        if isinstance(value, type) and issubclass(value, RequestModel) and value is not RequestModel
    ]
    assert len(found) >= 10
    return found


def string_fields(model: type[BaseModel]) -> list[tuple[str, Any]]:
    """(name, FieldInfo) of each field that takes a string."""
    fields = []
    for name, info in model.model_fields.items():
        annotation = info.annotation
        args = typing.get_args(annotation) or (annotation,)
        if str in args:
            fields.append((name, info))
    return fields


def test_every_string_field_has_a_pattern_or_is_free_text_or_a_password() -> None:
    unchecked = []
    for model in models():
        for name, info in string_fields(model):
            patterned = any(getattr(m, "pattern", None) for m in info.metadata)
            if not (patterned or FreeText in info.metadata or name in PASSWORDS):
                unchecked.append(f"{model.__name__}.{name}")
    assert unchecked == []


VALID: dict[str, dict[str, Any]] = {
    "RegisterStartRequest": {
        "name": "Ada",
        "email": "ada@example.com",
        "phone_number": "+14155550187",
        "password": "analytical engine 1843",
    },
    "LoginRequest": {"email": "ada@example.com", "password": "x"},
    "PasswordResetStartRequest": {"email": "ada@example.com"},
    "PhoneChangeStartRequest": {"phone_number": "+14155550187", "password": "x"},
    "PaymentInitiateRequest": {
        "amount": "5.00",
        "currency": "USD",
        "recipient": "acct_1",
        "description": "Rent",
    },
}


@pytest.mark.parametrize("bad", BAD, ids=["nul", "newline", "crlf", "escape", "bidi"])
@pytest.mark.parametrize(
    ("model", "field"),
    [
        (model, name)
        for model in VALID
        for name, _ in string_fields(getattr(requests, model))
        if name in VALID[model] and name not in PASSWORDS
    ],
)
def test_a_control_character_in_a_free_text_field_is_refused_naming_it(
    model: str, field: str, bad: str
) -> None:
    body = {**VALID[model], field: bad}
    getattr(requests, model).model_validate(VALID[model])  # the rest is valid
    with pytest.raises(ValidationError) as refused:
        getattr(requests, model).model_validate(body)
    message, named = describe_validation_error(refused.value.errors()[0])
    assert (message, named) == (f"{field} must not contain control characters", field)


def test_names_in_any_script_with_spaces_and_punctuation_stay_welcome() -> None:
    for name in ["Ada Lovelace", "José Núñez-O'Brien", "李小龍", "Zoë  Saldaña", "محمد"]:
        requests.RegisterStartRequest.model_validate(
            {**VALID["RegisterStartRequest"], "name": name}
        )
