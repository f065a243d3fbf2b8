"""Production-safe defaults, read from template.yaml and samconfig.toml as a deploy would take
them: no wildcard CORS origin, codes of at least 6 digits, every alarm wired to a topic, the
SMS-pumping conversion alarm, a capped public webhook, an API access log with a retention,
API Gateway's own answers in the functions' error shape, and the connections table and the
WebSocket stage given to every function that pushes live status."""

from __future__ import annotations

import json
import re
import tomllib
from typing import Any

import pytest

from devtools.aws_resources import LOCAL_ORIGIN, TEMPLATE, load_template
from phoneverify import (
    account_data_config,
    config,
    email_config,
    factor_config,
    live_status_config,
    lost_phone_config,
    passkey_config,
    reconcile_config,
)
from phoneverify.config import Settings
from phoneverify.domain.audit_events import VerificationEventType
from phoneverify.domain.errors import (
    DomainError,
    NotAuthenticated,
    RetryLater,
    StorageUnavailable,
    TokenRefused,
)
from phoneverify.http.errors import error_body, error_headers

TOPIC_IN_USE = [{"Fn::If": ["HasAlarmTopic", {"Ref": "AlarmTopicArn"}, {"Ref": "AlarmTopic"}]}]


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def parameter(template: dict[str, Any], name: str) -> dict[str, Any]:
    declared: dict[str, Any] = template["Parameters"][name]
    return declared


