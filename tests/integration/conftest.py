"""One Telnyx emulator per integration module; each test resets what it needs. The
authorizer, loaded over the module's own `stack` fixture (its tables and secrets)."""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType

import pytest

from devtools.telnyx_emulator import EmulatorConfig, TelnyxEmulator
from tests.support.lambda_env import load_function, offline_aws_environment, template_environment
from tests.support.verify_stack import VerifyStack, verify_stack


@pytest.fixture(scope="module")
def emulator() -> Iterator[TelnyxEmulator]:
    emu = TelnyxEmulator(EmulatorConfig(port=0, log_requests=False)).start()
    yield emu
    emu.stop()


@pytest.fixture(scope="module")
def shared_verify_stack(emulator: TelnyxEmulator) -> Iterator[VerifyStack]:
    """The verify stack (tables and functions) built once per module, seconds each time; a
    module's tests share it through `with_new_account`, each with an account of its own."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        offline_aws_environment(monkeypatch)
        with verify_stack(monkeypatch, emulator) as built:
            yield built


@pytest.fixture
def authorizer(
    monkeypatch: pytest.MonkeyPatch, stack: object, emulator: TelnyxEmulator
) -> ModuleType:
    env = template_environment("AuthorizerFunction", {"TelnyxApiBaseUrl": emulator.base_url})
    return load_function("authorizer", monkeypatch, env)
