"""A local Telnyx Verify v2 emulator for development and tests (never deployed).

See docs/telnyx-emulator.md.
"""

from devtools.telnyx_emulator.config import EmulatorConfig
from devtools.telnyx_emulator.emulator import TelnyxEmulator

__all__ = ["EmulatorConfig", "TelnyxEmulator"]
