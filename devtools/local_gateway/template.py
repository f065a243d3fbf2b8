"""A SAM template as the local gateway serves it, expanded by the AWS SAM translator.

``aws-sam-translator`` (what ``sam validate`` and CloudFormation's transform run) turns the SAM
template into CloudFormation: Globals merged, the implicit and explicit REST APIs as OpenAPI
bodies (routes, authorizers, CORS preflight mocks), function URLs and layers. Its intrinsics
resolver then fills ``Ref``/``Fn::Sub``/``Fn::GetAtt`` with parameters, pseudo parameters and
what the local stack names each resource (its logical id, and an ARN built on it).
"""

from __future__ import annotations

import copy
import functools
import hashlib
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from samtranslator.intrinsics.actions import RefAction, SubAction
from samtranslator.intrinsics.resolver import IntrinsicsResolver
from samtranslator.model.exceptions import InvalidDocumentException
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator
from samtranslator.yaml_helper import yaml_parse

from .gateway_responses import GatewayResponse, read_gateway_responses

ACCOUNT_ID = "123456789012"
LOCAL_BUCKET = "local-code"  # CodeUri/ContentUri become s3://local-code/<local path>
ARNS = {  # what ``!GetAtt X.Arn`` gives, by type; others: arn:aws:<service>:<region>:<account>:<id>
    "AWS::Lambda::Function": "lambda:{r}:{a}:function:{id}",
    "AWS::DynamoDB::Table": "dynamodb:{r}:{a}:table/{id}",
    "AWS::IAM::Role": "iam::{a}:role/{id}",
    "AWS::Logs::LogGroup": "logs:{r}:{a}:log-group:{id}:*",
}
logging.getLogger("samtranslator").setLevel(logging.ERROR)


class TemplateError(Exception):
    """The template cannot be read, translated, or a value in it resolved locally."""


@dataclass(frozen=True)
class AuthorizerConfig:
    """A Lambda authorizer as API Gateway reads it (``x-amazon-apigateway-authorizer``)."""

    name: str
    function_id: str | None
    payload_type: str  # "TOKEN" or "REQUEST"
    identity_headers: tuple[str, ...] = ()
    identity_query_strings: tuple[str, ...] = ()
    validation_expression: str | None = None


@dataclass
class ApiConfig:
    logical_id: str
    stage: str
    api_id: str
    binary_media_types: tuple[str, ...] = ()
    authorizers: dict[str, AuthorizerConfig] = field(default_factory=dict)
    gateway_responses: dict[str, GatewayResponse] = field(default_factory=dict)


@dataclass(frozen=True)
class ApiRoute:
    """One method of one resource: a Lambda proxy integration, or the CORS mock (no function)."""

    api_logical_id: str
    path: str
    method: str  # upper case, "ANY" for x-amazon-apigateway-any-method
    function_id: str | None
    authorizer: str | None
    mock_headers: tuple[tuple[str, str], ...] = ()


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
    url_paths: tuple[str, ...] = ()  # where its function URL is mounted locally
    problems: list[str] = field(default_factory=list)  # reasons it cannot run locally

    @property
    def python_paths(self) -> list[str]:
        """sys.path entries of the execution environment: code, then each layer."""
        paths = [str(self.code_dir)]
        for layer in self.layer_dirs:
            paths += [str(layer)] + ([str(layer / "python")] if (layer / "python").is_dir() else [])
        return paths


@dataclass
class WebSocketApi:
    """A WebSocket API (``AWS::ApiGatewayV2::Api``, ProtocolType WEBSOCKET): its stage and the
    function behind each route key (``$connect``, ``$disconnect``...)."""

    logical_id: str
    api_id: str
    stage: str = ""
    routes: dict[str, str] = field(default_factory=dict)


