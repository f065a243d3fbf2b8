"""One OpenAPI document for the whole API, assembled from each function's own resolver.

Every function validates its requests with Powertools' resolver and pydantic models, so the
resolvers already know their routes and schemas; this merges them, adds the bearer scheme
on the routes behind the authorizer, and writes the document plus a Swagger UI page for the
local stack (`/openapi.json`, `/docs`).
"""

from __future__ import annotations

import importlib.util
import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from devtools.aws_resources import LOCAL_PARAMETERS, TEMPLATE
from devtools.local_gateway import load_app, resolve_environment

TITLE = "phone-verify"
VERSION = "0.1.0"
DESCRIPTION = (
    "Phone verification with Telnyx Verify: login 2FA, sign-up phone proof and payment "
    "step-up. Errors are `{error, code}` plus the fields named in the contract."
)
# Swagger UI from the assets Powertools ships (the version its own /swagger serves), next to
# the page: /docs renders with no network beyond the local stack. validatorUrl null: no badge
# fetched from validator.swagger.io.
SWAGGER_ASSETS = ("swagger-ui.min.css", "swagger-ui-bundle.min.js")
SWAGGER_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>phone-verify API</title>
  <link rel="stylesheet" href="/docs/swagger-ui.min.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/swagger-ui-bundle.min.js"></script>
  <script>
    SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui", validatorUrl: null});
  </script>
</body>
</html>
"""


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    saved = dict(os.environ)
    os.environ.update(values)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _resolver_schema(app_py: Path, env: dict[str, str]) -> dict[str, Any]:
    spec = importlib.util.spec_from_file_location(f"openapi_{uuid.uuid4().hex}", app_py)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    with _environment(env):  # the function validates its settings at import, as at cold start
        spec.loader.exec_module(module)
    schema: dict[str, Any] = json.loads(module.app.get_openapi_json_schema(title=TITLE))
    return schema


def build_openapi(template: Path = TEMPLATE) -> dict[str, Any]:
    """The merged document: every API route of every function in `template`."""
    app = load_app(template, LOCAL_PARAMETERS)
    document: dict[str, Any] = {
        "openapi": "3.1.0",  # what Powertools generates (JSON Schema nulls and all)
        "info": {"title": TITLE, "version": VERSION, "description": DESCRIPTION},
        "paths": {},
        "components": {
            "schemas": {},
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}},
        },
    }
    for function_id in sorted({str(route.function_id) for route in app.routes}):
        function = app.functions[function_id]
        env = {"AWS_DEFAULT_REGION": "us-east-1", **resolve_environment(app, function_id)}
        schema = _resolver_schema(function.code_dir / "app.py", env)
        document["components"]["schemas"].update(schema.get("components", {}).get("schemas", {}))
        for path, operations in schema.get("paths", {}).items():
            document["paths"].setdefault(path, {}).update(operations)
    for route in app.routes:
        if route.authorizer:  # behind the token authorizer
            for operation in document["paths"].get(route.path, {}).values():
                operation["security"] = [{"bearerAuth": []}]
    return document


def write_site(directory: Path, template: Path = TEMPLATE) -> None:
    """`openapi.json`, and `docs/` with Swagger UI's page and assets, under `directory`, for
    the static file server."""
    (directory / "docs").mkdir(parents=True, exist_ok=True)
    (directory / "openapi.json").write_text(json.dumps(build_openapi(template), indent=2))
    (directory / "docs" / "index.html").write_text(SWAGGER_PAGE)
    assets = resources.files("aws_lambda_powertools.event_handler.openapi.swagger_ui")
    for name in SWAGGER_ASSETS:
        (directory / "docs" / name).write_bytes(assets.joinpath(name).read_bytes())


if __name__ == "__main__":
    print(json.dumps(build_openapi(), indent=2))
