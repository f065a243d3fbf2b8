"""One login (POST /login, then POST /login/verify with the code sent) through the real
handlers with tracing on, as Lambda runs them: `python -m tests.support.traced_login`.

tests/integration/test_traces.py runs it in a process of its own, with what Lambda's
environment holds for the tracer (LAMBDA_TASK_ROOT, AWS_XRAY_DAEMON_ADDRESS pointing at the
test's UDP socket), so that the tracer is enabled and patches as in Lambda, and nothing it
patches outlives the run. Each invocation gets its own trace id (_X_AMZN_TRACE_ID, as Lambda
sets it): a wrong code first, then the right one. The last line printed is JSON: the trace id
of each request, and the codes and the token, which the test must not find in the segments.
"""

from __future__ import annotations

import json
import os
import secrets
import time

import pytest

from devtools.telnyx_emulator import EmulatorConfig, TelnyxEmulator
from tests.support.lambda_env import offline_aws_environment
from tests.support.verify_stack import verify_stack


def new_trace_id() -> str:
    """A trace header as Lambda's: a new sampled root, the function's segment its parent."""
    root = f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"
    os.environ["_X_AMZN_TRACE_ID"] = f"Root={root};Parent={secrets.token_hex(8)};Sampled=1"
    return root


def main() -> None:
    emulator = TelnyxEmulator(EmulatorConfig(port=0, log_requests=False)).start()
    try:
        with pytest.MonkeyPatch.context() as monkeypatch:
            offline_aws_environment(monkeypatch)
            with verify_stack(monkeypatch, emulator) as stack:
                login_trace = new_trace_id()
                flow_id = stack.login()
                code = stack.code()
                wrong_trace = new_trace_id()
                wrong = f"{(int(code) + 1) % 10**6:06d}"
                status, body, _ = stack.call("login_verify", {"flow_id": flow_id, "code": wrong})
                assert status == 401, body
                verify_trace = new_trace_id()
                status, body, _ = stack.call("login_verify", {"flow_id": flow_id, "code": code})
                assert status == 200, body
    finally:
        emulator.stop()
    found = {
        "traces": {"login": login_trace, "wrong code": wrong_trace, "verify": verify_trace},
        "secrets": {"code": code, "wrong code": wrong, "token": body["token"]},
    }
    print(json.dumps(found))


if __name__ == "__main__":
    main()
