"""Matching request paths to API resources and function URL mounts, like API Gateway."""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import unquote

from .model import HTTP_METHODS, ApiConfig, ApiRoute, App

STATIC, PARAM, GREEDY = 0, 1, 2


@dataclass(frozen=True)
class Segment:
    kind: int
    value: str  # literal text, or the parameter name


def parse_path(path: str) -> tuple[Segment, ...]:
    segments: list[Segment] = []
    for part in [p for p in path.strip("/").split("/") if p]:
        if part.startswith("{") and part.endswith("+}"):
            segments.append(Segment(GREEDY, part[1:-2]))
        elif part.startswith("{") and part.endswith("}"):
            segments.append(Segment(PARAM, part[1:-1]))
        else:
            segments.append(Segment(STATIC, part))
    return tuple(segments)


def split_request_path(path: str) -> list[str]:
    """Decoded, non-empty segments of a request path."""
    return [unquote(p) for p in path.split("/") if p]


@dataclass
class Resource:
    """An API Gateway resource: one path of one API, with its methods."""

    api: ApiConfig
    path: str
    segments: tuple[Segment, ...]
    methods: dict[str, ApiRoute] = field(default_factory=dict)

    @property
    def specificity(self) -> tuple[int, ...]:
        return tuple(segment.kind for segment in self.segments)

    def match(self, parts: list[str]) -> dict[str, str] | None:
        params: dict[str, str] = {}
        for index, segment in enumerate(self.segments):
            if segment.kind == GREEDY:
                rest = parts[index:]
                if not rest:
                    return None
                params[segment.value] = "/".join(rest)
                return params
            if index >= len(parts):
                return None
            if segment.kind == STATIC and segment.value != parts[index]:
                return None
            if segment.kind == PARAM:
                params[segment.value] = parts[index]
        return params if len(parts) == len(self.segments) else None

    def allowed_methods(self) -> str:
        """The default ``Access-Control-Allow-Methods`` SAM generates for this path."""
        methods = set(self.methods)
        if "ANY" in methods:
            methods = set(HTTP_METHODS)
        methods.add("OPTIONS")
        return ",".join(sorted(methods))


@dataclass(frozen=True)
class ApiMatch:
    resource: Resource
    route: ApiRoute | None  # None: the CORS preflight mock of the API
    path_parameters: dict[str, str]


@dataclass(frozen=True)
class UrlMount:
    prefix: str
    function_id: str


@dataclass(frozen=True)
class UrlMatch:
    mount: UrlMount
    sub_path: str  # path as the function URL would see it (starts with "/")


class Router:
    def __init__(self, app: App) -> None:
        self.warnings: list[str] = []
        by_key: dict[tuple[str, str], Resource] = {}
        for route in app.routes:
            key = (route.api_logical_id, route.path)
            resource = by_key.get(key)
            if resource is None:
                api = app.apis[route.api_logical_id]
                resource = Resource(api, route.path, parse_path(route.path))
                by_key[key] = resource
            existing = resource.methods.get(route.method)
            if existing is not None:
                self.warnings.append(
                    f"{route.method} {route.path} is declared by {existing.function_id} and "
                    f"{route.function_id}; serving {existing.function_id}"
                )
                continue
            resource.methods[route.method] = route
        # Most specific first: literal segments beat {param}, which beats {proxy+}.
        self.resources = sorted(by_key.values(), key=lambda r: r.specificity)
        mounts: list[UrlMount] = []
        for function in app.functions.values():
            if function.function_url is not None:
                for prefix in function.function_url.mount_paths:
                    mounts.append(UrlMount(prefix.rstrip("/") or "/", function.logical_id))
        self.url_mounts = sorted(mounts, key=lambda m: len(m.prefix), reverse=True)

    def match_api(self, path: str, method: str) -> ApiMatch | None:
        parts = split_request_path(path)
        method = method.upper()
        for resource in self.resources:
            params = resource.match(parts)
            if params is None:
                continue
            if method in resource.methods:
                return ApiMatch(resource, resource.methods[method], params)
            if method == "OPTIONS" and resource.api.cors is not None:
                return ApiMatch(resource, None, params)
            if "ANY" in resource.methods:
                return ApiMatch(resource, resource.methods["ANY"], params)
        return None

    def match_url(self, path: str) -> UrlMatch | None:
        for mount in self.url_mounts:
            if mount.prefix == "/":
                return UrlMatch(mount, path or "/")
            if path == mount.prefix or path.startswith(mount.prefix + "/"):
                return UrlMatch(mount, path[len(mount.prefix) :] or "/")
        return None

    def is_mounted(self, path: str) -> bool:
        parts = split_request_path(path)
        if any(resource.match(parts) is not None for resource in self.resources):
            return True
        return self.match_url(path) is not None

    def table(self) -> list[tuple[str, str, str]]:
        """(method, path, target) rows for the startup banner."""
        rows: list[tuple[str, str, str]] = []
        for resource in sorted(self.resources, key=lambda r: (r.path, r.api.logical_id)):
            for method, route in sorted(resource.methods.items()):
                target = route.function_id
                if route.authorizer:
                    target += f"  [authorizer: {route.authorizer}]"
                rows.append((method, resource.path, target))
            if resource.api.cors is not None and "OPTIONS" not in resource.methods:
                target = f"CORS preflight ({resource.api.logical_id})"
                rows.append(("OPTIONS", resource.path, target))
        for mount in sorted(self.url_mounts, key=lambda m: m.prefix):
            path = mount.prefix.rstrip("/") + "/**"
            rows.append(("*", path, f"{mount.function_id}  [function URL]"))
        return rows
