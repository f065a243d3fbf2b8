"""Origins the local gateway's own answers allow besides the template's one AllowedOrigin.

In AWS a gateway response or a CORS preflight carries the static
``Access-Control-Allow-Origin`` the template gives it: one origin. A local stack may allow
more (a frontend on its own dev server, devtools/local_stack/origins.py), so the gateway
echoes a request's ``Origin`` in place of that static value when the origin is one of its
``extra_origins``, with ``Vary: Origin``; any other origin keeps the static value, which its
browser refuses, as a deployed API's would. Functions' answers are their own: Powertools'
CORSConfig already answers the request's origin when allowed, which this leaves as it is.
"""

from __future__ import annotations

from collections.abc import Collection

from werkzeug.wrappers import Response

ALLOW_ORIGIN = "Access-Control-Allow-Origin"


def echo_allowed_origin(response: Response, origin: str | None, extra: Collection[str]) -> None:
    """Name ``origin`` in ``response``'s CORS header when it is one of ``extra`` and the
    response allows an origin at all; anything else is left as it was."""
    if origin is None or origin not in extra or ALLOW_ORIGIN not in response.headers:
        return
    response.headers[ALLOW_ORIGIN] = origin
    vary = [v.strip() for v in response.headers.get("Vary", "").split(",") if v.strip()]
    if "Origin" not in vary:
        response.headers["Vary"] = ", ".join([*vary, "Origin"])
