"""One Telnyx emulator per integration module; each test resets what it needs."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from devtools.telnyx_emulator import EmulatorConfig, TelnyxEmulator


@pytest.fixture(scope="module")
def emulator() -> Iterator[TelnyxEmulator]:
    emu = TelnyxEmulator(EmulatorConfig(port=0, log_requests=False)).start()
    yield emu
    emu.stop()