def resources_of(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {k: v for k, v in template["Resources"].items() if v["Type"] == kind}


def deploy_overrides() -> dict[str, dict[str, str]]:
    """samconfig.toml's deploy parameter_overrides per config env, as Key=Value pairs."""
    config = tomllib.loads((TEMPLATE.parent / "samconfig.toml").read_text())
    found = {}
    for env, commands in config.items():
        if not isinstance(commands, dict) or "deploy" not in commands:
            continue
        pairs = commands["deploy"]["parameters"].get("parameter_overrides", "")
        found[env] = dict(pair.split("=", 1) for pair in pairs.split())
    return found


# -- CORS ------------------------------------------------------------------------------------
def test_a_deploy_must_name_its_origin_and_cannot_name_a_wildcard(
    template: dict[str, Any],
) -> None:
    # Given the AllowedOrigin parameter
    origin = parameter(template, "AllowedOrigin")
    # Then it has no default, so a deploy that forgets it fails instead of allowing "*"
    assert "Default" not in origin
    # and CloudFormation refuses a wildcard, a path or a list
    pattern = re.compile(origin["AllowedPattern"])
    for refused in ("*", "https://*.example.com", "https://app.example.com/", "a,b", ""):
        assert not pattern.fullmatch(refused), refused
    for allowed in ("https://app.example.com", LOCAL_ORIGIN):
        assert pattern.fullmatch(allowed), allowed
    # and every deploy environment in samconfig.toml names an origin the pattern accepts
    overrides = deploy_overrides()
    assert {"default", "prod"} <= set(overrides)
    for env, values in overrides.items():
        assert pattern.fullmatch(values.get("AllowedOrigin", "")), env


# -- codes -----------------------------------------------------------------------------------
def test_codes_have_at_least_six_digits(template: dict[str, Any]) -> None:
    length = parameter(template, "VerifyCodeLength")
    assert length["MinValue"] == 6
    assert int(length["Default"]) >= 6


# -- alarms ----------------------------------------------------------------------------------
def test_every_alarm_notifies_the_topic_in_use(template: dict[str, Any]) -> None:
    # Given the alarms of the stack
    alarms = resources_of(template, "AWS::CloudWatch::Alarm")
    assert {
        "SmsBudgetExhaustedAlarm",
        "SmsBudgetNearlySpentAlarm",
        "CodeConversionLowAlarm",
        "NoticeFailedAlarm",
    } <= (set(alarms))
    # Then each notifies the given topic, or else the one the stack creates, on alarm and on OK
    for name, alarm in alarms.items():
        props = alarm["Properties"]
        assert props["AlarmActions"] == TOPIC_IN_USE, name
        assert props["OKActions"] == TOPIC_IN_USE, name
    # and the stack creates its topic exactly when none is given
    conditions = template["Conditions"]
    assert conditions["CreateAlarmTopic"] == {"Fn::Equals": [{"Ref": "AlarmTopicArn"}, ""]}
    assert conditions["HasAlarmTopic"] == {"Fn::Not": [conditions["CreateAlarmTopic"]]}
    topic = template["Resources"]["AlarmTopic"]
    assert (topic["Type"], topic["Condition"]) == ("AWS::SNS::Topic", "CreateAlarmTopic")
    # and AlarmEmail, when given, is subscribed to that topic
    subscription = template["Resources"]["AlarmEmailSubscription"]
    assert subscription["Condition"] == "SubscribeAlarmEmail"
    assert subscription["Properties"]["TopicArn"] == {"Ref": "AlarmTopic"}
    assert subscription["Properties"]["Endpoint"] == {"Ref": "AlarmEmail"}
    assert parameter(template, "AlarmEmail")["Default"] == ""


def test_the_conversion_alarm_watches_codes_verified_against_codes_sent(
    template: dict[str, Any],
) -> None:
    # Given the conversion alarm
    props = template["Resources"]["CodeConversionLowAlarm"]["Properties"]
    metrics = {m["Id"]: m for m in props["Metrics"]}
    # Then it reads the counts the flows publish, under the service's namespace and dimension
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    published = {
        "sent": VerificationEventType.SENT,
        "resent": VerificationEventType.RESENT,
        "accepted": VerificationEventType.ACCEPTED,
    }
    for metric_id, event in published.items():
        stat = metrics[metric_id]["MetricStat"]
        assert stat["Metric"]["MetricName"] == f"Verification_{event.value}"
        assert stat["Metric"]["Namespace"] == env["POWERTOOLS_METRICS_NAMESPACE"]
        assert stat["Metric"]["Dimensions"] == [
            {"Name": "service", "Value": env["POWERTOOLS_SERVICE_NAME"]}
        ]
        assert (stat["Period"], stat["Stat"]) == (3600, "Sum")
    # and it fires below the threshold (20 % by default) once enough codes were sent
    (returned,) = [m for m in props["Metrics"] if m.get("ReturnData", True)]
    expression = returned["Expression"]["Fn::Sub"]
    assert "${ConversionAlarmMinCodes}" in expression and "accepted" in expression
    assert props["Threshold"] == {"Ref": "ConversionAlarmThresholdPercent"}
    assert props["ComparisonOperator"] == "LessThanThreshold"
    assert props["TreatMissingData"] == "notBreaching"
    assert parameter(template, "ConversionAlarmThresholdPercent")["Default"] == 20
    assert parameter(template, "ConversionAlarmMinCodes")["Default"] >= 1


# -- the public webhook ----------------------------------------------------------------------
def test_every_public_function_url_has_reserved_concurrency(template: dict[str, Any]) -> None:
    functions = resources_of(template, "AWS::Serverless::Function")
    public = {
        name: fn["Properties"]
        for name, fn in functions.items()
        if fn["Properties"].get("FunctionUrlConfig", {}).get("AuthType") == "NONE"
    }
    assert "TelnyxWebhookFunction" in public
    for name, props in public.items():
        assert props.get("ReservedConcurrentExecutions") == {
            "Fn::If": [
                "ReservesWebhookConcurrency",
                {"Ref": "WebhookReservedConcurrency"},
                {"Ref": "AWS::NoValue"},
            ]
        }, name
    assert parameter(template, "WebhookReservedConcurrency")["Default"] == 10


# -- logs ------------------------------------------------------------------------------------
def test_the_api_stage_writes_a_json_access_log_with_a_retention(template: dict[str, Any]) -> None:
    # Given the API's access log setting
    setting = template["Resources"]["PhoneVerifyApi"]["Properties"]["AccessLogSetting"]
    # Then it goes to the stack's log group, which has a retention (90 days by default)
    assert setting["DestinationArn"] == {"Fn::GetAtt": ["ApiAccessLogGroup", "Arn"]}
    group = template["Resources"]["ApiAccessLogGroup"]
    assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}
    assert parameter(template, "LogRetentionDays")["Default"] == 90
    # and each line is JSON with what an investigation needs
    line = json.loads(setting["Format"])
    assert {
        "requestId",
        "sourceIp",
        "httpMethod",
        "resourcePath",
        "status",
        "responseLength",
        "userAgent",
        "authorizerError",
    } <= set(line)
    assert line["authorizerError"] == "$context.authorizer.error"
    # and no request path or query string, where a flow id could be
    assert not {"$context.path", "$input.params()"} & set(line.values())


def test_the_functions_log_to_a_group_with_a_retention(template: dict[str, Any]) -> None:
    logging = template["Globals"]["Function"]["LoggingConfig"]
    assert logging["LogGroup"] == {"Ref": "FunctionLogGroup"}
    group = template["Resources"]["FunctionLogGroup"]["Properties"]
    assert group["RetentionInDays"] == {"Ref": "LogRetentionDays"}


