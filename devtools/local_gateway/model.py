"""The parts of a SAM application a local gateway serves: functions, APIs, routes, URLs."""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .cfn import (
    NO_VALUE,
    IntrinsicError,
    Resolver,
    TemplateError,
    is_intrinsic,
    load_template,
    local_api_id,
    parameter_values,
)

SERVERLESS_FUNCTION = "AWS::Serverless::Function"
SERVERLESS_API = "AWS::Serverless::Api"
LAYER_TYPES = ("AWS::Serverless::LayerVersion", "AWS::Lambda::LayerVersion")
IMPLICIT_API_ID = "ServerlessRestApi"
HTTP_METHODS = ("DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT")
DEFAULT_TIMEOUT = 3
DEFAULT_MEMORY = 128


@dataclass(frozen=True)
class CorsConfig:
    """CORS of an ``AWS::Serverless::Api`` (quotes already stripped) or a function URL."""

    allow_origins: tuple[str, ...]
    allow_headers: str | None = None
    allow_methods: str | None = None
    max_age: str | None = None
    allow_credentials: bool = False
    expose_headers: str | None = None


@dataclass(frozen=True)
class AuthorizerConfig:
    """A Lambda TOKEN or REQUEST authorizer declared under ``Auth: Authorizers``."""

    name: str
    function_id: str | None
    payload_type: str  # "TOKEN" or "REQUEST"
    token_header: str = "Authorization"  # noqa: S105 - a header name
    validation_expression: str | None = None
    identity_headers: tuple[str, ...] = ()
    identity_query_strings: tuple[str, ...] = ()
    problem: str | None = None


@dataclass
class ApiConfig:
    logical_id: str
    stage: str
    api_id: str
    cors: CorsConfig | None = None
    binary_media_types: tuple[str, ...] = ()
    authorizers: dict[str, AuthorizerConfig] = field(default_factory=dict)
    default_authorizer: str | None = None
    authorize_cors_preflight: bool = True


@dataclass(frozen=True)
class ApiRoute:
    """One ``Type: Api`` event: (path, method) on an API served by a function."""

    api_logical_id: str
    path: str
    method: str  # upper case, "ANY" for any
    function_id: str
    event_name: str
    authorizer: str | None


@dataclass(frozen=True)
class FunctionUrlConfig:
    auth_type: str
    cors: CorsConfig | None
    mount_paths: tuple[str, ...]


@dataclass
class FunctionConfig:
    logical_id: str
    code_dir: Path
    handler: str
    runtime: str
    timeout: int
    memory_size: int
    layer_dirs: list[Path]
    environment: dict[str, Any]  # declared variables, unresolved
    function_url: FunctionUrlConfig | None = None
    problems: list[str] = field(default_factory=list)  # reasons it cannot run locally
    notes: list[str] = field(default_factory=list)  # runs, but differs from AWS

    @property
    def runnable(self) -> bool:
        return not self.problems

    @property
    def python_paths(self) -> list[str]:
        """sys.path entries of the execution environment: code, then each layer."""
        paths = [str(self.code_dir)]
        for layer in self.layer_dirs:
            paths.append(str(layer))
            if (layer / "python").is_dir():
                paths.append(str(layer / "python"))
        return paths


@dataclass
class App:
    template_path: Path
    template: dict[str, Any]
    resolver: Resolver
    functions: dict[str, FunctionConfig]
    apis: dict[str, ApiConfig]
    routes: list[ApiRoute]
    warnings: list[str]


# --------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------


def merge_globals(global_value: Any, local_value: Any) -> Any:
    """SAM's Globals rules: maps merge (local wins), lists concatenate, scalars: local wins."""
    if is_intrinsic(global_value) or is_intrinsic(local_value):
        return copy.deepcopy(local_value)
    if isinstance(global_value, dict) and isinstance(local_value, dict):
        merged = copy.deepcopy(global_value)
        for key, value in local_value.items():
            merged[key] = merge_globals(global_value[key], value) if key in merged else value
        return merged
    if isinstance(global_value, list) and isinstance(local_value, list):
        return copy.deepcopy(global_value) + copy.deepcopy(local_value)
    return copy.deepcopy(local_value)


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return value[1:-1]
    return value