@dataclass
class App:
    template_path: Path
    functions: dict[str, FunctionConfig]
    apis: dict[str, ApiConfig]
    routes: list[ApiRoute]  # Lambda proxy integrations
    warnings: list[str]
    symbols: dict[str, Any]
    preflights: list[ApiRoute] = field(default_factory=list)  # CORS mocks
    websockets: dict[str, WebSocketApi] = field(default_factory=dict)

    def resolve(self, value: Any) -> Any:
        """``value`` with every Ref/Sub/GetAtt the local stack can answer resolved."""
        resolver = IntrinsicsResolver(self.symbols, {"Ref": RefAction(), "Fn::Sub": SubAction()})
        return _finish(resolver.resolve_parameter_refs(copy.deepcopy(value)), self.symbols)


def _finish(value: Any, symbols: Mapping[str, Any]) -> Any:
    """What the translator's resolver leaves half-done: GetAtt, and Sub without references."""
    if isinstance(value, list):
        return [_finish(item, symbols) for item in value]
    if not isinstance(value, dict):
        return value
    value = {key: _finish(item, symbols) for key, item in value.items()}
    if list(value) == ["Fn::GetAtt"] and ".".join(map(str, value["Fn::GetAtt"])) in symbols:
        return symbols[".".join(map(str, value["Fn::GetAtt"]))]
    sub = value.get("Fn::Sub") if len(value) == 1 else None
    if isinstance(sub, str) and not re.search(r"\$\{[^!]", sub):
        return sub.replace("${!", "${")
    return value


def local_api_id(logical_id: str) -> str:
    """A stable, API-Gateway-looking id (10 lowercase alphanumerics) for an API logical id."""
    return hashlib.sha256(logical_id.encode()).hexdigest()[:10]


@functools.lru_cache(maxsize=8)
def _parse(path: Path, _version: tuple[int, int]) -> dict[str, Any]:
    data = yaml_parse(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        raise TemplateError(f"template {path} is not a mapping")
    return data


def load_template(path: Path) -> dict[str, Any]:
    """Read a SAM template (short-form tags as their long forms); a copy per caller."""
    try:
        stat = path.stat()
        return copy.deepcopy(_parse(path, (stat.st_mtime_ns, stat.st_size)))
    except (OSError, ValueError) as exc:
        raise TemplateError(f"cannot read template {path}: {exc}") from exc


def translate(template: dict[str, Any], parameters: Mapping[str, str], region: str) -> Any:
    """SAM -> CloudFormation, offline: no plugins, no managed policy look-up, local code paths."""
    for resource in (template.get("Resources") or {}).values():
        props = resource.get("Properties") or {}
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str):
                props[key] = f"s3://{LOCAL_BUCKET}/{props[key]}"
    translator = Translator(
        {}, Parser(), plugins=[], boto_session=boto3.Session(region_name=region)
    )
    try:
        return translator.translate(template, parameter_values=dict(parameters))
    except InvalidDocumentException as exc:
        causes = "; ".join(str(cause) for cause in exc.causes)
        raise TemplateError(f"template does not translate: {causes}") from exc


def load_app(
    template_path: str | os.PathLike[str],
    parameter_overrides: Mapping[str, str] | None = None,
    region: str = "us-east-1",
) -> App:
    """Read ``template_path`` and work out functions, APIs and routes (nothing is started)."""
    path = Path(template_path).resolve()
    source = load_template(path)
    overrides = dict(parameter_overrides or {})
    declared = source.get("Parameters") or {}
    if unknown := sorted(set(overrides) - set(declared)):
        raise TemplateError(f"parameter override(s) not declared in the template: {unknown}")
    resources = translate(copy.deepcopy(source), overrides, region)["Resources"]
    symbols = _symbols(declared, overrides, resources, region)
    app = App(path, {}, {}, [], [], symbols)
    urls = {
        url["Properties"]["TargetFunctionArn"]["Ref"]: url["Properties"]
        for url in resources.values()
        if url["Type"] == "AWS::Lambda::Url"
    }
    if cors := [name for name, url in urls.items() if url.get("Cors")]:
        app.warnings.append(f"function URL Cors of {cors} is not applied locally")
    for logical_id, resource in resources.items():
        kind, props = resource["Type"], resource.get("Properties") or {}
        if kind == "AWS::Lambda::Function":
            metadata = (source["Resources"].get(logical_id) or {}).get("Metadata") or {}
            props = {**props, "MemorySize": app.resolve(props.get("MemorySize", 128))}
            app.functions[logical_id] = _function(logical_id, props, resources, path.parent)
            app.functions[logical_id].url_paths = tuple(_url_paths(logical_id, metadata, urls))
        elif kind == "AWS::ApiGateway::Stage":
            api_id = str(props["RestApiId"]["Ref"])
            _add_api(app, api_id, app.resolve(props["StageName"]), resources[api_id]["Properties"])
        elif kind == "AWS::ApiGatewayV2::Api" and props.get("ProtocolType") == "WEBSOCKET":
            app.websockets[logical_id] = WebSocketApi(logical_id, local_api_id(logical_id))
        elif kind.startswith("AWS::ApiGatewayV2::Api"):
            app.warnings.append(f"{logical_id}: HTTP APIs are not served by the local gateway")
    _add_websocket_routes(app, resources)
    for name, function in app.functions.items():
        app.warnings += [f"{name}: cannot run locally: {problem}" for problem in function.problems]
    return app


