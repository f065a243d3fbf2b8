"""The files a local stack's gateway serves: the web page with its config.js (the emulator's
outbox and the live-status WebSocket linked in; docs/web.md) and the API's OpenAPI document."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from devtools.local_stack.config import StackConfig
from devtools.openapi import write_site
from devtools.telnyx_emulator import TelnyxEmulator


class Site:
    """A temporary directory of what is served as files; :meth:`remove` deletes it."""

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.dir: Path | None = None
        self._web_config: dict[str, str] = {"apiUrl": ""}  # web/config.js as served

    def build(self, emulator: TelnyxEmulator | None) -> Path | None:
        """The directory to serve (None: nothing to serve), with a config.js that links the
        emulator's outbox, plus the API's OpenAPI document."""
        cfg = self.config
        if cfg.static_dir is None and not cfg.serve_openapi:
            return None
        self.dir = Path(tempfile.mkdtemp(prefix="phone-verify-site-"))
        if cfg.static_dir is not None:
            shutil.copytree(cfg.static_dir, self.dir, dirs_exist_ok=True)
            if emulator is not None:
                outbox = f"{emulator.base_url}/_emulator/messages"
                self._web_config = {"apiUrl": "", "emulatorOutboxUrl": outbox}
                (self.dir / "config.js").write_text(
                    f"window.PHONE_VERIFY_CONFIG = {json.dumps(self._web_config)};\n"
                )
        if cfg.serve_openapi:
            write_site(self.dir, api_url=f"http://{cfg.host}:{cfg.api_port}")
        return self.dir

    def link_websocket(self, websocket_url: str) -> None:
        """Tell the page where the live-status WebSocket listens (its port is known once
        started): websocketUrl in config.js, and its origin in the page's connect-src."""
        if self.dir is None or self.config.static_dir is None:
            return
        web_config = {**self._web_config, "websocketUrl": websocket_url}
        (self.dir / "config.js").write_text(
            f"window.PHONE_VERIFY_CONFIG = {json.dumps(web_config)};\n"
        )
        index = self.dir / "index.html"
        if index.is_file() and websocket_url:
            allowed = f"connect-src 'self' {websocket_url}"
            index.write_text(index.read_text().replace("connect-src 'self'", allowed))

    def remove(self) -> None:
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None
