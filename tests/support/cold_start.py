"""Cold starts measured on code as Lambda sees it, for `make bench` and the import tests.

A function's cold start is the CPU time (not wall time: it does not depend on what else the
machine runs) and peak memory of a fresh interpreter that imports its app.py and builds what
its requests use (every `runtime.<builder>` its app.py names, and the DynamoDB client), with
nothing on sys.path but what Lambda puts there:

- the function's directory, and its own requirements.txt (the webhook's cryptography);
- the layer: `layered_view` links the layer's dependencies and phoneverify from the dev
  virtualenv (bytecode compiled as pip does); `make bench` builds the real one instead with
  layers/common/Makefile (bytecode only for the dependencies, hash-checked for phoneverify);
- boto3 and what it needs, which the Lambda runtime provides;
- and no site-packages: the dev venv holds packages Lambda lacks (pyOpenSSL, which botocore
  would import and with it cryptography and bcrypt).

PYTHONDONTWRITEBYTECODE: Lambda's /opt and /var/task are read-only, so bytecode missing there
is compiled again at every cold start; a measurement that wrote it would hide that.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
from dataclasses import dataclass
from functools import cache
from importlib import metadata
from pathlib import Path

from packaging.requirements import Requirement

from devtools.aws_resources import LOCAL_PARAMETERS
from devtools.local_gateway import load_app, resolve_environment
from devtools.local_gateway.template import App

ROOT = Path(__file__).resolve().parents[2]
FUNCTIONS_DIR = ROOT / "functions"
LAYER_SOURCE = ROOT / "layers" / "common"
RUNTIME_PROVIDED = ("boto3",)  # what the python3.13 runtime has on its path

# Values for the parameters the local stack does not resolve (SSM names, tables...).
ENV = {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "POWERTOOLS_SERVICE_NAME": "phone-verify",
    "POWERTOOLS_METRICS_NAMESPACE": "PhoneVerify",
    # Set by Lambda: Powertools' Tracer is on (it patches, as in Lambda) only where it is.
    "LAMBDA_TASK_ROOT": "/var/task",
}

# The least a handler of this design can load: a Powertools resolver validating a pydantic
# body, a boto3 DynamoDB client, and the Tracer a production handler has, patching what its
# DynamoDB calls need (phoneverify/tracing.py's); and the least any Python handler with
# DynamoDB can.
BARE_POWERTOOLS = """
import boto3
from aws_lambda_powertools import Tracer
from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from pydantic import BaseModel

tracer = Tracer(auto_patch=False)
tracer.patch(["botocore"])
dynamodb = boto3.client("dynamodb")
app = APIGatewayRestResolver(enable_validation=True)


class Body(BaseModel):
    name: str


@app.post("/hello")
def hello(body: Body) -> dict[str, str]:
    return {"hello": body.name}


lambda_handler = tracer.capture_lambda_handler(app.resolve, capture_response=False)
"""
BARE_BOTO3 = """
import boto3

dynamodb = boto3.client("dynamodb")


def lambda_handler(event, context):
    return {"statusCode": 200, "body": "{}"}
"""
BARE_HANDLERS = {"bare boto3": BARE_BOTO3, "bare Powertools + pydantic": BARE_POWERTOOLS}

# Runs in the measured interpreter: argv = app.py, builders to touch (comma-separated).
PROBE = """
import importlib.util, json, resource, sys, time
started = time.process_time()
spec = importlib.util.spec_from_file_location("app", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
runtime = getattr(module, "runtime", None)
if runtime is not None:
    runtime.dynamodb
init_ms = (time.process_time() - started) * 1000
init_modules = sorted(sys.modules)
if runtime is not None:
    for name in filter(None, sys.argv[2].split(",")):
        getattr(runtime, name)
elapsed = time.process_time() - started
# Peak RSS of this interpreter: VmHWM, which exec resets (ru_maxrss keeps the parent's).
try:
    with open("/proc/self/status") as status:
        peak_kb = next(int(l.split()[1]) for l in status if l.startswith("VmHWM:"))
except OSError:
    peak_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({
    "init_cpu_ms": init_ms,
    "init_modules": init_modules,
    "cpu_ms": elapsed * 1000,
    "max_rss_mb": peak_kb / 1024,
    "modules": sorted(sys.modules),
}))
"""


@dataclass(frozen=True)
class ColdStart:
    """`init_*`: after importing app.py and creating the DynamoDB client (Lambda's init);
    the others: after also building what the handler's requests build (peak memory: at the
    end)."""

    init_cpu_ms: float
    init_modules: frozenset[str]
    cpu_ms: float
    max_rss_mb: float
    modules: frozenset[str]

    def loaded(self, package: str, *, at_init: bool = False) -> bool:
        modules = self.init_modules if at_init else self.modules
        return any(m == package or m.startswith(package + ".") for m in modules)


def function_names() -> list[str]:
    return sorted(p.name for p in FUNCTIONS_DIR.iterdir() if (p / "app.py").is_file())


def requirements(path: Path) -> list[str]:
    if not path.is_file():
        return []
    lines = (line.strip() for line in path.read_text().splitlines())
    return [line for line in lines if line and not line.startswith("#")]


def _closure(names: list[str]) -> list[metadata.Distribution]:
    """The installed distributions `names` need, with their dependencies."""
    seen: dict[str, metadata.Distribution] = {}
    todo = [Requirement(name).name for name in names]
    while todo:
        name = todo.pop().lower().replace("_", "-")
        if name in seen:
            continue
        dist = metadata.distribution(name)
        seen[name] = dist
        for raw in dist.requires or []:
            req = Requirement(raw)
            if req.marker is None or req.marker.evaluate({"extra": ""}):
                todo.append(req.name)
    return list(seen.values())


def link_distributions(names: list[str], into: Path) -> Path:
    """A directory holding (as links to the dev venv) `names` and their dependencies."""
    into.mkdir(parents=True, exist_ok=True)
    for dist in _closure(names):
        tops = {Path(str(f)).parts[0] for f in dist.files or []}
        for top in tops:
            if top in ("..", "bin", "__pycache__") or top.endswith(".pth"):
                continue
            source = Path(str(dist.locate_file(top)))
            if source.exists() and not (into / top).exists():
                (into / top).symlink_to(source)
    return into


def layered_view(into: Path) -> Path:
    """The layer as the dev venv holds it: its requirements and phoneverify."""
    view = link_distributions(requirements(LAYER_SOURCE / "requirements.txt"), into)
    if not (view / "phoneverify").exists():
        (view / "phoneverify").symlink_to(LAYER_SOURCE / "phoneverify")
    return view


def runtime_view(into: Path) -> Path:
    return link_distributions(list(RUNTIME_PROVIDED), into)


def function_view(function: str, into: Path) -> Path:
    """A function's own dependencies (its requirements.txt), as its build adds them."""
    return link_distributions(requirements(FUNCTIONS_DIR / function / "requirements.txt"), into)


