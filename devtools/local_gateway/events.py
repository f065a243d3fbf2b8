"""Lambda events built from HTTP requests, and HTTP responses built from Lambda results.

* REST API Lambda proxy integration, payload format 1.0 (``build_rest_event``/``rest_response``)
* Lambda function URLs, payload format 2.0 (``build_url_event``/``url_response``)
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import json
import secrets
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from .cfn import ACCOUNT_ID
from .model import ApiConfig, CorsConfig

_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

_TEXT_MEDIA_TYPES = frozenset(
    {
        "application/json",
        "application/javascript",
        "application/ecmascript",
        "application/xml",
        "application/x-www-form-urlencoded",
        "application/graphql",
        "application/yaml",
        "application/x-yaml",
        "application/x-ndjson",
        "application/problem+json",
    }
)

_PROXY_RESULT_KEYS = frozenset(
    {"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"}
)


@dataclass
class HttpRequest:
    method: str
    target: str  # the request target as received: "/path?query"
    headers: list[tuple[str, str]]
    body: bytes
    source_ip: str
    server_port: int
    protocol: str = "HTTP/1.1"
    received_at: float = field(default_factory=time.time)

    @property
    def path(self) -> str:
        path = urlsplit(self.target).path or "/"
        return path if path.startswith("/") else "/" + path

    @property
    def raw_query(self) -> str:
        return urlsplit(self.target).query

    def header(self, name: str) -> str | None:
        """Last value of a header (case-insensitive), or None."""
        value: str | None = None
        for key, item in self.headers:
            if key.lower() == name.lower():
                value = item
        return value

    @property
    def host(self) -> str:
        return self.header("Host") or f"127.0.0.1:{self.server_port}"


@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes = b""

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


class MalformedResult(Exception):
    """The function's result cannot be turned into an HTTP response."""


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def request_time(epoch: float) -> str:
    moment = datetime.fromtimestamp(epoch, tz=UTC)
    return (
        f"{moment.day:02d}/{_MONTHS[moment.month - 1]}/{moment.year}:"
        f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d} +0000"
    )


def is_text_media_type(content_type: str | None, binary_media_types: Sequence[str] = ()) -> bool:
    mime = (content_type or "").split(";")[0].strip().lower()
    if mime and any(fnmatch.fnmatchcase(mime, p.lower()) for p in binary_media_types):
        return False
    if not mime:
        return True
    return mime.startswith("text/") or mime in _TEXT_MEDIA_TYPES or mime.endswith(("+json", "+xml"))


def encode_body(
    body: bytes, content_type: str | None, binary_media_types: Sequence[str] = ()
) -> tuple[str | None, bool]:
    """(body, isBase64Encoded): text bodies as str, anything else base64."""
    if not body:
        return None, False
    if is_text_media_type(content_type, binary_media_types):
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(body).decode("ascii"), True


def _extended_request_id() -> str:
    return base64.b64encode(secrets.token_bytes(9)).decode("ascii").rstrip("=")[:11] + "="


def _domain(request: HttpRequest) -> str:
    host = request.host
    if host.startswith("["):
        return host.split("]")[0] + "]"
    return host.rsplit(":", 1)[0] if ":" in host else host


def _forwarded_headers(request: HttpRequest) -> list[tuple[str, str]]:
    """Client headers plus the X-Forwarded-* headers API Gateway adds."""
    headers = list(request.headers)
    names = {key.lower() for key, _ in headers}
    forwarded_for = request.header("X-Forwarded-For")
    if forwarded_for:
        headers = [(k, v) for k, v in headers if k.lower() != "x-forwarded-for"]
        headers.append(("X-Forwarded-For", f"{forwarded_for}, {request.source_ip}"))
    else:
        headers.append(("X-Forwarded-For", request.source_ip))
    if "x-forwarded-port" not in names:
        headers.append(("X-Forwarded-Port", str(request.server_port)))
    if "x-forwarded-proto" not in names:
        headers.append(("X-Forwarded-Proto", "http"))
    return headers


