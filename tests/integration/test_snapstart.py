"""SnapStart's hooks on the real handlers (phoneverify/snapstart.py), loaded as Lambda loads
them for a snapshot (AWS_LAMBDA_INITIALIZATION_TYPE=snap-start) over moto and the Telnyx
emulator: the hooks registered with the runtime's own library (snapshot-restore-py) and run as
the runtime runs them. Every AWS call is counted where botocore makes it (any client, any
service) and every Telnyx call where httpx sends it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import fields
from typing import Any

import httpx
import pytest
import snapshot_restore_py
from botocore.client import BaseClient

from devtools.aws_resources import LOCAL_ORIGIN
from devtools.local_gateway.template import load_template, translate
from devtools.telnyx_emulator import TelnyxEmulator
from phoneverify.domain.models import User
from phoneverify.domain.passwords import PasswordHasher
from tests.support.function_stack import FunctionStack, function_stack
from tests.support.lambda_env import ROOT

PHONE = "+14155550123"
PASSWORD = "correct horse battery staple"
# One function of each builder a SnapStart function names (tests/unit/test_snapstart.py).
FUNCTIONS = [
    "login",
    "login_verify",
    "register_start",
    "password_reset_start",
    "challenge",
    "payments_initiate",
    "account_reauth_start",
]


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """Every AWS call ("ssm.GetParameter"...) and Telnyx call ("telnyx") from now on."""
    counted: Counter[str] = Counter()
    make_api_call = BaseClient._make_api_call
    send = httpx.Client.send

    def counting_api_call(self: BaseClient, operation: str, params: Any) -> Any:
        counted[f"{self.meta.service_model.service_name}.{operation}"] += 1
        return make_api_call(self, operation, params)

    def counting_send(self: httpx.Client, request: httpx.Request, **kwargs: Any) -> Any:
        counted["telnyx"] += 1
        return send(self, request, **kwargs)

    monkeypatch.setattr(BaseClient, "_make_api_call", counting_api_call)
    monkeypatch.setattr(httpx.Client, "send", counting_send)
    return counted


def of(calls: Counter[str], service: str) -> int:
    return sum(n for name, n in calls.items() if name.split(".")[0] == service)


@pytest.fixture
def hooks() -> Iterator[None]:
    """The runtime library's registries, empty before and after the test."""
    registries = (
        snapshot_restore_py.get_before_snapshot(),
        snapshot_restore_py.get_after_restore(),
    )
    for registry in registries:
        registry.clear()
    yield
    for registry in registries:
        registry.clear()


def run(registry: list[Any], *, reverse: bool = False) -> None:
    """Call the registered hooks as Lambda does: before the snapshot in reverse order of
    registration, after a restore in order."""
    for func, args, kwargs in reversed(registry) if reverse else registry:
        func(*args, **kwargs)


@pytest.fixture
def stack(
    monkeypatch: pytest.MonkeyPatch, emulator: TelnyxEmulator, hooks: None
) -> Iterator[FunctionStack]:
    snapshot = {"AWS_LAMBDA_INITIALIZATION_TYPE": "snap-start", "BCRYPT_COST": "10"}
    with function_stack(monkeypatch, emulator, FUNCTIONS, snapshot) as running:
        running.users.put_user(
            User("u-demo", "demo@example.com", PasswordHasher(cost=4).hash(PASSWORD), PHONE),
            phone_verified_at=0,
        )
        yield FunctionStack(**{f.name: getattr(running, f.name) for f in fields(running)})