def host_platform() -> str:
    return f"manylinux2014_{platform.machine()}"


def build_layer(into: Path) -> Path:
    """The layer as layers/common/Makefile builds it for Lambda (`sam build`), for this
    machine's architecture instead of arm64: the same files and bytecode, importable here."""
    subprocess.run(
        [
            "make",
            "--no-print-directory",
            "-C",
            str(LAYER_SOURCE),
            "build-CommonLayer",
            f"ARTIFACTS_DIR={into}",
            f"PLATFORM={host_platform()}",
            f"PYTHON={sys.executable}",
        ],
        check=True,
        capture_output=True,
        timeout=900,
    )
    return into / "python"


def build_function_requirements(function: str, into: Path) -> Path:
    """A function's own requirements.txt installed as `sam build` does (no bytecode)."""
    into.mkdir(parents=True, exist_ok=True)
    wanted = FUNCTIONS_DIR / function / "requirements.txt"
    if requirements(wanted):
        subprocess.run(
            [
                *(sys.executable, "-m", "pip", "install", "--quiet", "--no-compile"),
                *("--disable-pip-version-check", "--only-binary=:all:", "--implementation", "cp"),
                *("--platform", host_platform(), "--python-version", "3.13"),
                *("--requirement", str(wanted), "--target", str(into)),
            ],
            check=True,
            capture_output=True,
            timeout=900,
        )
    return into


def tree_bytes(path: Path) -> int:
    """Unzipped size: the bytes of every file (links followed)."""
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


@cache
def _template_app() -> App:
    """template.yaml as the local gateway reads it: read once per run, not once per measure."""
    return load_app(ROOT / "template.yaml", LOCAL_PARAMETERS)


def function_environment(function: str) -> dict[str, str]:
    app = _template_app()
    logical = next(fid for fid, fn in app.functions.items() if fn.code_dir.name == function)
    return resolve_environment(app, logical)


@cache
def builders_used(app_py: Path) -> list[str]:
    """The Runtime builders a handler names (`runtime.login_flow`...): what its requests build."""
    import re
    from functools import cached_property

    from phoneverify.runtime import Runtime

    named = set(re.findall(r"\bruntime\.([a-z_]+)\b", app_py.read_text()))
    return sorted(n for n in named if isinstance(getattr(Runtime, n, None), cached_property))


def measure(
    app_py: Path,
    path: list[Path],
    env: dict[str, str],
    builders: list[str] = (),  # type: ignore[assignment]
) -> ColdStart:
    """One cold start in a fresh interpreter (`-S`: no site-packages, only `path`)."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTHON", "AWS_", "POWERTOOLS_TRACE"))
    }
    full_env = {
        **clean,
        **ENV,
        **env,
        "PYTHONPATH": os.pathsep.join(str(p) for p in path),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    out = subprocess.run(
        [sys.executable, "-S", "-c", PROBE, str(app_py), ",".join(builders or [])],
        env=full_env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    if out.returncode != 0:
        raise RuntimeError(f"cold start of {app_py} failed:\n{out.stderr[-3000:]}")
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return ColdStart(
        init_cpu_ms=result["init_cpu_ms"],
        init_modules=frozenset(result["init_modules"]),
        cpu_ms=result["cpu_ms"],
        max_rss_mb=result["max_rss_mb"],
        modules=frozenset(result["modules"]),
    )


def function_cold_start(
    function: str,
    layer: Path,
    runtime: Path,
    own: Path,
    *,
    code_dir: Path | None = None,
    first_request: bool = True,
) -> ColdStart:
    """Lambda's init (import app.py, create the DynamoDB client), then, with
    `first_request`, everything its requests build (what a first request adds to the init;
    without it, `cpu_ms` and `modules` are the init's)."""
    code = code_dir or FUNCTIONS_DIR / function
    return measure(
        code / "app.py",
        [code, own, layer, runtime],
        function_environment(function),
        builders_used(FUNCTIONS_DIR / function / "app.py") if first_request else [],
    )


def bare_cold_start(name: str, workdir: Path, layer: Path, runtime: Path) -> ColdStart:
    app_dir = workdir / name.replace(" ", "_").replace("+", "and")
    app_dir.mkdir(parents=True, exist_ok=True)
    (app_dir / "app.py").write_text(BARE_HANDLERS[name])
    return measure(app_dir / "app.py", [app_dir, layer, runtime], {})