def _add_websocket_routes(app: App, resources: Mapping[str, Any]) -> None:
    """Each WebSocket route's function (through its integration's URI) and each API's stage."""
    for logical_id, resource in resources.items():
        kind, props = resource["Type"], resource.get("Properties") or {}
        api = app.websockets.get(str((props.get("ApiId") or {}).get("Ref")))
        if api is None:
            continue
        if kind == "AWS::ApiGatewayV2::Stage":
            api.stage = str(app.resolve(props.get("StageName")))
        elif kind == "AWS::ApiGatewayV2::Route":
            target = str(app.resolve(props.get("Target") or ""))
            integration = resources.get(target.removeprefix("integrations/"), {})
            uri = str(app.resolve((integration.get("Properties") or {}).get("IntegrationUri")))
            function = re.search(r"function:(\w+)", uri)
            if function is None:
                app.warnings.append(f"{logical_id}: only Lambda proxy routes are served locally")
            else:
                api.routes[str(props["RouteKey"])] = function.group(1)


def _symbols(
    declared: Mapping[str, Any],
    overrides: Mapping[str, str],
    resources: Mapping[str, Any],
    region: str,
) -> dict[str, Any]:
    symbols: dict[str, Any] = {
        "AWS::Region": region,
        "AWS::AccountId": ACCOUNT_ID,
        "AWS::Partition": "aws",
        "AWS::URLSuffix": "amazonaws.com",
        "AWS::StackName": "local",
    }
    for name, declaration in declared.items():
        value = overrides.get(name, (declaration or {}).get("Default"))
        if value is not None:
            symbols[name] = str(value).lower() if isinstance(value, bool) else str(value)
    for logical_id, resource in resources.items():
        kind = str(resource["Type"])
        symbols[logical_id] = local_api_id(logical_id) if "RestApi" in kind else logical_id
        if kind == "AWS::Lambda::Alias":  # its Ref is its ARN: the function's, qualified
            props = resource["Properties"]
            function = props["FunctionName"]["Ref"]
            symbols[logical_id] = (
                f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{function}:{props['Name']}"
            )
        arn = ARNS.get(kind, kind.split("::")[1].lower() + ":{r}:{a}:{id}")
        symbols[f"{logical_id}.Arn"] = "arn:aws:" + arn.format(
            r=region, a=ACCOUNT_ID, id=logical_id
        )
    return symbols


def _local_dir(code: Any, base_dir: Path) -> Path | None:
    if isinstance(code, dict) and code.get("S3Bucket") == LOCAL_BUCKET:
        return (base_dir / str(code["S3Key"])).resolve()
    return None


