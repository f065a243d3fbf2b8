"""Every function's entry point is traced (phoneverify/tracing.py), and the annotations a
person filters traces by come from the places that know them. What the tracer sends, read
off the wire: tests/integration/test_traces.py."""

from __future__ import annotations

from typing import Any

import pytest

from devtools.aws_resources import load_template
from phoneverify import tracing
from phoneverify.adapters.event_log import LoggedVerificationEvents
from phoneverify.domain.audit_events import VerificationEvent, VerificationEventType
from phoneverify.domain.errors import InvalidCode
from phoneverify.domain.models import FlowKind, RequestOrigin
from phoneverify.http.errors import domain_error_response
from tests.support.cold_start import function_names
from tests.support.lambda_env import load_function, template_environment


def logical_ids() -> dict[str, str]:
    """functions/<directory> -> logical id, for every function (with a route or not)."""
    found = {}
    for logical_id, resource in load_template()["Resources"].items():
        if resource.get("Type") == "AWS::Serverless::Function":
            found[str(resource["Properties"]["CodeUri"]).strip("/").split("/")[-1]] = logical_id
    return found


@pytest.mark.parametrize("function", function_names())
def test_every_function_handler_is_traced(function: str, monkeypatch: pytest.MonkeyPatch) -> None:
    module = load_function(function, monkeypatch, template_environment(logical_ids()[function]))
    assert tracing.is_traced(module.lambda_handler)


def test_a_handler_not_wrapped_is_not_traced() -> None:
    def handler(event: Any, context: Any) -> None: ...

    assert not tracing.is_traced(handler)
    assert tracing.is_traced(tracing.traced(handler))


@pytest.fixture
def annotations(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    put: dict[str, Any] = {}
    monkeypatch.setattr(tracing.tracer, "put_annotation", lambda k, v: put.__setitem__(k, v))
    return put


def test_a_verification_event_annotates_flow_outcome_and_channel(
    annotations: dict[str, Any],
) -> None:
    LoggedVerificationEvents().record(
        VerificationEvent(
            type=VerificationEventType.SENT,
            kind=FlowKind.LOGIN,
            subject="u-1",
            masked_phone="+1******0123",
            at=0.0,
            origin=RequestOrigin("203.0.113.9", "test"),
            detail={"channel": "sms"},
        )
    )
    assert annotations == {"flow": "login", "outcome": "sent", "channel": "sms"}


def test_an_error_answer_annotates_its_code(annotations: dict[str, Any]) -> None:
    domain_error_response(InvalidCode(attempts_remaining=2))
    assert annotations == {"error_code": InvalidCode.code}


def test_an_annotation_x_ray_refuses_never_fails_the_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse(key: str, value: object) -> None:
        raise RuntimeError("facade segment is read-only")

    monkeypatch.setattr(tracing.tracer, "put_annotation", refuse)
    tracing.annotate(flow="login")  # no exception


def test_every_function_is_traced_by_lambda_and_may_write_traces() -> None:
    template = load_template()
    function_globals = template["Globals"]["Function"]
    assert function_globals["Tracing"] == "Active"
    assert function_globals["Environment"]["Variables"]["POWERTOOLS_TRACER_CAPTURE_RESPONSE"] == (
        "false"
    )
    for logical_id in logical_ids().values():
        props = template["Resources"][logical_id]["Properties"]
        assert props.get("Tracing", "Active") == "Active", logical_id
        # SAM adds AWSXrayWriteOnlyAccess to the role it makes; a role of our own would not
        assert "Role" not in props, logical_id
