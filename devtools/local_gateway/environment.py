"""The environment a function's workers get, as ``sam local`` builds it: the variables the
template declares, resolved, with ``--env-vars`` overrides, then the Lambda runtime's own."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .template import App, TemplateError


def env_overrides(source: Mapping[str, Any] | str | os.PathLike[str] | None) -> dict[str, Any]:
    """``sam local --env-vars`` overrides: a mapping, or the path of its JSON file."""
    try:
        data = source if isinstance(source, Mapping) else json.loads(Path(source or "").read_text())
    except (OSError, ValueError) as exc:
        raise TemplateError(f"cannot read env vars file {source}: {exc}") from exc
    if not isinstance(data, Mapping) or not all(isinstance(v, dict) for v in data.values()):
        raise TemplateError(f"env vars {source}: must map names to objects of variables")
    return dict(data)


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


def function_environment(
    app: App,
    function_id: str,
    overrides: Mapping[str, Mapping[str, Any]],
    extra_env: Mapping[str, str],
    region: str,
) -> dict[str, str]:
    """The complete environment of a function's workers: this process's (without
    PYTHONPATH, which Lambda never sets), the template's variables, ``extra_env``, then what
    the Lambda runtime sets."""
    function = app.functions[function_id]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # Lambda never sees it
    env.update(resolve_environment(app, function_id, overrides))
    env.update(extra_env)
    env.update(
        AWS_LAMBDA_FUNCTION_NAME=function_id,
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE=str(function.memory_size),
        AWS_LAMBDA_FUNCTION_VERSION="$LATEST",
        AWS_LAMBDA_FUNCTION_TIMEOUT=str(function.timeout),
        AWS_LAMBDA_LOG_GROUP_NAME=f"/aws/lambda/{function_id}",
        AWS_LAMBDA_INITIALIZATION_TYPE="on-demand",
        AWS_EXECUTION_ENV=f"AWS_Lambda_{function.runtime}",
        AWS_REGION=region,
        AWS_DEFAULT_REGION=region,
        AWS_SAM_LOCAL="true",
        LAMBDA_TASK_ROOT=str(function.code_dir),
        _HANDLER=function.handler,
        TZ=":UTC",
    )
    return env