# -- API Gateway's own answers -----------------------------------------------------------------
GATEWAY_ANSWERS = {  # response type -> (status the template sets, code; None: by the error)
    "UNAUTHORIZED": ("401", NotAuthenticated.code),  # no Authorization header at all
    "ACCESS_DENIED": ("401", NotAuthenticated.code),  # the authorizer's Deny: a refused token
    "AUTHORIZER_FAILURE": ("503", StorageUnavailable.code),  # the authorizer raised
    "AUTHORIZER_CONFIGURATION_ERROR": ("503", StorageUnavailable.code),  # (its other name)
    "MISSING_AUTHENTICATION_TOKEN": ("404", "not_found"),
    "THROTTLED": ("429", RetryLater.code),
    "INTEGRATION_FAILURE": ("503", StorageUnavailable.code),
    "INTEGRATION_TIMEOUT": ("504", "timeout"),
    "DEFAULT_4XX": (None, DomainError.code),
    "DEFAULT_5XX": (None, "internal_error"),
}


def gateway_body(response: dict[str, Any]) -> dict[str, Any]:
    """The JSON a gateway response answers, with API Gateway's message filled in."""
    template = response["ResponseTemplates"]["application/json"]
    body: dict[str, Any] = json.loads(
        template.replace("$context.error.messageString", '"Request Too Long"')
    )
    return body


def test_api_gateways_own_answers_have_the_functions_error_shape_and_cors(
    template: dict[str, Any],
) -> None:
    # Given the API's GatewayResponses
    responses = template["Resources"]["PhoneVerifyApi"]["Properties"]["GatewayResponses"]
    # Then every answer API Gateway gives itself is an {"error", "code"} body
    assert set(responses) == set(GATEWAY_ANSWERS)
    for kind, (status, code) in GATEWAY_ANSWERS.items():
        response = responses[kind]
        body = gateway_body(response)
        assert body["code"] == code, kind
        assert isinstance(body["error"], str) and body["error"], kind
        assert response.get("StatusCode") == status, kind
        # that the page on the allowed origin can read
        headers = response["ResponseParameters"]["Headers"]
        assert headers["Access-Control-Allow-Origin"] == {"Fn::Sub": "'${AllowedOrigin}'"}, kind
    # and the authorizer's 401s, the throttle's 429 and the 503s are the functions' own
    # answers, with the headers those answers carry
    for kind in ("UNAUTHORIZED", "ACCESS_DENIED"):
        assert gateway_body(responses[kind]) == error_body(NotAuthenticated()), kind
        assert responses[kind]["ResponseParameters"]["Headers"]["WWW-Authenticate"] == "'Bearer'"
    assert gateway_body(responses["THROTTLED"]) == error_body(RetryLater(1))
    for kind in ("THROTTLED", "AUTHORIZER_FAILURE", "AUTHORIZER_CONFIGURATION_ERROR"):
        assert responses[kind]["ResponseParameters"]["Headers"]["Retry-After"] == "'1'", kind
    for kind in ("AUTHORIZER_FAILURE", "AUTHORIZER_CONFIGURATION_ERROR", "INTEGRATION_FAILURE"):
        assert gateway_body(responses[kind]) == error_body(StorageUnavailable()), kind
        assert responses[kind]["ResponseParameters"]["Headers"]["Retry-After"] == "'1'", kind


def test_a_functions_own_401_carries_the_gateways_bearer_challenge(
    template: dict[str, Any],
) -> None:
    # Given the gateway's 401 for a refused token
    responses = template["Resources"]["PhoneVerifyApi"]["Properties"]["GatewayResponses"]
    challenge = responses["ACCESS_DENIED"]["ResponseParameters"]["Headers"]["WWW-Authenticate"]
    # Then a route that checks the token itself (logout, a payment's status) answers the same
    assert error_headers(TokenRefused("token_ended")) == {"WWW-Authenticate": challenge[1:-1]}