def load_app(
    template_path: str | os.PathLike[str],
    parameter_overrides: Mapping[str, str] | None = None,
    region: str = "us-east-1",
) -> App:
    """Read ``template_path`` and work out functions, APIs and routes (nothing is started)."""
    path = Path(template_path).resolve()
    template = load_template(path)
    warnings: list[str] = []
    resources: dict[str, dict[str, Any]] = {
        name: value
        for name, value in (template.get("Resources") or {}).items()
        if isinstance(value, dict)
    }
    params = parameter_values(template.get("Parameters") or {}, dict(parameter_overrides or {}))
    globals_section = template.get("Globals") or {}
    function_globals = globals_section.get("Function") or {}
    api_globals = globals_section.get("Api") or {}

    merged_functions: dict[str, dict[str, Any]] = {}
    for logical_id, resource in resources.items():
        if resource.get("Type") == SERVERLESS_FUNCTION:
            props = resource.get("Properties") or {}
            merged_functions[logical_id] = merge_globals(function_globals, props)

    # Resources SAM generates implicitly, so that Ref/GetAtt on them resolve.
    all_resources = dict(resources)
    implicit_api_used = any(
        isinstance(event, dict)
        and event.get("Type") == "Api"
        and "RestApiId" not in (event.get("Properties") or {})
        for props in merged_functions.values()
        for event in (props.get("Events") or {}).values()
    )
    if implicit_api_used and IMPLICIT_API_ID not in all_resources:
        all_resources[IMPLICIT_API_ID] = {"Type": SERVERLESS_API, "Properties": {}}
    for logical_id, props in merged_functions.items():
        all_resources.setdefault(f"{logical_id}Role", {"Type": "AWS::IAM::Role"})
        if props.get("FunctionUrlConfig"):
            all_resources.setdefault(
                f"{logical_id}Url",
                {"Type": "AWS::Lambda::Url", "Properties": {"TargetFunctionRef": logical_id}},
            )

    resolver = Resolver(
        template=template, parameters=params, region=region, resources=all_resources
    )

    apis: dict[str, ApiConfig] = {}
    for logical_id, resource in all_resources.items():
        if resource.get("Type") == SERVERLESS_API:
            props = merge_globals(api_globals, resource.get("Properties") or {})
            apis[logical_id] = _api_config(logical_id, props, resolver, warnings)

    base_dir = path.parent
    functions: dict[str, FunctionConfig] = {}
    routes: list[ApiRoute] = []
    for logical_id, props in merged_functions.items():
        metadata = resources[logical_id].get("Metadata") or {}
        function = _function_config(logical_id, props, metadata, base_dir, resolver, resources)
        functions[logical_id] = function
        for problem in function.problems:
            warnings.append(f"{logical_id}: cannot run locally: {problem}")
        for note in function.notes:
            warnings.append(f"{logical_id}: {note}")
        for event_name, event in (props.get("Events") or {}).items():
            if not isinstance(event, dict):
                continue
            event_type = event.get("Type")
            if event_type == "Api":
                route = _api_route(logical_id, event_name, event, apis, resolver, warnings)
                if route is not None:
                    routes.append(route)
            elif event_type == "HttpApi":
                warnings.append(
                    f"{logical_id}.{event_name}: HttpApi events are not served by the local gateway"
                )

    for api in apis.values():
        for authorizer in api.authorizers.values():
            if authorizer.function_id and authorizer.function_id not in functions:
                warnings.append(
                    f"{api.logical_id}: authorizer {authorizer.name} references "
                    f"{authorizer.function_id}, which is not a function of this template"
                )
    return App(
        template_path=path,
        template=template,
        resolver=resolver,
        functions=functions,
        apis=apis,
        routes=routes,
        warnings=warnings,
    )


