"""CloudFormation/SAM template reading: YAML tags and intrinsic functions.

Only what a local gateway needs is implemented: enough to resolve function environment
variables, API stage names, CORS settings and authorizer references the way CloudFormation
would after deployment, with every resource named by its logical id.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ACCOUNT_ID = "123456789012"
PARTITION = "aws"
URL_SUFFIX = "amazonaws.com"


class TemplateError(Exception):
    """The template cannot be read or a value in it cannot be resolved locally."""


class IntrinsicError(TemplateError):
    """An intrinsic function cannot be resolved locally."""


# --------------------------------------------------------------------------------------------
# YAML loading
# --------------------------------------------------------------------------------------------

_SHORT_TAGS = {
    "Ref": "Ref",
    "Condition": "Condition",
    "GetAtt": "Fn::GetAtt",
}


# libyaml's parser when PyYAML was built with it: templates are parsed often (tests, tooling).
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class CfnLoader(_SafeLoader):  # type: ignore[valid-type,misc]
    """SafeLoader that understands the CloudFormation short-form tags (``!Ref``, ``!Sub`` ...)."""


# CloudFormation reads dates and times as plain strings.
CfnLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_tag(loader: CfnLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:  # pragma: no cover - PyYAML has no other node kinds
        raise TemplateError(f"unsupported YAML node for !{suffix}")
    key = _SHORT_TAGS.get(suffix, f"Fn::{suffix}")
    if key == "Fn::GetAtt" and isinstance(value, str):
        resource, _, attribute = value.partition(".")
        value = [resource, attribute]
    return {key: value}


CfnLoader.add_multi_constructor("!", _construct_tag)


_PARSED: dict[Path, tuple[tuple[int, int], dict[str, Any]]] = {}


def load_template(path: Path) -> dict[str, Any]:
    """Read a SAM/CloudFormation template (YAML or JSON) into plain Python data.

    Parsed once per file version; each caller gets its own copy to change at will.
    """
    try:
        stat = path.stat()
    except OSError as exc:
        raise TemplateError(f"cannot read template {path}: {exc}") from exc
    version = (stat.st_mtime_ns, stat.st_size)
    cached = _PARSED.get(path)
    if cached is None or cached[0] != version:
        cached = (version, _parse_template(path))
        _PARSED[path] = cached
    return copy.deepcopy(cached[1])


def _parse_template(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TemplateError(f"cannot read template {path}: {exc}") from exc
    loader = CfnLoader(text)
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as exc:
        raise TemplateError(f"cannot parse template {path}: {exc}") from exc
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise TemplateError(f"template {path} is not a mapping")
    return data


# --------------------------------------------------------------------------------------------
# Naming helpers shared by the resolver and the event builders
# --------------------------------------------------------------------------------------------


def local_api_id(logical_id: str) -> str:
    """A stable, API-Gateway-looking id (10 lowercase alphanumerics) for an API logical id."""
    digest = hashlib.sha256(logical_id.encode()).hexdigest()
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    number = int(digest, 16)
    chars = []
    for _ in range(10):
        number, index = divmod(number, len(alphabet))
        chars.append(alphabet[index])
    return "".join(chars)


def _arn(resource_type: str, name: str, region: str) -> str:
    p, r, a = PARTITION, region, ACCOUNT_ID
    known: dict[str, str] = {
        "AWS::DynamoDB::Table": f"arn:{p}:dynamodb:{r}:{a}:table/{name}",
        "AWS::Serverless::SimpleTable": f"arn:{p}:dynamodb:{r}:{a}:table/{name}",
        "AWS::Serverless::Function": f"arn:{p}:lambda:{r}:{a}:function:{name}",
        "AWS::Lambda::Function": f"arn:{p}:lambda:{r}:{a}:function:{name}",
        "AWS::Serverless::LayerVersion": f"arn:{p}:lambda:{r}:{a}:layer:{name}:1",
        "AWS::Lambda::LayerVersion": f"arn:{p}:lambda:{r}:{a}:layer:{name}:1",
        "AWS::SQS::Queue": f"arn:{p}:sqs:{r}:{a}:{name}",
        "AWS::SNS::Topic": f"arn:{p}:sns:{r}:{a}:{name}",
        "AWS::S3::Bucket": f"arn:{p}:s3:::{name}",
        "AWS::IAM::Role": f"arn:{p}:iam::{a}:role/{name}",
        "AWS::SecretsManager::Secret": f"arn:{p}:secretsmanager:{r}:{a}:secret:{name}",
        "AWS::SSM::Parameter": f"arn:{p}:ssm:{r}:{a}:parameter/{name}",
        "AWS::Events::EventBus": f"arn:{p}:events:{r}:{a}:event-bus/{name}",
        "AWS::Events::Rule": f"arn:{p}:events:{r}:{a}:rule/{name}",
        "AWS::StepFunctions::StateMachine": f"arn:{p}:states:{r}:{a}:stateMachine:{name}",
        "AWS::Serverless::StateMachine": f"arn:{p}:states:{r}:{a}:stateMachine:{name}",
        "AWS::Logs::LogGroup": f"arn:{p}:logs:{r}:{a}:log-group:{name}:*",
        "AWS::KMS::Key": f"arn:{p}:kms:{r}:{a}:key/{name}",
        "AWS::Lambda::Url": f"arn:{p}:lambda:{r}:{a}:function:{name}",
    }
    if resource_type in known:
        return known[resource_type]
    parts = resource_type.split("::")
    service = parts[1].lower() if len(parts) > 1 else "unknown"
    kind = parts[2].lower() if len(parts) > 2 else "resource"
    return f"arn:{p}:{service}:{r}:{a}:{kind}/{name}"


# --------------------------------------------------------------------------------------------
# Intrinsic function resolution
# --------------------------------------------------------------------------------------------


class _NoValue:
    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE = _NoValue()

_INTRINSIC_KEYS = frozenset(
    {
        "Ref",
        "Condition",
        "Fn::Sub",
        "Fn::GetAtt",
        "Fn::Join",
        "Fn::If",
        "Fn::Select",
        "Fn::Split",
        "Fn::Equals",
        "Fn::Not",
        "Fn::And",
        "Fn::Or",
        "Fn::FindInMap",
        "Fn::ImportValue",
        "Fn::Base64",
        "Fn::GetAZs",
        "Fn::Length",
        "Fn::ToJsonString",
        "Fn::Cidr",
        "Fn::Transform",
    }
)


def is_intrinsic(value: Any) -> bool:
    """True for a one-key mapping such as ``{"Ref": ...}`` or ``{"Fn::Sub": ...}``."""
    if not isinstance(value, dict) or len(value) != 1:
        return False
    (key,) = value
    return isinstance(key, str) and (key in _INTRINSIC_KEYS or key.startswith("Fn::"))


def parameter_values(parameters: Mapping[str, Any], overrides: Mapping[str, str]) -> dict[str, Any]:
    """Effective parameter values: override, else Default; Number as str, lists split."""
    values: dict[str, Any] = {}
    for name, declaration in parameters.items():
        declaration = declaration if isinstance(declaration, dict) else {}
        if name in overrides:
            raw: Any = overrides[name]
        elif "Default" in declaration:
            raw = declaration["Default"]
        else:
            continue
        param_type = str(declaration.get("Type", "String"))
        if param_type == "CommaDelimitedList" or param_type.startswith("List<"):
            if isinstance(raw, list):
                values[name] = [_scalar_str(item) for item in raw]
            else:
                values[name] = [item.strip() for item in _scalar_str(raw).split(",")]
        else:
            values[name] = _scalar_str(raw)
    unknown = sorted(set(overrides) - set(parameters))
    if unknown:
        raise TemplateError(f"parameter override(s) not declared in the template: {unknown}")
    return values


def _scalar_str(value: Any) -> str:
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@dataclass
class Resolver:
    """Resolves intrinsic functions against local stand-ins for deployed resources."""

    template: Mapping[str, Any]
    parameters: dict[str, Any]
    region: str
    stack_name: str = "local"
    resources: dict[str, dict[str, Any]] = field(default_factory=dict)
    function_url_base: Callable[[], str] | None = None
    _condition_cache: dict[str, bool] = field(default_factory=dict)

    # -- public ---------------------------------------------------------------------------

    def resolve(self, value: Any) -> Any:
        """Resolve every intrinsic inside ``value``; ``NO_VALUE`` entries are dropped."""
        if isinstance(value, dict):
            if is_intrinsic(value):
                ((key, argument),) = value.items()
                return self._intrinsic(key, argument)
            out: dict[str, Any] = {}
            for key, item in value.items():
                resolved = self.resolve(item)
                if resolved is not NO_VALUE:
                    out[key] = resolved
            return out
        if isinstance(value, list):
            return [item for item in (self.resolve(i) for i in value) if item is not NO_VALUE]
        return value

    def resolve_str(self, value: Any) -> str:
        """Resolve ``value`` and require a scalar; returned as a string."""
        resolved = self.resolve(value)
        if isinstance(resolved, (dict, list)) or resolved is None or resolved is NO_VALUE:
            raise IntrinsicError(f"expected a string value, got {resolved!r}")
        return _scalar_str(resolved)

    def condition(self, name: str) -> bool:
        if name in self._condition_cache:
            return self._condition_cache[name]
        conditions = self.template.get("Conditions") or {}
        if name not in conditions:
            raise IntrinsicError(f"unknown condition {name!r}")
        result = self._truth(conditions[name])
        self._condition_cache[name] = result
        return result

    def ref(self, name: str) -> Any:
        if name in self.parameters:
            return self.parameters[name]
        pseudo = {
            "AWS::Region": self.region,
            "AWS::AccountId": ACCOUNT_ID,
            "AWS::Partition": PARTITION,
            "AWS::URLSuffix": URL_SUFFIX,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": (
                f"arn:{PARTITION}:cloudformation:{self.region}:{ACCOUNT_ID}:stack/"
                f"{self.stack_name}/00000000-0000-0000-0000-000000000000"
            ),
            "AWS::NotificationARNs": [],
        }
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in pseudo:
            return pseudo[name]
        template_params = self.template.get("Parameters") or {}
        if name in template_params:
            raise IntrinsicError(
                f"parameter {name!r} has no Default; pass it with --parameter-overrides"
            )
        resource = self.resources.get(name)
        if resource is None:
            raise IntrinsicError(f"Ref to unknown parameter or resource {name!r}")
        return self._ref_resource(name, str(resource.get("Type", "")))

    def get_att(self, logical_id: str, attribute: str) -> str:
        resource = self.resources.get(logical_id)
        if resource is None:
            raise IntrinsicError(f"Fn::GetAtt on unknown resource {logical_id!r}")
        rtype = str(resource.get("Type", ""))
        r, a = self.region, ACCOUNT_ID
        if attribute == "Arn":
            return _arn(rtype, logical_id, r)
        if rtype == "AWS::Lambda::Url" and attribute == "FunctionUrl":
            base = self.function_url_base() if self.function_url_base else "http://127.0.0.1"
            target = str(resource.get("Properties", {}).get("TargetFunctionRef", logical_id))
            return f"{base}/_function_urls/{target}/"
        if rtype == "AWS::Lambda::Url" and attribute == "FunctionArn":
            target = str(resource.get("Properties", {}).get("TargetFunctionRef", logical_id))
            return _arn("AWS::Lambda::Function", target, r)
        if rtype == "AWS::DynamoDB::Table" and attribute == "StreamArn":
            return f"{_arn(rtype, logical_id, r)}/stream/1970-01-01T00:00:00.000"
        if rtype == "AWS::SQS::Queue" and attribute == "QueueUrl":
            return f"https://sqs.{r}.{URL_SUFFIX}/{a}/{logical_id}"
        if rtype in ("AWS::Serverless::Api", "AWS::ApiGateway::RestApi") and (
            attribute == "RootResourceId"
        ):
            return hashlib.sha256(logical_id.encode()).hexdigest()[:10]
        if attribute.endswith("Name") or attribute == "Id":
            return logical_id
        raise IntrinsicError(f"Fn::GetAtt {logical_id}.{attribute} is not supported locally")

    # -- internals ------------------------------------------------------------------------

    def _ref_resource(self, logical_id: str, rtype: str) -> Any:
        r, a = self.region, ACCOUNT_ID
        if rtype == "AWS::SQS::Queue":
            return f"https://sqs.{r}.{URL_SUFFIX}/{a}/{logical_id}"
        if rtype in (
            "AWS::SNS::Topic",
            "AWS::SecretsManager::Secret",
            "AWS::StepFunctions::StateMachine",
            "AWS::Serverless::StateMachine",
            "AWS::Serverless::LayerVersion",
            "AWS::Lambda::LayerVersion",
        ):
            return _arn(rtype, logical_id, r)
        if rtype in ("AWS::Serverless::Api", "AWS::ApiGateway::RestApi"):
            return local_api_id(logical_id)
        return logical_id

    def _intrinsic(self, key: str, arg: Any) -> Any:
        handler = self._handlers().get(key)
        if handler is None:
            raise IntrinsicError(f"intrinsic function {key} is not supported locally")
        return handler(arg)

    def _handlers(self) -> dict[str, Callable[[Any], Any]]:
        return {
            "Ref": lambda arg: self.ref(self.resolve_str(arg)),
            "Condition": lambda arg: self.condition(self.resolve_str(arg)),
            "Fn::Sub": self._sub,
            "Fn::GetAtt": self._get_att_fn,
            "Fn::Join": self._join,
            "Fn::If": self._if,
            "Fn::Select": self._select,
            "Fn::Split": self._split,
            "Fn::Equals": self._equals,
            "Fn::Not": lambda arg: not self._truth(self._single(arg, "Fn::Not")),
            "Fn::And": lambda arg: all(self._truth(item) for item in self._list(arg, "Fn::And")),
            "Fn::Or": lambda arg: any(self._truth(item) for item in self._list(arg, "Fn::Or")),
            "Fn::FindInMap": self._find_in_map,
            "Fn::ImportValue": self._import_value,
            "Fn::Base64": lambda arg: base64.b64encode(self.resolve_str(arg).encode()).decode(),
            "Fn::GetAZs": lambda _arg: [f"{self.region}{suffix}" for suffix in "abc"],
            "Fn::Length": lambda arg: len(self._list(self.resolve(arg), "Fn::Length")),
            "Fn::ToJsonString": lambda arg: json.dumps(self.resolve(arg), separators=(",", ":")),
        }

    def _truth(self, value: Any) -> bool:
        if isinstance(value, dict) and set(value) == {"Condition"}:
            return self.condition(str(value["Condition"]))
        resolved = self.resolve(value)
        if isinstance(resolved, bool):
            return resolved
        if isinstance(resolved, str) and resolved.lower() in ("true", "false"):
            return resolved.lower() == "true"
        raise IntrinsicError(f"condition does not evaluate to a boolean: {value!r}")

    @staticmethod
    def _list(arg: Any, name: str) -> list[Any]:
        if not isinstance(arg, list):
            raise IntrinsicError(f"{name} expects a list, got {arg!r}")
        return arg

    def _single(self, arg: Any, name: str) -> Any:
        items = self._list(arg, name)
        if len(items) != 1:
            raise IntrinsicError(f"{name} expects exactly one item")
        return items[0]

    def _get_att_fn(self, arg: Any) -> str:
        if isinstance(arg, str):
            logical_id, _, attribute = arg.partition(".")
        else:
            items = self._list(arg, "Fn::GetAtt")
            if len(items) != 2:
                raise IntrinsicError(f"Fn::GetAtt expects [resource, attribute], got {arg!r}")
            logical_id, attribute = self.resolve_str(items[0]), self.resolve_str(items[1])
        return self.get_att(logical_id, attribute)

    def _sub(self, arg: Any) -> str:
        if isinstance(arg, list):
            if len(arg) != 2 or not isinstance(arg[1], dict):
                raise IntrinsicError(f"Fn::Sub expects [string, {{vars}}], got {arg!r}")
            text, variables = arg[0], {k: self.resolve(v) for k, v in arg[1].items()}
        else:
            text, variables = arg, {}
        if not isinstance(text, str):
            raise IntrinsicError(f"Fn::Sub expects a string, got {text!r}")
        out: list[str] = []
        position = 0
        while True:
            start = text.find("${", position)
            if start < 0:
                out.append(text[position:])
                break
            out.append(text[position:start])
            end = text.find("}", start)
            if end < 0:
                raise IntrinsicError(f"unterminated ${{...}} in Fn::Sub string {text!r}")
            name = text[start + 2 : end]
            if name.startswith("!"):
                out.append("${" + name[1:] + "}")
            else:
                out.append(self._sub_variable(name.strip(), variables))
            position = end + 1
        return "".join(out)

    def _sub_variable(self, name: str, variables: Mapping[str, Any]) -> str:
        if name in variables:
            value = variables[name]
        elif "." in name and not name.startswith("AWS::"):
            logical_id, _, attribute = name.partition(".")
            value = self.get_att(logical_id, attribute)
        else:
            value = self.ref(name)
        if isinstance(value, (list, dict)) or value is NO_VALUE:
            raise IntrinsicError(f"${{{name}}} in Fn::Sub does not resolve to a string")
        return _scalar_str(value)

    def _join(self, arg: Any) -> str:
        items = self._list(arg, "Fn::Join")
        if len(items) != 2:
            raise IntrinsicError(f"Fn::Join expects [delimiter, [values]], got {arg!r}")
        delimiter = self.resolve_str(items[0])
        values = self._list(self.resolve(items[1]), "Fn::Join")
        return delimiter.join(_scalar_str(v) for v in values)

    def _if(self, arg: Any) -> Any:
        items = self._list(arg, "Fn::If")
        if len(items) != 3:
            raise IntrinsicError(f"Fn::If expects [condition, then, else], got {arg!r}")
        chosen = items[1] if self.condition(self.resolve_str(items[0])) else items[2]
        return self.resolve(chosen)

    def _select(self, arg: Any) -> Any:
        items = self._list(arg, "Fn::Select")
        if len(items) != 2:
            raise IntrinsicError(f"Fn::Select expects [index, [values]], got {arg!r}")
        index = int(self.resolve_str(items[0]))
        values = self._list(self.resolve(items[1]), "Fn::Select")
        if not 0 <= index < len(values):
            raise IntrinsicError(f"Fn::Select index {index} out of range")
        return values[index]

    def _split(self, arg: Any) -> list[str]:
        items = self._list(arg, "Fn::Split")
        if len(items) != 2:
            raise IntrinsicError(f"Fn::Split expects [delimiter, string], got {arg!r}")
        return self.resolve_str(items[1]).split(self.resolve_str(items[0]))

    def _equals(self, arg: Any) -> bool:
        items = self._list(arg, "Fn::Equals")
        if len(items) != 2:
            raise IntrinsicError(f"Fn::Equals expects two values, got {arg!r}")
        left, right = self.resolve(items[0]), self.resolve(items[1])
        if isinstance(left, (list, dict)) or isinstance(right, (list, dict)):
            return bool(left == right)
        return _scalar_str(left) == _scalar_str(right)

    def _find_in_map(self, arg: Any) -> Any:
        items = [self.resolve(i) for i in self._list(arg, "Fn::FindInMap")]
        if len(items) < 3:
            raise IntrinsicError(f"Fn::FindInMap expects [map, key, key], got {arg!r}")
        mappings = self.template.get("Mappings") or {}
        try:
            return mappings[_scalar_str(items[0])][_scalar_str(items[1])][_scalar_str(items[2])]
        except (KeyError, TypeError):
            if len(items) == 4 and isinstance(items[3], dict) and "DefaultValue" in items[3]:
                return items[3]["DefaultValue"]
            raise IntrinsicError(f"Fn::FindInMap found nothing for {items[:3]!r}") from None

    def _import_value(self, arg: Any) -> Any:
        name = self.resolve(arg)
        raise IntrinsicError(
            f"Fn::ImportValue {name!r} cannot be resolved locally (no other stacks exist)"
        )