def _group(pairs: Iterable[tuple[str, str]], fold_case: bool) -> dict[str, list[str]]:
    grouped: dict[str, list[str]] = {}
    canonical: dict[str, str] = {}
    for key, value in pairs:
        lookup = key.lower() if fold_case else key
        name = canonical.setdefault(lookup, key)
        grouped.setdefault(name, []).append(value)
    return grouped


def method_arn(api: ApiConfig, region: str, method: str, path: str) -> str:
    return (
        f"arn:aws:execute-api:{region}:{ACCOUNT_ID}:{api.api_id}/{api.stage}/"
        f"{method.upper()}/{path.lstrip('/')}"
    )


# --------------------------------------------------------------------------------------------
# REST API (payload format 1.0)
# --------------------------------------------------------------------------------------------


def rest_request_context(
    request: HttpRequest,
    api: ApiConfig,
    resource_path: str,
    request_id: str,
    authorizer: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    domain = _domain(request)
    context: dict[str, Any] = {
        "accountId": ACCOUNT_ID,
        "apiId": api.api_id,
        "resourceId": uuid.uuid5(uuid.NAMESPACE_URL, f"{api.api_id}{resource_path}").hex[:6],
        "resourcePath": resource_path,
        "httpMethod": request.method,
        "extendedRequestId": _extended_request_id(),
        "requestTime": request_time(request.received_at),
        "requestTimeEpoch": int(request.received_at * 1000),
        "path": f"/{api.stage}{request.path}",
        "protocol": request.protocol,
        "stage": api.stage,
        "domainPrefix": domain.split(".")[0],
        "domainName": domain,
        "deploymentId": uuid.uuid5(uuid.NAMESPACE_URL, api.api_id).hex[:6],
        "requestId": request_id,
        "identity": {
            "cognitoIdentityPoolId": None,
            "accountId": None,
            "cognitoIdentityId": None,
            "caller": None,
            "apiKey": None,
            "apiKeyId": None,
            "sourceIp": request.source_ip,
            "principalOrgId": None,
            "accessKey": None,
            "cognitoAuthenticationType": None,
            "cognitoAuthenticationProvider": None,
            "userArn": None,
            "userAgent": request.header("User-Agent"),
            "user": None,
            "clientCert": None,
        },
    }
    if authorizer is not None:
        context["authorizer"] = dict(authorizer)
    return context


def rest_headers(request: HttpRequest) -> tuple[dict[str, str], dict[str, list[str]]]:
    multi = _group(_forwarded_headers(request), fold_case=True)
    return {key: values[-1] for key, values in multi.items()}, multi


def rest_query(request: HttpRequest) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    pairs = parse_qsl(request.raw_query, keep_blank_values=True)
    if not pairs:
        return None, None
    multi = _group(pairs, fold_case=False)
    return {key: values[-1] for key, values in multi.items()}, multi


def build_rest_event(
    request: HttpRequest,
    api: ApiConfig,
    resource_path: str,
    path_parameters: Mapping[str, str],
    request_id: str,
    authorizer: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    headers, multi_headers = rest_headers(request)
    query, multi_query = rest_query(request)
    body, is_base64 = encode_body(
        request.body, request.header("Content-Type"), api.binary_media_types
    )
    return {
        "resource": resource_path,
        "path": request.path,
        "httpMethod": request.method,
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": dict(path_parameters) or None,
        "stageVariables": None,
        "requestContext": rest_request_context(request, api, resource_path, request_id, authorizer),
        "body": body,
        "isBase64Encoded": is_base64,
    }


def _header_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise MalformedResult(f"header value {value!r} is not a string")


def _status_code(value: Any) -> int:
    if isinstance(value, bool):
        raise MalformedResult("statusCode must be an integer")
    try:
        status = int(value)
    except (TypeError, ValueError):
        raise MalformedResult(f"statusCode {value!r} is not an integer") from None
    if not 100 <= status <= 599:
        raise MalformedResult(f"statusCode {status} is out of range")
    return status


def _decode_body(body: Any, is_base64: Any) -> bytes:
    if body is None:
        return b""
    if not isinstance(body, str):
        raise MalformedResult(f"body must be a string, got {type(body).__name__}")
    if not isinstance(is_base64, bool):
        raise MalformedResult("isBase64Encoded must be a boolean")
    if is_base64:
        try:
            return base64.b64decode(body, validate=True)
        except (binascii.Error, ValueError):
            raise MalformedResult("body is not valid base64") from None
    return body.encode("utf-8")


def rest_response(result: Any) -> HttpResponse:
    """Turn a proxy integration result into HTTP, or raise MalformedResult like API Gateway."""
    if not isinstance(result, dict):
        raise MalformedResult(f"result is a {type(result).__name__}, not an object")
    unexpected = set(result) - _PROXY_RESULT_KEYS
    if unexpected:
        raise MalformedResult(f"unexpected keys in the result: {sorted(unexpected)}")
    if "statusCode" not in result:
        raise MalformedResult("statusCode is missing")
    status = _status_code(result["statusCode"])
    headers: list[tuple[str, str]] = []
    multi = result.get("multiValueHeaders") or {}
    single = result.get("headers") or {}
    if not isinstance(multi, dict) or not isinstance(single, dict):
        raise MalformedResult("headers and multiValueHeaders must be objects")
    for name, values in multi.items():
        if not isinstance(values, list):
            raise MalformedResult(f"multiValueHeaders[{name!r}] must be a list")
        headers.extend((str(name), _header_value(v)) for v in values)
    for name, value in single.items():
        text = _header_value(value)
        if (str(name).lower(), text) not in {(k.lower(), v) for k, v in headers}:
            headers.append((str(name), text))
    body = _decode_body(result.get("body"), result.get("isBase64Encoded", False))
    if not any(k.lower() == "content-type" for k, _ in headers):
        headers.append(("Content-Type", "application/json"))
    return HttpResponse(status, headers, body)


# --------------------------------------------------------------------------------------------
# Function URLs (payload format 2.0)
# --------------------------------------------------------------------------------------------


def build_url_event(
    request: HttpRequest, function_id: str, sub_path: str, request_id: str
) -> dict[str, Any]:
    url_id = uuid.uuid5(uuid.NAMESPACE_URL, function_id).hex[:32]
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for key, values in _group(_forwarded_headers(request), fold_case=True).items():
        if key.lower() == "cookie":
            for value in values:
                cookies.extend(c.strip() for c in value.split(";") if c.strip())
            continue
        headers[key.lower()] = ",".join(values)
    pairs = parse_qsl(request.raw_query, keep_blank_values=True)
    query = {key: ",".join(values) for key, values in _group(pairs, fold_case=False).items()}
    body, is_base64 = encode_body(request.body, request.header("Content-Type"))
    domain = _domain(request)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": sub_path,
        "rawQueryString": request.raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": url_id,
            "domainName": domain,
            "domainPrefix": domain.split(".")[0],
            "http": {
                "method": request.method,
                "path": sub_path,
                "protocol": request.protocol,
                "sourceIp": request.source_ip,
                "userAgent": request.header("User-Agent"),
            },
            "requestId": request_id,
            "routeKey": "$default",
            "stage": "$default",
            "time": request_time(request.received_at),
            "timeEpoch": int(request.received_at * 1000),
        },
        "isBase64Encoded": is_base64,
    }
    if cookies:
        event["cookies"] = cookies
    if query:
        event["queryStringParameters"] = query
    if body is not None:
        event["body"] = body
    return event