# -- the proof-of-work gate (docs/abuse-controls.md#the-proof-of-work-gate) ------------------
def test_the_gate_is_risky_by_default_and_only_its_functions_read_its_key(
    template: dict[str, Any],
) -> None:
    # Given the gate's parameters, handed to every function
    mode = parameter(template, "ChallengeMode")
    assert (mode["Default"], sorted(mode["AllowedValues"])) == ("risky", ["always", "off", "risky"])
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert env["CHALLENGE_MODE"] == {"Ref": "ChallengeMode"}
    assert env["ALTCHA_HMAC_KEY_PARAM"] == {"Ref": "AltchaHmacKeyParameterName"}
    # Then only GET /challenge and the two starts may read the key from SSM
    key = "${AltchaHmacKeyParameterName}"
    readers = {
        name
        for name, fn in resources_of(template, "AWS::Serverless::Function").items()
        if key in json.dumps(fn["Properties"].get("Policies", []))
    }
    assert readers == {
        "ChallengeFunction",
        "RegisterStartFunction",
        "PasswordResetStartFunction",
        "LoginFunction",  # a source over its failure cap (docs/abuse-controls.md)
    }
    # and GET /challenge reads nothing else and writes nowhere
    (policy,) = template["Resources"]["ChallengeFunction"]["Properties"]["Policies"]
    (statement,) = policy["Statement"]
    assert statement["Action"] == ["ssm:GetParameter"]
    # and the starts may put only spent solutions (altcha#...) in RateLimitsTable, and the
    # sign-up the day's mark of a "someone tried" notice (tried#...: docs/email.md)
    marks = {"RegisterStartFunction": ["altcha#*", "tried#*"]}
    for name in ("RegisterStartFunction", "PasswordResetStartFunction", "LoginFunction"):
        (policy,) = template["Resources"][name]["Properties"]["Policies"]
        puts = [
            s
            for s in policy["Statement"]
            if s["Resource"] == {"Fn::GetAtt": ["RateLimitsTable", "Arn"]}
            and "dynamodb:PutItem" in s["Action"]
        ]
        assert [s["Condition"] for s in puts] == [
            {"ForAllValues:StringLike": {"dynamodb:LeadingKeys": marks.get(name, ["altcha#*"])}}
        ], name


# -- the audit trail's pepper (docs/audit-log.md) -------------------------------------------
def test_every_function_that_writes_the_audit_trail_and_only_those_may_read_the_pepper(
    template: dict[str, Any],
) -> None:
    env = template["Globals"]["Function"]["Environment"]["Variables"]
    assert env["HASH_PEPPER_PARAM"] == {"Ref": "HashPepperParameterName"}
    functions = resources_of(template, "AWS::Serverless::Function")
    policies = {
        name: json.dumps(fn["Properties"].get("Policies", [])) for name, fn in functions.items()
    }
    auditing = {name for name, text in policies.items() if "AuditTable" in text}
    readers = {name for name, text in policies.items() if "${HashPepperParameterName}" in text}
    assert readers == auditing
    assert {"LoginFunction", "AuthorizerFunction", "LogoutFunction"} <= readers


# -- live status (docs/realtime.md) ------------------------------------------------------------
# The functions that check or resend a code bound to an account's phone: its flow ends as
# superseded there when the account's phone changed since, and its watchers are told.
ENDS_FLOWS_AS_SUPERSEDED = {
    "login_verify",
    "login_resend",
    "password_reset_verify",
    "password_reset_resend",
    "account_phone_verify",
    "account_phone_resend",
    "payments_confirm",
    "payments_resend",
}


def settings_of(code_uri: str) -> type[Settings]:
    """The settings type a function's app.py builds its runtime from."""
    source = (TEMPLATE.parent / code_uri / "app.py").read_text()
    found = re.search(r"Runtime\.from_environment\((\w+)\)", source)
    assert found is not None, code_uri
    settings: type[Settings] = (
        getattr(config, found[1], None)
        or getattr(live_status_config, found[1], None)
        or getattr(email_config, found[1], None)
        or getattr(factor_config, found[1], None)
        or getattr(lost_phone_config, found[1], None)
        or getattr(passkey_config, found[1], None)
        or getattr(reconcile_config, found[1], None)
        or getattr(account_data_config, found[1])
    )
    return settings


def test_every_function_that_pushes_live_status_is_given_the_connections_and_the_stage(
    template: dict[str, Any],
) -> None:
    pushing, managing = set(), set()
    for fn in resources_of(template, "AWS::Serverless::Function").values():
        props = fn["Properties"]
        directory = props["CodeUri"].strip("/").split("/")[-1]
        env = props.get("Environment", {}).get("Variables", {})
        if settings_of(props["CodeUri"]).pushes_live_status:
            pushing.add(directory)
            assert env["CONNECTIONS_TABLE"] == {"Ref": "ConnectionsTable"}, directory
            assert "LiveStatusWebSocketApi" in str(env["WEBSOCKET_MANAGEMENT_URL"]), directory
        if "execute-api:ManageConnections" in json.dumps(props.get("Policies", [])):
            managing.add(directory)
    assert pushing >= ENDS_FLOWS_AS_SUPERSEDED | {"verify_cancel", "webhook_telnyx"}
    # every one that pushes may post to connections; $disconnect only forgets one
    assert managing == pushing - {"ws_disconnect"}
