"""Secrets and SSM-held settings, cached across warm invocations by Powertools Parameters."""

from __future__ import annotations

from typing import Protocol

from aws_lambda_powertools.utilities import parameters


class SecretSource(Protocol):
    def get(self, name: str) -> str:
        """The current value of parameter `name`."""
        ...


class SsmSecrets:
    """Reads SSM parameters (SecureStrings decrypted), each cached for `max_age` seconds."""

    def __init__(self, max_age: int) -> None:
        self._max_age = max_age

    def get(self, name: str) -> str:
        value = parameters.get_parameter(name, decrypt=True, max_age=self._max_age)
        if not value:
            raise parameters.exceptions.GetParameterError(f"SSM parameter {name} is empty")
        return value
