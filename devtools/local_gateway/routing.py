"""Which function answers a request: API Gateway resources as werkzeug rules (``{id}`` is
``<id>``, ``{p+}`` is ``<path:p>``) and function URL mounts, longest prefix first."""

from __future__ import annotations

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule

from .template import ApiRoute, App

# A matched resource: its routes by method, and the path parameters.
Resource = tuple[dict[str, ApiRoute], dict[str, str]]


class Router:
    """API Gateway resources as werkzeug rules: ``{id}`` is ``<id>``, ``{p+}`` is ``<path:p>``."""

    def __init__(self, app: App) -> None:
        self.warnings: list[str] = []
        self.resources: dict[str, dict[str, ApiRoute]] = {}
        for route in [*app.routes, *app.preflights]:
            methods = self.resources.setdefault(route.path, {})
            if methods.setdefault(route.method, route) is not route:
                self.warnings.append(f"{route.method} {route.path}: declared twice, first wins")
        rules = [Rule(_rule(path), endpoint=path) for path in self.resources]
        self.map = Map(rules, strict_slashes=False, merge_slashes=False).bind("localhost")
        functions = app.functions.values()
        mounts = [(p.rstrip("/"), f.logical_id) for f in functions for p in f.url_paths]
        self.url_mounts = sorted(mounts, key=lambda mount: -len(mount[0]))

    def resource(self, path: str) -> Resource | None:
        try:
            resource, params = self.map.match(path)
        except HTTPException:
            return None
        return self.resources[resource], dict(params)

    def match_url(self, path: str) -> tuple[str, str] | None:
        """(function id, path as the function URL sees it) of a function URL mount."""
        for prefix, function_id in self.url_mounts:
            if path == prefix or path.startswith(prefix + "/"):
                return function_id, path[len(prefix) :] or "/"
        return None

    def table(self) -> list[tuple[str, str, str]]:
        """(method, path, target) rows for the startup banner."""
        rows = []
        for path, methods in sorted(self.resources.items()):
            for method, route in sorted(methods.items()):
                target = route.function_id or f"CORS preflight ({route.api_logical_id})"
                auth = f"  [authorizer: {route.authorizer}]" if route.authorizer else ""
                rows.append((method, path, target + auth))
        for prefix, function_id in sorted(self.url_mounts):
            rows.append(("*", prefix + "/**", f"{function_id}  [function URL]"))
        return rows


def _rule(path: str) -> str:
    parts = [p for p in path.split("/") if p]
    return "/" + "/".join(
        f"<path:{p[1:-2]}>" if p.endswith("+}") else f"<{p[1:-1]}>" if p[0] == "{" else p
        for p in parts
    )
