"""`make run`'s ALLOWED_ORIGIN: the origins of frontends served elsewhere (a dev server such as
Vite's http://127.0.0.1:5173) that may call the local API besides the stack's own page.

The deployed template keeps one AllowedOrigin. Locally that parameter stays the stack's own
origin (where its web page is served); the list given here reaches the functions as
EXTRA_ALLOWED_ORIGINS (phoneverify.config: Powertools' CORSConfig ``extra_origins`` and the
WebSocket's origin check) and the local gateway, whose own answers (preflight, gateway
responses, 404s) echo a request's Origin only when it is allowed (devtools/local_gateway/cors.py).
"""

from __future__ import annotations

from phoneverify.config import DEV_ORIGIN


class OriginRefused(ValueError):
    """An ALLOWED_ORIGIN entry that is not one browser origin the local API may allow."""

    def __init__(self, origin: str, why: str) -> None:
        self.origin = origin
        super().__init__(
            f"ALLOWED_ORIGIN: {origin!r} {why}; name each origin as scheme://host[:port] "
            "(https, or http for localhost and 127.x), comma-separated, e.g. "
            "ALLOWED_ORIGIN=http://127.0.0.1:5173 make run"
        )


def parse_origins(raw: str | None) -> tuple[str, ...]:
    """The origins of a comma-separated ALLOWED_ORIGIN, each checked; none for None or ""."""
    origins: list[str] = []
    for part in (raw or "").split(","):
        origin = part.strip()
        if not origin:
            continue
        if origin == "*" or "*" in origin:
            raise OriginRefused(origin, "is a wildcard: the API's CORS never allows any origin")
        if origin.lower() == "null":
            raise OriginRefused(origin, "is what sandboxed and file:// pages send: never allowed")
        if origin.endswith("/") or origin.count("/") > 2:
            raise OriginRefused(origin, "has a path: an origin is scheme://host[:port] only")
        if not DEV_ORIGIN.fullmatch(origin):
            raise OriginRefused(origin, "is not an https origin, nor http on this machine")
        port = origin.rpartition(":")[2]
        if port.isdigit() and not 0 < int(port) < 65536:
            raise OriginRefused(origin, "has no valid port (1-65535)")
        if origin not in origins:
            origins.append(origin)
    return tuple(origins)