def url_response(result: Any) -> HttpResponse:
    """Function URL response: the full form with statusCode, or the inferred 200 JSON form."""
    if not (isinstance(result, dict) and "statusCode" in result):
        body = json.dumps(result).encode("utf-8")
        return HttpResponse(200, [("Content-Type", "application/json")], body)
    status = _status_code(result["statusCode"])
    raw_headers = result.get("headers") or {}
    if not isinstance(raw_headers, dict):
        raise MalformedResult("headers must be an object")
    headers = [(str(k), _header_value(v)) for k, v in raw_headers.items()]
    cookies = result.get("cookies") or []
    if not isinstance(cookies, list):
        raise MalformedResult("cookies must be a list")
    headers.extend(("Set-Cookie", _header_value(c)) for c in cookies)
    body = _decode_body(result.get("body"), result.get("isBase64Encoded", False))
    if not any(k.lower() == "content-type" for k, _ in headers):
        headers.append(("Content-Type", "application/json"))
    return HttpResponse(status, headers, body)


# --------------------------------------------------------------------------------------------
# Gateway-generated responses
# --------------------------------------------------------------------------------------------


def json_response(
    status: int, payload: Any, error_type: str | None = None, extra: Sequence[tuple[str, str]] = ()
) -> HttpResponse:
    headers = [("Content-Type", "application/json")]
    if error_type:
        headers.append(("x-amzn-ErrorType", error_type))
    headers.extend(extra)
    return HttpResponse(status, headers, json.dumps(payload).encode("utf-8"))


