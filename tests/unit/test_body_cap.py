"""The body cap (413 body_too_large) never refuses a request the document calls valid: the
largest body of every request model, each string at its maximum length in the costliest
JSON spelling (a character outside the BMP escaped as a surrogate pair, 12 bytes), fits."""

from __future__ import annotations

import inspect
import json

import annotated_types
import pytest
from pydantic import BaseModel

import phoneverify.http.requests as requests
from phoneverify.http.app import MAX_BODY_BYTES

ASTRAL = "\U0001f600"  # one code point, "\ud83d\ude00" in ASCII JSON


def request_models() -> list[type[BaseModel]]:
    return [
        cls
        for _, cls in inspect.getmembers(requests, inspect.isclass)
        if issubclass(cls, BaseModel) and cls.__module__ == requests.__name__ and cls.model_fields
    ]


def largest_body(model: type[BaseModel]) -> bytes:
    body: dict[str, object] = {}
    for name, field in model.model_fields.items():
        bounds = [m.max_length for m in field.metadata if isinstance(m, annotated_types.MaxLen)]
        # A string field is bounded by its own metadata or by the members of an optional.
        for arg in getattr(field.annotation, "__args__", ()):
            bounds += [
                m.max_length
                for m in getattr(arg, "__metadata__", ())
                if isinstance(m, annotated_types.MaxLen)
            ]
            for meta in getattr(arg, "__metadata__", ()):
                bounds += [
                    m.max_length
                    for m in getattr(meta, "metadata", ())
                    if isinstance(m, annotated_types.MaxLen)
                ]
        body[name] = ASTRAL * max(bounds) if bounds else True
    return json.dumps(body, ensure_ascii=True).encode()


def test_every_request_model_is_measured() -> None:
    # The walk finds the models (a rename would make the next test pass on nothing).
    assert len(request_models()) >= 10


@pytest.mark.parametrize("model", request_models(), ids=lambda m: m.__name__)
def test_the_largest_valid_body_fits_under_the_cap(model: type[BaseModel]) -> None:
    assert len(largest_body(model)) < MAX_BODY_BYTES