def test_the_before_snapshot_hooks_build_each_flow_and_call_no_one(
    stack: FunctionStack, calls: Counter[str]
) -> None:
    # Given the functions loaded for a snapshot: each registered its hooks, built nothing yet
    before = snapshot_restore_py.get_before_snapshot()
    assert len(before) == len(FUNCTIONS)
    assert len(snapshot_restore_py.get_after_restore()) == len(FUNCTIONS)
    assert "login_flow" not in vars(stack.functions["login"].runtime)

    # When Lambda runs the before-snapshot hooks
    run(before, reverse=True)

    # Then every function's flows are built, with the bcrypt of unknown accounts
    built = {name: vars(module.runtime) for name, module in stack.functions.items()}
    assert "login_flow" in built["login"] and "login_flow" in built["login_verify"]
    assert "registration_flow" in built["register_start"]
    assert "password_reset_flow" in built["password_reset_start"]
    assert "human_check" in built["challenge"]
    assert {"payment_flow", "idempotency"} <= set(built["payments_initiate"])
    assert "reauth_flow" in built["account_reauth_start"]
    assert all("dynamodb" in runtime for runtime in built.values())
    assert "_dummy_hash" in vars(stack.functions["login"].runtime.passwords)
    # ...and not one call was made: no DynamoDB, no SSM (no secret read), no Telnyx
    assert calls == Counter()

    # And the counting sees a request's calls (it would have seen the hooks')
    status, body, _ = stack.call("login", {"email": "demo@example.com", "password": PASSWORD})
    assert status == 200, body
    assert of(calls, "dynamodb") > 0 and of(calls, "ssm") > 0 and calls["telnyx"] > 0


def test_after_a_restore_the_next_request_reads_its_secrets_again(
    stack: FunctionStack, calls: Counter[str]
) -> None:
    login = {"email": "demo@example.com", "password": PASSWORD}
    run(snapshot_restore_py.get_before_snapshot(), reverse=True)

    # Given a login that read its secrets, and one that found them cached
    assert stack.call("login", login)[0] == 200
    first = of(calls, "ssm")
    assert first > 0
    assert stack.call("login", login)[0] == 200
    assert of(calls, "ssm") == first  # cached: no SSM call

    # When the environment is restored from a snapshot
    run(snapshot_restore_py.get_after_restore())

    # Then the next request reads its secrets from SSM again
    assert stack.call("login", login)[0] == 200
    assert of(calls, "ssm") == 2 * first


def test_an_on_demand_init_registers_no_hook(
    monkeypatch: pytest.MonkeyPatch, emulator: TelnyxEmulator, hooks: None
) -> None:
    on_demand = {"AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand"}
    with function_stack(monkeypatch, emulator, ["login"], on_demand) as running:
        assert snapshot_restore_py.get_before_snapshot() == []
        assert snapshot_restore_py.get_after_restore() == []
        assert "login_flow" not in vars(running.functions["login"].runtime)


def published_versions(change: Callable[[dict[str, Any]], None] | None = None) -> set[str]:
    """The logical ids of the Lambda versions SAM's transform makes of template.yaml (after
    `change`): a new id is a new version published, and the alias `live` moved to it."""
    template = load_template(ROOT / "template.yaml")
    if change is not None:
        change(template["Resources"])
    resources = translate(template, {"AllowedOrigin": LOCAL_ORIGIN}, "us-east-1")["Resources"]
    return {name for name, r in resources.items() if r["Type"] == "AWS::Lambda::Version"}


def test_a_deploy_of_new_code_or_a_new_layer_moves_the_alias_to_a_new_version() -> None:
    def new_layer(resources: dict[str, Any]) -> None:
        resources["CommonLayer"]["Properties"]["ContentUri"] = "s3://artifacts/layer-v2.zip"

    def new_login(resources: dict[str, Any]) -> None:
        resources["LoginFunction"]["Properties"]["CodeUri"] = "s3://artifacts/login-v2.zip"

    today = published_versions()
    assert len(today) == 18  # the SnapStart functions, each with its alias
    # The flows live in the layer: a new layer is a new version of every aliased function
    # (else the alias would keep running the old layer's code)
    assert published_versions(new_layer).isdisjoint(today)
    # A function's own code: that function's
    assert len(today - published_versions(new_login)) == 1