def _api_config(
    logical_id: str, props: dict[str, Any], resolver: Resolver, warnings: list[str]
) -> ApiConfig:
    stage = resolver.resolve_str(props["StageName"]) if "StageName" in props else "Prod"
    cors: CorsConfig | None = None
    raw_cors = props.get("Cors")
    if raw_cors is not None:
        resolved = resolver.resolve(raw_cors)
        if isinstance(resolved, str):
            resolved = {"AllowOrigin": resolved}
        if isinstance(resolved, dict):
            origin = _unquote(str(resolved.get("AllowOrigin", "'*'")))

            def optional(key: str, source: dict[str, Any] = resolved) -> str | None:
                value = source.get(key)
                return None if value is None else _unquote(str(value))

            cors = CorsConfig(
                allow_origins=(origin,),
                allow_headers=optional("AllowHeaders"),
                allow_methods=optional("AllowMethods"),
                max_age=optional("MaxAge"),
                allow_credentials=str(resolved.get("AllowCredentials", "")).lower() == "true",
            )
    binary = tuple(
        str(item).replace("~1", "/") for item in resolver.resolve(props.get("BinaryMediaTypes", []))
    )
    api = ApiConfig(
        logical_id=logical_id,
        stage=stage,
        api_id=local_api_id(logical_id),
        cors=cors,
        binary_media_types=binary,
    )
    auth = props.get("Auth") or {}
    if isinstance(auth, dict):
        for name, raw in (auth.get("Authorizers") or {}).items():
            api.authorizers[name] = _authorizer_config(name, raw, resolver)
        default = auth.get("DefaultAuthorizer")
        if default is not None:
            default_name = resolver.resolve_str(default)
            if default_name == "AWS_IAM":
                warnings.append(f"{logical_id}: AWS_IAM authorization is not enforced locally")
            elif default_name not in api.authorizers:
                raise TemplateError(
                    f"{logical_id}: DefaultAuthorizer {default_name!r} is not declared"
                )
            else:
                api.default_authorizer = default_name
        preflight = auth.get("AddDefaultAuthorizerToCorsPreflight", True)
        api.authorize_cors_preflight = str(resolver.resolve(preflight)).lower() != "false"
        for authorizer in api.authorizers.values():
            if authorizer.problem:
                warnings.append(f"{logical_id}: authorizer {authorizer.name}: {authorizer.problem}")
    return api


def _authorizer_config(name: str, raw: Any, resolver: Resolver) -> AuthorizerConfig:
    if not isinstance(raw, dict):
        return AuthorizerConfig(name, None, "TOKEN", problem="authorizer is not a mapping")
    if "UserPoolArn" in raw:
        return AuthorizerConfig(
            name, None, "COGNITO", problem="Cognito authorizers are not supported locally"
        )
    function_arn = raw.get("FunctionArn")
    function_id: str | None = None
    if isinstance(function_arn, dict) and "Fn::GetAtt" in function_arn:
        target = function_arn["Fn::GetAtt"]
        function_id = str(target[0] if isinstance(target, list) else target.split(".")[0])
    elif isinstance(function_arn, dict) and "Ref" in function_arn:
        function_id = str(function_arn["Ref"])
    if function_id is None:
        return AuthorizerConfig(
            name, None, "TOKEN", problem="FunctionArn must be !GetAtt <Function>.Arn locally"
        )
    payload_type = str(resolver.resolve(raw.get("FunctionPayloadType", "TOKEN"))).upper()
    identity = resolver.resolve(raw.get("Identity") or {})
    if not isinstance(identity, dict):
        identity = {}
    if payload_type == "TOKEN":
        return AuthorizerConfig(
            name=name,
            function_id=function_id,
            payload_type="TOKEN",
            token_header=str(identity.get("Header", "Authorization")),
            validation_expression=(
                str(identity["ValidationExpression"])
                if identity.get("ValidationExpression")
                else None
            ),
        )
    return AuthorizerConfig(
        name=name,
        function_id=function_id,
        payload_type="REQUEST",
        identity_headers=tuple(str(h) for h in identity.get("Headers") or ()),
        identity_query_strings=tuple(str(q) for q in identity.get("QueryStrings") or ()),
    )


