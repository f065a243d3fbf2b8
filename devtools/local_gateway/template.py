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

ACCOUNT_ID = "123456789012"
LOCAL_BUCKET = "local-code"  # CodeUri/ContentUri become s3://local-code/<local path>
PROXY = re.compile(r"\{([^}+]+)(\+?)\}")
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
    problem: str | None = None


@dataclass
class ApiConfig:
    logical_id: str
    stage: str
    api_id: str
    binary_media_types: tuple[str, ...] = ()
    authorizers: dict[str, AuthorizerConfig] = field(default_factory=dict)


@dataclass(frozen=True)
class ApiRoute:
    """One method of one resource: a Lambda proxy integration, or the CORS mock (no function)."""

    api_logical_id: str
    path: str
    method: str  # upper case, "ANY" for x-amazon-apigateway-any-method
    function_id: str | None
    authorizer: str | None
    mock_headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class FunctionUrlConfig:
    cors: dict[str, Any] | None
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

    @property
    def python_paths(self) -> list[str]:
        """sys.path entries of the execution environment: code, then each layer."""
        paths = [str(self.code_dir)]
        for layer in self.layer_dirs:
            paths += [str(layer)] + ([str(layer / "python")] if (layer / "python").is_dir() else [])
        return paths


@dataclass
class App:
    template_path: Path
    functions: dict[str, FunctionConfig]
    apis: dict[str, ApiConfig]
    routes: list[ApiRoute]  # Lambda proxy integrations
    warnings: list[str]
    symbols: dict[str, Any]
    preflights: list[ApiRoute] = field(default_factory=list)  # CORS mocks

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
    number, chars = int(hashlib.sha256(logical_id.encode()).hexdigest(), 16), ""
    for _ in range(10):
        number, index = divmod(number, 36)
        chars += "abcdefghijklmnopqrstuvwxyz0123456789"[index]
    return chars


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
    for logical_id, resource in resources.items():
        kind, props = resource["Type"], resource.get("Properties") or {}
        if kind == "AWS::Lambda::Function":
            metadata = (source["Resources"].get(logical_id) or {}).get("Metadata") or {}
            app.functions[logical_id] = _function(logical_id, props, resources, path.parent)
            app.functions[logical_id].function_url = _function_url(logical_id, metadata, resources)
        elif kind == "AWS::ApiGateway::Stage":
            api_id = str(props["RestApiId"]["Ref"])
            _add_api(app, api_id, app.resolve(props["StageName"]), resources[api_id]["Properties"])
        elif kind.startswith("AWS::ApiGatewayV2::Api"):
            app.warnings.append(f"{logical_id}: HTTP APIs are not served by the local gateway")
    for function in app.functions.values():
        app.warnings += [
            f"{function.logical_id}: cannot run locally: {p}" for p in function.problems
        ]
    return app


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
    layers = [resources.get(layer.get("Ref")) for layer in props.get("Layers") or []]
    layer_dirs = [
        _local_dir((layer or {}).get("Properties", {}).get("Content"), base_dir) for layer in layers
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


def _function_url(
    logical_id: str, metadata: Mapping[str, Any], resources: Mapping[str, Any]
) -> FunctionUrlConfig | None:
    urls = [
        r["Properties"]
        for r in resources.values()
        if r["Type"] == "AWS::Lambda::Url"
        and r["Properties"]["TargetFunctionArn"] == {"Ref": logical_id}
    ]
    if not urls:
        return None
    mounts = [f"/_function_urls/{logical_id}"]
    if local_path := (metadata.get("LocalGateway") or {}).get("Path"):
        mounts.insert(0, "/" + str(local_path).strip("/"))
    return FunctionUrlConfig(urls[0].get("Cors"), tuple(mounts))


def _add_api(app: App, logical_id: str, stage: str, props: Mapping[str, Any]) -> None:
    body = app.resolve(props.get("Body") or {})
    binary = (
        props.get("BinaryMediaTypes") or body.get("x-amazon-apigateway-binary-media-types") or []
    )
    api = ApiConfig(
        logical_id,
        str(stage),
        local_api_id(logical_id),
        tuple(t.replace("~1", "/") for t in binary),
    )
    schemes = {
        **(body.get("securityDefinitions") or {}),
        **(body.get("components") or {}).get("securitySchemes", {}),
    }
    for name, scheme in schemes.items():
        api.authorizers[name] = _authorizer(name, scheme)
    app.apis[logical_id] = api
    for path, methods in (body.get("paths") or {}).items():
        for method, operation in methods.items():
            integration = operation.get("x-amazon-apigateway-integration") or {}
            function = re.search(
                r"functions/arn:aws:lambda:[^:]+:\d+:function:(\w+)", str(integration.get("uri"))
            )
            mock = (
                (integration.get("responses") or {})
                .get("default", {})
                .get("responseParameters", {})
            )
            chosen = [
                n
                for entry in operation.get("security") or []
                for n in entry
                if n in api.authorizers
            ]
            if any(n == "AWS_IAM" for entry in operation.get("security") or [] for n in entry):
                app.warnings.append(
                    f"{logical_id} {method.upper()} {path}: AWS_IAM is not enforced"
                )
            route = ApiRoute(
                api_logical_id=logical_id,
                path=path,
                method="ANY" if method == "x-amazon-apigateway-any-method" else method.upper(),
                function_id=function.group(1) if function else None,
                authorizer=chosen[0] if chosen else None,
                mock_headers=tuple(
                    (k.removeprefix("method.response.header."), str(v).strip("'"))
                    for k, v in mock.items()
                ),
            )
            (app.routes if route.function_id else app.preflights).append(route)


def _authorizer(name: str, scheme: Mapping[str, Any]) -> AuthorizerConfig:
    config = scheme.get("x-amazon-apigateway-authorizer") or {}
    function = re.search(r"function:(\w+)", str(config.get("authorizerUri")))
    if config.get("type") not in ("token", "request") or function is None:
        return AuthorizerConfig(name, None, "", problem="only Lambda authorizers run locally")
    sources = [s.strip() for s in str(config.get("identitySource") or "").split(",") if s.strip()]

    def names(prefix: str) -> tuple[str, ...]:
        return tuple(s.removeprefix(prefix) for s in sources if s.startswith(prefix))

    return AuthorizerConfig(
        name=name,
        function_id=function.group(1),
        payload_type=str(config["type"]).upper(),
        # a TOKEN authorizer's header is the scheme's name (OpenAPI apiKey "in: header")
        identity_headers=(str(scheme["name"]),)
        if config["type"] == "token"
        else names("method.request.header."),
        identity_query_strings=names("method.request.querystring."),
        validation_expression=config.get("identityValidationExpression"),
    )


def validate_env_overrides(overrides: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """Check the ``--env-vars`` shape: every top-level value must be a mapping."""
    for key, value in overrides.items():
        if not isinstance(value, dict):
            raise TemplateError(f"env vars: {key!r} must map variable names to values")
    return {str(key): value for key, value in overrides.items()}


def _env_str(value: Any) -> str:
    return "" if value is None else str(value).lower() if isinstance(value, bool) else str(value)


def resolve_environment(
    app: App, function_id: str, overrides: Mapping[str, Mapping[str, Any]] | None = None
) -> dict[str, str]:
    """Template-declared variables of a function, resolved, with ``--env-vars`` overrides.

    As with ``sam local``, overrides only apply to variables the template declares:
    ``Parameters`` applies to every function, the function's own section wins over it.
    """
    overrides = overrides or {}
    shared, specific = overrides.get("Parameters") or {}, overrides.get(function_id) or {}
    resolved: dict[str, str] = {}
    for name, raw in app.functions[function_id].environment.items():
        value = specific.get(name, shared.get(name, app.resolve(raw)))
        if isinstance(value, (dict, list)):
            raise TemplateError(
                f"function {function_id}: environment variable {name}: {value!r} cannot be "
                "resolved locally (override it in the env vars file)"
            )
        resolved[name] = _env_str(value)
    return resolved
