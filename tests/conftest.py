"""Test-wide setup: no test can reach real AWS, and Powertools' caches never leak between tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from aws_lambda_powertools.utilities import parameters

pytest_plugins = ["tests.plugins.dynamodb_local"]


@pytest.fixture(autouse=True)
def offline_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "AWS_PROFILE",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_DYNAMODB",
        "AWS_ENDPOINT_URL_SSM",
        "AWS_SESSION_TOKEN",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_REGION", "us-east-1")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "PhoneVerifyTest")
    monkeypatch.setenv("POWERTOOLS_SERVICE_NAME", "phone-verify-test")


@pytest.fixture(autouse=True)
def fresh_parameter_caches() -> Iterator[None]:
    parameters.clear_caches()
    parameters.base.DEFAULT_PROVIDERS.clear()
    yield
    parameters.clear_caches()
    parameters.base.DEFAULT_PROVIDERS.clear()