def _api_route(
    function_id: str,
    event_name: str,
    event: dict[str, Any],
    apis: dict[str, ApiConfig],
    resolver: Resolver,
    warnings: list[str],
) -> ApiRoute | None:
    props = event.get("Properties") or {}
    raw_api = props.get("RestApiId")
    if raw_api is None:
        api_id = IMPLICIT_API_ID
    elif isinstance(raw_api, dict) and "Ref" in raw_api:
        api_id = str(raw_api["Ref"])
    else:
        api_id = str(resolver.resolve(raw_api))
    api = apis.get(api_id)
    if api is None:
        warnings.append(f"{function_id}.{event_name}: RestApiId {api_id!r} is not in the template")
        return None
    route_path = "/" + resolver.resolve_str(props.get("Path", "/")).strip("/")
    method = resolver.resolve_str(props.get("Method", "ANY")).upper()
    if method == "X-AMAZON-APIGATEWAY-ANY-METHOD":
        method = "ANY"
    authorizer = api.default_authorizer
    auth = props.get("Auth") or {}
    if isinstance(auth, dict) and "Authorizer" in auth:
        chosen = resolver.resolve_str(auth["Authorizer"])
        if chosen == "NONE":
            authorizer = None
        elif chosen == "AWS_IAM":
            warnings.append(f"{function_id}.{event_name}: AWS_IAM auth is not enforced locally")
            authorizer = None
        elif chosen not in api.authorizers:
            raise TemplateError(
                f"{function_id}.{event_name}: authorizer {chosen!r} is not declared on {api_id}"
            )
        else:
            authorizer = chosen
    return ApiRoute(api_id, route_path, method, function_id, event_name, authorizer)


def _function_config(
    logical_id: str,
    props: dict[str, Any],
    metadata: dict[str, Any],
    base_dir: Path,
    resolver: Resolver,
    resources: Mapping[str, dict[str, Any]],
) -> FunctionConfig:
    problems: list[str] = []
    notes: list[str] = []

    def text(key: str, default: str) -> str:
        try:
            return resolver.resolve_str(props.get(key, default))
        except IntrinsicError as exc:
            problems.append(f"{key}: {exc}")
            return default

    runtime = text("Runtime", "")
    handler = text("Handler", "")
    if str(props.get("PackageType", "Zip")) == "Image":
        problems.append("PackageType Image is not supported locally")
    if not runtime.startswith("python"):
        problems.append(f"runtime {runtime or '(none)'!r} is not supported (Python only)")
    if "." not in handler:
        problems.append(f"handler {handler!r} is not of the form module.function")
    code_uri = props.get("CodeUri")
    if isinstance(code_uri, str):
        code_dir = (base_dir / code_uri).resolve()
        if not code_dir.is_dir():
            problems.append(f"CodeUri {code_dir} is not a directory")
    else:
        code_dir = base_dir
        problems.append("CodeUri must be a local directory (InlineCode/S3 are not supported)")

    layer_dirs: list[Path] = []
    for layer in props.get("Layers") or []:
        layer_id = layer.get("Ref") if isinstance(layer, dict) else None
        layer_resource = resources.get(str(layer_id)) if layer_id else None
        if layer_resource is None or layer_resource.get("Type") not in LAYER_TYPES:
            notes.append(f"layer {layer!r} is not a layer of this template and is skipped")
            continue
        layer_props = layer_resource.get("Properties") or {}
        content = layer_props.get("ContentUri", layer_props.get("Content"))
        if not isinstance(content, str):
            notes.append(f"layer {layer_id} has no local ContentUri and is skipped")
            continue
        layer_dirs.append((base_dir / content).resolve())

    environment = (props.get("Environment") or {}).get("Variables") or {}
    if not isinstance(environment, dict):
        problems.append("Environment.Variables is not a mapping")
        environment = {}

    function_url: FunctionUrlConfig | None = None
    url_config = props.get("FunctionUrlConfig")
    if isinstance(url_config, dict):
        mounts: list[str] = []
        local_meta = metadata.get("LocalGateway") if isinstance(metadata, dict) else None
        if isinstance(local_meta, dict) and local_meta.get("Path"):
            mounts.append("/" + str(local_meta["Path"]).strip("/"))
        mounts.append(f"/_function_urls/{logical_id}")
        url_cors: CorsConfig | None = None
        raw_cors = resolver.resolve(url_config.get("Cors")) if url_config.get("Cors") else None
        if isinstance(raw_cors, dict):

            def joined(key: str, source: dict[str, Any] = raw_cors) -> str | None:
                value = source.get(key)
                if value is None:
                    return None
                return ",".join(str(v) for v in value) if isinstance(value, list) else str(value)

            origins = raw_cors.get("AllowOrigins") or []
            url_cors = CorsConfig(
                allow_origins=tuple(str(o) for o in origins),
                allow_headers=joined("AllowHeaders"),
                allow_methods=joined("AllowMethods"),
                max_age=joined("MaxAge"),
                allow_credentials=str(raw_cors.get("AllowCredentials", "")).lower() == "true",
                expose_headers=joined("ExposeHeaders"),
            )
        function_url = FunctionUrlConfig(
            auth_type=str(resolver.resolve(url_config.get("AuthType", "NONE"))),
            cors=url_cors,
            mount_paths=tuple(mounts),
        )
        if function_url.auth_type != "NONE":
            notes.append(f"function URL AuthType {function_url.auth_type} is not enforced")

    timeout_text = text("Timeout", str(DEFAULT_TIMEOUT))
    memory_text = text("MemorySize", str(DEFAULT_MEMORY))
    return FunctionConfig(
        logical_id=logical_id,
        code_dir=code_dir,
        handler=handler,
        runtime=runtime,
        timeout=int(float(timeout_text)),
        memory_size=int(float(memory_text)),
        layer_dirs=layer_dirs,
        environment=dict(environment),
        function_url=function_url,
        problems=problems,
        notes=notes,
    )


