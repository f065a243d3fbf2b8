"""Speed and memory targets (`make bench`). Not part of `make test`: timings depend on the
machine. Targets are for this repository's 2-core reference machine; Lambda arm64 at 512 MB
is in the same range."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from phoneverify.domain.models import FlowKind
from phoneverify.domain.send_limits import SendCaps
from tests.support.builders import ORIGIN, PASSWORD, PHONE, login_world

ROOT = Path(__file__).resolve().parents[1]
COLD_START = """
import json, resource, sys, time, importlib.util
# CPU time, not wall time: what an import costs does not depend on what else the machine runs.
started = time.process_time()
spec = importlib.util.spec_from_file_location("app", sys.argv[1])
module = importlib.util.module_from_spec(spec)
spec.loader.exec_module(module)
elapsed = time.process_time() - started
print(json.dumps({"seconds": elapsed,
                  "max_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""
FUNCTIONS = sorted(p.name for p in (ROOT / "functions").iterdir() if (p / "app.py").is_file())
ENV = {
    "USERS_TABLE": "UsersTable",
    "VERIFICATIONS_TABLE": "VerificationsTable",
    "AUDIT_TABLE": "AuditTable",
    "TELNYX_API_BASE_URL": "https://api.telnyx.com",
    "TELNYX_API_KEY_PARAM": "/x/key",
    "TELNYX_VERIFY_PROFILE_ID_PARAM": "/x/profile",
    "TELNYX_MESSAGING_SENDER_PARAM": "/x/messaging-sender",
    "JWT_SIGNING_SECRET_PARAM": "/x/jwt",
    "TELNYX_PUBLIC_KEY_PARAM": "/x/public-key",
    "JWT_ISSUER": "iss",
    "JWT_AUDIENCE": "aud",
    "ACCESS_TOKEN_TTL_SECONDS": "3600",
    "VERIFY_CODE_LENGTH": "6",
    "ALLOWED_ORIGIN": "http://127.0.0.1:3000",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def cold_start(function: str) -> dict[str, float]:
    from devtools.aws_resources import LOCAL_PARAMETERS
    from devtools.local_gateway import load_app, resolve_environment

    app = load_app(ROOT / "template.yaml", LOCAL_PARAMETERS)
    logical = next(fid for fid, fn in app.functions.items() if fn.code_dir.name == function)
    env = {**os.environ, **ENV, **resolve_environment(app, logical)}
    env["PYTHONPATH"] = os.pathsep.join(
        [str(ROOT / "functions" / function), str(ROOT / "layers/common")]
    )
    out = subprocess.run(
        [sys.executable, "-c", COLD_START, str(ROOT / "functions" / function / "app.py")],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result: dict[str, float] = json.loads(out.strip().splitlines()[-1])
    return result


@pytest.mark.parametrize("function", FUNCTIONS)
def test_cold_start_import_is_fast_and_small(function: str) -> None:
    # Target: under 1.5 s of CPU to import a handler with its layer, under 120 MB resident.
    result = cold_start(function)
    print(f"{function}: {result['seconds'] * 1000:.0f} ms, {result['max_rss_mb']:.0f} MB")
    assert result["seconds"] < 1.5
    assert result["max_rss_mb"] < 120


def test_code_check_hot_path(benchmark) -> None:  # type: ignore[no-untyped-def]
    # The flow's own work per verification (fakes for I/O): far below network latency.
    def one_login() -> None:
        world = login_world()
        started = world.flow.start("demo@example.com", PASSWORD, ORIGIN)
        flow_id = started.challenge.flow_id  # type: ignore[union-attr]
        world.flow.verify(flow_id, world.sender.last_code(PHONE), ORIGIN)

    benchmark(one_login)
    assert benchmark.stats["mean"] < 0.2  # bcrypt (cost 4 here) dominates


def test_challenge_open_and_check_without_bcrypt(benchmark) -> None:  # type: ignore[no-untyped-def]
    world = login_world()
    # As many rounds as the benchmark likes: no hourly cap may stop them.
    unlimited = 10**9
    world.limits.caps = SendCaps(unlimited, unlimited, unlimited, unlimited, 3_600)
    challenges = world.challenges(FlowKind.LOGIN)

    def open_and_check() -> None:
        opened = challenges.open("u-1", PHONE, ORIGIN)
        challenges.check(opened.flow_id, world.sender.last_code(PHONE), ORIGIN)

    benchmark(open_and_check)
    assert benchmark.stats["mean"] < 0.005