def _function(
    logical_id: str, props: dict[str, Any], resources: Mapping[str, Any], base_dir: Path
) -> FunctionConfig:
    problems: list[str] = []
    runtime, handler = str(props.get("Runtime", "")), str(props.get("Handler", ""))
    if props.get("PackageType") == "Image" or not runtime.startswith("python"):
        problems.append(f"runtime {runtime or props.get('PackageType')!r} is not supported")
    code_dir = _local_dir(props.get("Code"), base_dir)
    if code_dir is None or not code_dir.is_dir():
        problems.append(f"CodeUri {code_dir or 'InlineCode/S3'} is not a local directory")
    layers = [resources.get(layer.get("Ref"), {}) for layer in props.get("Layers") or []]
    layer_dirs = [
        _local_dir(layer.get("Properties", {}).get("Content"), base_dir) for layer in layers
    ]
    return FunctionConfig(
        logical_id=logical_id,
        code_dir=code_dir or base_dir,
        handler=handler,
        runtime=runtime,
        timeout=int(props.get("Timeout", 3)),
        memory_size=int(props.get("MemorySize", 128)),
        layer_dirs=[layer for layer in layer_dirs if layer is not None],
        environment=dict((props.get("Environment") or {}).get("Variables") or {}),
        problems=problems,
    )


def _url_paths(logical_id: str, metadata: Mapping[str, Any], urls: Mapping[str, Any]) -> list[str]:
    """Mounts of the function's URL: /_function_urls/<id>, and Metadata LocalGateway.Path."""
    if logical_id not in urls:
        return []
    local_path = (metadata.get("LocalGateway") or {}).get("Path")
    return ([f"/{local_path.strip('/')}"] if local_path else []) + [f"/_function_urls/{logical_id}"]


def _add_api(app: App, logical_id: str, stage: str, props: Mapping[str, Any]) -> None:
    body = app.resolve(props.get("Body") or {})
    binary = props.get("BinaryMediaTypes") or body.get("x-amazon-apigateway-binary-media-types")
    api = ApiConfig(logical_id, str(stage), local_api_id(logical_id))
    api.binary_media_types = tuple(t.replace("~1", "/") for t in binary or ())
    schemes = body.get("securityDefinitions") or body.get("components", {}).get("securitySchemes")
    api.authorizers = {name: _authorizer(name, scheme) for name, scheme in (schemes or {}).items()}
    api.gateway_responses = read_gateway_responses(body, logical_id, app.warnings)
    app.apis[logical_id] = api
    for path, methods in (body.get("paths") or {}).items():
        for method, operation in methods.items():
            route = _route(api, path, method, operation)
            (app.routes if route.function_id else app.preflights).append(route)


def _route(api: ApiConfig, path: str, method: str, operation: Mapping[str, Any]) -> ApiRoute:
    integration = operation.get("x-amazon-apigateway-integration") or {}
    function = re.search(r"functions/arn:aws:lambda:.*:function:(\w+)", str(integration.get("uri")))
    mock = integration.get("responses", {}).get("default", {}).get("responseParameters", {})
    security = [name for entry in operation.get("security") or [] for name in entry]
    return ApiRoute(
        api_logical_id=api.logical_id,
        path=path,
        method="ANY" if method == "x-amazon-apigateway-any-method" else method.upper(),
        function_id=function.group(1) if function else None,
        authorizer=next((name for name in security if name in api.authorizers), None),
        mock_headers=tuple(
            (name.removeprefix("method.response.header."), str(value).strip("'"))
            for name, value in mock.items()
        ),
    )


def _authorizer(name: str, scheme: Mapping[str, Any]) -> AuthorizerConfig:
    config = scheme.get("x-amazon-apigateway-authorizer") or {}
    function = re.search(r"function:(\w+)", str(config.get("authorizerUri")))
    if config.get("type") not in ("token", "request") or function is None:
        return AuthorizerConfig(name, None, "")  # not a Lambda authorizer: a 500, as misconfigured
    sources = [s.strip() for s in str(config.get("identitySource") or "").split(",")]
    token = (str(scheme.get("name")),)  # a TOKEN authorizer's header: the apiKey scheme's name

    def names(prefix: str) -> tuple[str, ...]:
        return tuple(s.removeprefix(prefix) for s in sources if s.startswith(prefix))

    return AuthorizerConfig(
        name=name,
        function_id=function.group(1),
        payload_type=str(config["type"]).upper(),
        identity_headers=token if config["type"] == "token" else names("method.request.header."),
        identity_query_strings=names("method.request.querystring."),
        validation_expression=config.get("identityValidationExpression"),
    )
