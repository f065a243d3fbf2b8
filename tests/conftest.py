"""Test-wide setup: no test can reach real AWS, and Powertools' caches never leak between tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from aws_lambda_powertools.utilities import parameters

from tests.support.lambda_env import offline_aws_environment

pytest_plugins = ["tests.plugins.dynamodb_local", "tests.plugins.documented_errors"]


@pytest.fixture(autouse=True)
def offline_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    offline_aws_environment(monkeypatch)


@pytest.fixture(autouse=True)
def fresh_parameter_caches() -> Iterator[None]:
    parameters.clear_caches()
    parameters.base.DEFAULT_PROVIDERS.clear()
    yield
    parameters.clear_caches()
    parameters.base.DEFAULT_PROVIDERS.clear()