def api_preflight_response(cors: CorsConfig, default_methods: str) -> HttpResponse:
    """The MOCK integration SAM generates for OPTIONS when an Api has Cors."""
    headers = [("Content-Type", "application/json")]
    headers.append(("Access-Control-Allow-Origin", cors.allow_origins[0]))
    headers.append(("Access-Control-Allow-Methods", cors.allow_methods or default_methods))
    if cors.allow_headers:
        headers.append(("Access-Control-Allow-Headers", cors.allow_headers))
    if cors.max_age:
        headers.append(("Access-Control-Max-Age", cors.max_age))
    if cors.allow_credentials:
        headers.append(("Access-Control-Allow-Credentials", "true"))
    return HttpResponse(200, headers, b"")


def _allowed_origin(cors: CorsConfig, origin: str | None) -> str | None:
    if origin is None:
        return None
    if "*" in cors.allow_origins:
        return "*" if not cors.allow_credentials else origin
    return origin if origin in cors.allow_origins else None


def url_preflight_response(cors: CorsConfig, origin: str | None) -> HttpResponse:
    """Function URL CORS preflight, answered by the service without invoking the function."""
    headers: list[tuple[str, str]] = []
    allowed = _allowed_origin(cors, origin)
    if allowed is not None:
        headers.append(("Access-Control-Allow-Origin", allowed))
        if cors.allow_methods:
            headers.append(("Access-Control-Allow-Methods", cors.allow_methods))
        if cors.allow_headers:
            headers.append(("Access-Control-Allow-Headers", cors.allow_headers))
        if cors.max_age:
            headers.append(("Access-Control-Max-Age", cors.max_age))
        if cors.allow_credentials:
            headers.append(("Access-Control-Allow-Credentials", "true"))
    return HttpResponse(200, headers, b"")


def add_url_cors_headers(
    response: HttpResponse, cors: CorsConfig, origin: str | None
) -> HttpResponse:
    allowed = _allowed_origin(cors, origin)
    if allowed is None:
        return response
    names = {k.lower() for k, _ in response.headers}
    extra: list[tuple[str, str]] = []
    if "access-control-allow-origin" not in names:
        extra.append(("Access-Control-Allow-Origin", allowed))
    if cors.expose_headers and "access-control-expose-headers" not in names:
        extra.append(("Access-Control-Expose-Headers", cors.expose_headers))
    if cors.allow_credentials and "access-control-allow-credentials" not in names:
        extra.append(("Access-Control-Allow-Credentials", "true"))
    return HttpResponse(response.status, response.headers + extra, response.body)
