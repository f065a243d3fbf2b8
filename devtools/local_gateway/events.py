"""Lambda events built from HTTP requests, and HTTP responses built from Lambda results.

* REST API Lambda proxy integration, payload format 1.0 (``build_rest_event``/``rest_response``)
* Lambda function URLs, payload format 2.0 (``build_url_event``/``url_response``)

Requests and responses are werkzeug's; what API Gateway adds or checks is written out here.
"""

from __future__ import annotations

import base64
import binascii
import fnmatch
import json
import re
import secrets
import time
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from werkzeug.datastructures import Headers
from werkzeug.wrappers import Request, Response

from .template import ACCOUNT_ID, ApiConfig

TEXT = re.compile(
    r"text/.*|application/((.*\+)?(json|xml)|(x-)?yaml|javascript|ecmascript|graphql|x-ndjson)"
)
FORM = "application/x-www-form-urlencoded"
IDENTITY_KEYS = (  # noqa: SIM905 - null fields of requestContext.identity
    "cognitoIdentityPoolId accountId cognitoIdentityId caller apiKey apiKeyId principalOrgId "
    "accessKey cognitoAuthenticationType cognitoAuthenticationProvider userArn user clientCert"
).split()
PROXY_RESULT_KEYS = {"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"}


class HttpResponse(Response):
    default_mimetype = None  # no Content-Type unless the function or API Gateway sets one


class MalformedResult(ValueError):
    """The function's result cannot be turned into an HTTP response."""


def raw_path(request: Request) -> str:
    """The path as the client sent it (still percent-encoded)."""
    return urlsplit(request.environ.get("RAW_URI") or request.full_path).path or "/"


def request_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%d/%b/%Y:%H:%M:%S +0000")


def encode_body(
    body: bytes, content_type: str | None, binary: Sequence[str] = ()
) -> tuple[str | None, bool]:
    """(body, isBase64Encoded): text bodies as str, anything else (or a binary type) base64."""
    mime = (content_type or "").split(";")[0].strip().lower()
    if not body:
        return None, False
    if not any(fnmatch.fnmatchcase(mime, p.lower()) for p in binary) and (
        not mime or mime == FORM or TEXT.fullmatch(mime)
    ):
        try:
            return body.decode("utf-8"), False
        except UnicodeDecodeError:
            pass
    return base64.b64encode(body).decode("ascii"), True


def _domain(request: Request) -> str:
    host = request.host
    return host.split("]")[0] + "]" if host.startswith("[") else host.rsplit(":", 1)[0]


def _headers(request: Request) -> dict[str, str]:
    """Client headers (werkzeug joins repeated ones) plus the X-Forwarded-* API Gateway adds."""
    headers, source = dict(request.headers.items()), str(request.remote_addr)
    forwarded = headers.get("X-Forwarded-For")
    headers["X-Forwarded-For"] = f"{forwarded}, {source}" if forwarded else source
    headers.setdefault("X-Forwarded-Port", str(request.environ.get("SERVER_PORT", "")))
    headers.setdefault("X-Forwarded-Proto", "http")
    return headers


def method_arn(api: ApiConfig, region: str, method: str, path: str) -> str:
    stage = f"{api.api_id}/{api.stage}"
    return f"arn:aws:execute-api:{region}:{ACCOUNT_ID}:{stage}/{method.upper()}/{path.lstrip('/')}"


# --------------------------------------------------------------------------------------------
# REST API (payload format 1.0)
# --------------------------------------------------------------------------------------------


def rest_query(request: Request) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    multi = dict(request.args.lists())
    return ({k: v[-1] for k, v in multi.items()}, multi) if multi else (None, None)