# --------------------------------------------------------------------------------------------
# Environment variables
# --------------------------------------------------------------------------------------------


def _env_str(value: Any) -> str:
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, (dict, list)):
        return ""
    return str(value)


def validate_env_overrides(overrides: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Check the ``--env-vars`` shape: every top-level value must be a mapping."""
    checked: dict[str, dict[str, Any]] = {}
    for key, value in overrides.items():
        if not isinstance(value, dict):
            raise TemplateError(
                f"env vars: {key!r} must map variable names to values, got {type(value).__name__}"
            )
        checked[str(key)] = value
    return checked


def resolve_environment(
    app: App, function_id: str, overrides: Mapping[str, Mapping[str, Any]] | None = None
) -> dict[str, str]:
    """Template-declared variables of a function, resolved, with ``--env-vars`` overrides.

    As with ``sam local``, overrides only apply to variables the template declares:
    ``Parameters`` applies to every function, the function's own section wins over it.
    """
    overrides = overrides or {}
    shared = overrides.get("Parameters") or {}
    specific = overrides.get(function_id) or {}
    function = app.functions[function_id]
    resolved: dict[str, str] = {}
    for name, raw in function.environment.items():
        if name in specific:
            resolved[name] = _env_str(specific[name])
            continue
        if name in shared:
            resolved[name] = _env_str(shared[name])
            continue
        try:
            value = app.resolver.resolve(raw)
        except IntrinsicError as exc:
            raise TemplateError(
                f"function {function_id}: environment variable {name}: {exc} "
                f"(override it in the env vars file)"
            ) from exc
        if value is NO_VALUE:
            continue
        if isinstance(value, (dict, list)):
            raise TemplateError(
                f"function {function_id}: environment variable {name} resolves to "
                f"{type(value).__name__} {value!r}, not a string"
            )
        resolved[name] = _env_str(value)
    return resolved
