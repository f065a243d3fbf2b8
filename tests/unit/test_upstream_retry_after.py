"""A 502 for Telnyx (or the email service) failing says when to try again, as a 503 does:
the soak found clients told 502 with no Retry-After while Telnyx answered 503 or hung."""

from __future__ import annotations

import json

import pytest

from phoneverify.domain.errors import (
    CodeCheckFailed,
    CodeDeliveryFailed,
    DomainError,
    EmailDeliveryFailed,
)
from phoneverify.http.errors import domain_error_response, tells_retry_after


@pytest.mark.parametrize("error", [CodeDeliveryFailed(), CodeCheckFailed(), EmailDeliveryFailed()])
def test_a_provider_failure_answers_502_with_retry_after(error: DomainError) -> None:
    response = domain_error_response(error)
    assert response.status_code == 502
    assert response.headers["Retry-After"] == "2"
    assert json.loads(str(response.body))["retry_after"] == 2
    assert tells_retry_after(type(error))  # so the OpenAPI document lists the header