def build_rest_event(
    request: Request,
    api: ApiConfig,
    resource_path: str,
    path_parameters: Mapping[str, str],
    request_id: str,
    authorizer: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    headers, (query, multi_query) = _headers(request), rest_query(request)
    body, is_base64 = encode_body(request.get_data(), request.content_type, api.binary_media_types)
    now, domain, path = time.time(), _domain(request), raw_path(request)
    identity = dict.fromkeys(IDENTITY_KEYS)
    context: dict[str, Any] = {
        "accountId": ACCOUNT_ID,
        "apiId": api.api_id,
        "resourceId": uuid.uuid5(uuid.NAMESPACE_URL, f"{api.api_id}{resource_path}").hex[:6],
        "resourcePath": resource_path,
        "httpMethod": request.method,
        "extendedRequestId": base64.b64encode(secrets.token_bytes(8)).decode()[:11] + "=",
        "requestTime": request_time(now),
        "requestTimeEpoch": int(now * 1000),
        "path": f"/{api.stage}{path}",
        "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
        "stage": api.stage,
        "domainPrefix": domain.split(".")[0],
        "domainName": domain,
        "deploymentId": uuid.uuid5(uuid.NAMESPACE_URL, api.api_id).hex[:6],
        "requestId": request_id,
        "identity": {
            **identity,
            "sourceIp": request.remote_addr,
            "userAgent": request.headers.get("User-Agent"),
        },
    }
    if authorizer is not None:
        context["authorizer"] = dict(authorizer)
    return {
        "resource": resource_path,
        "path": path,
        "httpMethod": request.method,
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": dict(path_parameters) or None,
        "stageVariables": None,
        "requestContext": context,
        "body": body,
        "isBase64Encoded": is_base64,
    }


def scalar_text(value: Any) -> str:
    """A header or authorizer context value as API Gateway passes it on (true, 3, "x")."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, int, float)):
        return str(value)
    raise MalformedResult(f"{value!r} is not a string, number or boolean")


def _result(result: Mapping[str, Any], headers: Headers) -> HttpResponse:
    """Status and body of a result (the shapes both payload formats share)."""
    status, body, is_base64 = (
        result["statusCode"],
        result.get("body"),
        result.get("isBase64Encoded", False),
    )
    if isinstance(status, bool) or not str(status).isdigit() or not 100 <= int(status) <= 599:
        raise MalformedResult(f"statusCode {status!r} is not an HTTP status")
    if (body is not None and not isinstance(body, str)) or not isinstance(is_base64, bool):
        raise MalformedResult("body must be a string and isBase64Encoded a boolean")
    try:
        data = base64.b64decode(body or "", validate=True) if is_base64 else (body or "").encode()
    except (binascii.Error, ValueError):
        raise MalformedResult("body is not valid base64") from None
    headers.setdefault("Content-Type", "application/json")
    return HttpResponse(data, int(status), headers)


def rest_response(result: Any) -> HttpResponse:
    """Turn a proxy integration result into HTTP, or raise MalformedResult like API Gateway."""
    if (
        not isinstance(result, dict)
        or "statusCode" not in result
        or set(result) - PROXY_RESULT_KEYS
    ):
        raise MalformedResult(f"not a proxy result: {str(result)[:200]}")
    multi, single = result.get("multiValueHeaders") or {}, result.get("headers") or {}
    if not isinstance(multi, dict) or not isinstance(single, dict):
        raise MalformedResult("headers and multiValueHeaders must be objects")
    headers = Headers()
    for name, values in multi.items():
        if not isinstance(values, list):
            raise MalformedResult(f"multiValueHeaders[{name!r}] must be a list")
        for value in values:
            headers.add(str(name), scalar_text(value))
    for name, value in single.items():
        if scalar_text(value) not in headers.getlist(str(name)):
            headers.add(str(name), scalar_text(value))
    return _result(result, headers)


# --------------------------------------------------------------------------------------------
# Function URLs (payload format 2.0)
# --------------------------------------------------------------------------------------------


def build_url_event(
    request: Request, function_id: str, sub_path: str, request_id: str
) -> dict[str, Any]:
    headers = _headers(request)
    cookies = [c.strip() for c in headers.pop("Cookie", "").split(";") if c.strip()]
    query = {key: ",".join(values) for key, values in request.args.lists()}
    body, is_base64 = encode_body(request.get_data(), request.content_type)
    now, domain = time.time(), _domain(request)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": sub_path,
        "rawQueryString": request.query_string.decode("latin-1"),
        "headers": {name.lower(): value for name, value in headers.items()},
        "requestContext": {
            "accountId": "anonymous",
            "apiId": uuid.uuid5(uuid.NAMESPACE_URL, function_id).hex,
            "domainName": domain,
            "domainPrefix": domain.split(".")[0],
            "http": {
                "method": request.method,
                "path": sub_path,
                "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
                "sourceIp": request.remote_addr,
                "userAgent": request.headers.get("User-Agent"),
            },
            "requestId": request_id,
            "routeKey": "$default",
            "stage": "$default",
            "time": request_time(now),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": is_base64,
    }
    optional = {"cookies": cookies, "queryStringParameters": query, "body": body}
    return event | {key: value for key, value in optional.items() if value}


def url_response(result: Any) -> HttpResponse:
    """Function URL response: the full form with statusCode, or the inferred 200 JSON form."""
    if not (isinstance(result, dict) and "statusCode" in result):
        return HttpResponse(json.dumps(result), 200, content_type="application/json")
    raw_headers, cookies = result.get("headers") or {}, result.get("cookies") or []
    if not isinstance(raw_headers, dict) or not isinstance(cookies, list):
        raise MalformedResult("headers must be an object and cookies a list")
    headers = Headers([(str(k), scalar_text(v)) for k, v in raw_headers.items()])
    for cookie in cookies:
        headers.add("Set-Cookie", scalar_text(cookie))
    return _result(result, headers)


# --------------------------------------------------------------------------------------------
# Gateway-generated responses
# --------------------------------------------------------------------------------------------


def json_response(status: int, payload: Any, error_type: str | None = None) -> HttpResponse:
    headers = [("x-amzn-ErrorType", error_type)] if error_type else []
    return HttpResponse(json.dumps(payload), status, headers, content_type="application/json")
