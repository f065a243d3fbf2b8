"""SnapStart (docs/performance.md#snapstart): the template switches it on the functions a
person waits on, each of those registers its hooks naming what its requests build, and a
restore gives each execution environment its own random state.
tests/integration/test_snapstart.py runs the hooks on the real handlers."""

from __future__ import annotations

import ast
import random
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import snapshot_restore_py

from devtools.aws_resources import load_template
from phoneverify import snapstart
from tests.support.cold_start import builders_used

ROOT = Path(__file__).resolve().parents[2]
# The functions a person waits on: sign-in (and its token check), sign-up, password reset,
# payments, the step-up before a sensitive change, and the person's data (export, deletion).
LATENCY_CRITICAL = {
    "login",
    "login_verify",
    "login_resend",
    "register_start",
    "register_verify",
    "register_resend",
    "challenge",
    "password_reset_start",
    "password_reset_verify",
    "password_reset_resend",
    "authorizer",
    "payments_initiate",
    "payments_confirm",
    "payments_resend",
    "account_reauth_start",
    "account_reauth_verify",
    "account_delete",
    "account_export",
}


def functions() -> dict[str, dict[str, Any]]:
    """functions/<directory> -> its template properties."""
    return {
        str(resource["Properties"]["CodeUri"]).strip("/").split("/")[-1]: resource["Properties"]
        for resource in load_template()["Resources"].values()
        if resource["Type"] == "AWS::Serverless::Function"
    }


def registered_builders(directory: str) -> list[str] | None:
    """The builders functions/<directory>/app.py passes to snapstart.register, or None."""
    tree = ast.parse((ROOT / "functions" / directory / "app.py").read_text("utf-8"))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "register"
            and isinstance(node.func.value, ast.Name)
            and node.func.value.id == "snapstart"
        ):
            return [str(arg.value) for arg in node.args[1:] if isinstance(arg, ast.Constant)]
    return None


def test_the_switch_is_a_parameter_off_by_default() -> None:
    parameter = load_template()["Parameters"]["SnapStart"]
    assert parameter["Default"] == "None"
    assert parameter["AllowedValues"] == ["None", "PublishedVersions"]


@pytest.mark.parametrize("directory", sorted(functions()))
def test_snapstart_is_on_the_latency_critical_functions_only(directory: str) -> None:
    props = functions()[directory]
    if directory in LATENCY_CRITICAL:
        assert props["SnapStart"] == {"ApplyOn": {"Ref": "SnapStart"}}
        # A snapshot is of a published version: the alias the API invokes.
        assert props["AutoPublishAlias"] == "live"
        # ...republished for any change of its own or of the layer's (where the flows are)
        assert props["AutoPublishAliasAllProperties"] is True
        # ...registering the hooks, and building what its requests use
        assert registered_builders(directory) == builders_used(
            ROOT / "functions" / directory / "app.py"
        )
    else:
        # Not the webhook (its function URL would move to the alias's), the notices, the
        # WebSocket routes...: nobody waits on them, and a snapshot is charged.
        assert "SnapStart" not in props and "AutoPublishAlias" not in props
        assert registered_builders(directory) is None


def test_a_new_layer_publishes_new_versions() -> None:
    layer = load_template()["Resources"]["CommonLayer"]["Properties"]
    assert layer["PublishLambdaVersion"] is True


def test_the_gateway_calls_the_authorizer_through_its_alias() -> None:
    api = load_template()["Resources"]["PhoneVerifyApi"]["Properties"]
    authorizer = api["Auth"]["Authorizers"]["JwtAuthorizer"]
    assert authorizer["FunctionArn"] == {"Ref": "AuthorizerFunction.Alias"}


@pytest.fixture
def registries() -> Iterator[tuple[list[Any], list[Any]]]:
    before = snapshot_restore_py.get_before_snapshot()
    after = snapshot_restore_py.get_after_restore()
    before.clear()
    after.clear()
    yield before, after
    before.clear()
    after.clear()


def test_without_snapstart_nothing_is_registered(
    monkeypatch: pytest.MonkeyPatch, registries: tuple[list[Any], list[Any]]
) -> None:
    for kind in (None, "on-demand", "provisioned-concurrency"):
        if kind is None:
            monkeypatch.delenv("AWS_LAMBDA_INITIALIZATION_TYPE", raising=False)
        else:
            monkeypatch.setenv("AWS_LAMBDA_INITIALIZATION_TYPE", kind)
        assert snapstart.register(object(), "login_flow") is False
    assert registries == ([], [])


def test_an_init_for_a_snapshot_registers_both_hooks(
    monkeypatch: pytest.MonkeyPatch, registries: tuple[list[Any], list[Any]]
) -> None:
    monkeypatch.setenv("AWS_LAMBDA_INITIALIZATION_TYPE", "snap-start")
    runtime = object()
    assert snapstart.register(runtime, "login_flow") is True
    before, after = registries
    assert before == [(snapstart.before_snapshot, (runtime, ("login_flow",)), {})]
    assert after == [(snapstart.after_restore, (), {})]


def test_two_restores_of_one_snapshot_draw_different_random_numbers() -> None:
    snapshot = random.getstate()  # the interpreter's state, as frozen in the snapshot

    def restore(*, hook: bool) -> list[float]:
        random.setstate(snapshot)
        if hook:
            snapstart.after_restore()
        return [random.random() for _ in range(4)]

    # Without the hook, every environment resumed from the snapshot draws the same numbers
    assert restore(hook=False) == restore(hook=False)
    # With it, each draws its own
    assert restore(hook=True) != restore(hook=True)


def test_the_hooks_module_adds_nothing_to_an_on_demand_init() -> None:
    # Its top level imports only os: the hooks library, random and Powertools' parameters are
    # imported by the hooks themselves, which an on-demand init never registers.
    tree = ast.parse(Path(snapstart.__file__).read_text("utf-8"))
    top = {
        alias.name
        for node in tree.body
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in (node.names if isinstance(node, ast.Import) else [ast.alias(node.module)])
    }
    assert top <= {"__future__", "os", "collections.abc", "typing"}
