"""Prices and in-region latencies the latency and cost model (devtools/perf_model) uses: each
price with its unit, its source and the date it was read. us-east-1, on-demand, list prices
without free tiers; change a figure here and `make bench` writes docs/cost.md and
docs/capacity.md again from it.

No price here was read from the provider's own page when this model was written (no access to
them): AWS's are the us-east-1 list prices as known in November 2024 (DynamoDB on-demand after
that month's price cut), Telnyx's and Twilio's as the secondary sources named say. Each is
`checked=False`, shown "to be checked" in docs/cost.md: read the source named, set the figure
and its date, and `checked=True`, before a budget relies on it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Price:
    usd: float  # per `unit`
    unit: str
    source: str
    date: str
    checked: bool = False  # True once read at `source` on `date`


AWS_DATE = "2024-11 (as known; not re-read)"
PRICES: dict[str, Price] = {
    "apigw_rest_request": Price(
        3.50e-6,
        "REST API request (first 333 million a month)",
        "https://aws.amazon.com/api-gateway/pricing/",
        AWS_DATE,
    ),
    "apigw_ws_message": Price(
        1.00e-6,
        "WebSocket message (32 KB increments, first billion)",
        "https://aws.amazon.com/api-gateway/pricing/",
        AWS_DATE,
    ),
    "apigw_ws_minute": Price(
        0.25e-6,
        "WebSocket connection minute",
        "https://aws.amazon.com/api-gateway/pricing/",
        AWS_DATE,
    ),
    "lambda_request": Price(
        0.20e-6, "Lambda request", "https://aws.amazon.com/lambda/pricing/", AWS_DATE
    ),
    "lambda_gb_s_arm64": Price(
        0.0000133334,
        "GB-second, arm64 (first 7.5 billion a month)",
        "https://aws.amazon.com/lambda/pricing/",
        AWS_DATE,
    ),
    "dynamodb_wru": Price(
        0.625e-6,
        "on-demand write request unit (1 KB; a transaction's item 2)",
        "https://aws.amazon.com/dynamodb/pricing/on-demand/",
        AWS_DATE,
    ),
    "dynamodb_rru": Price(
        0.125e-6,
        "on-demand read request unit (4 KB strongly consistent, 8 KB eventually)",
        "https://aws.amazon.com/dynamodb/pricing/on-demand/",
        AWS_DATE,
    ),
    "logs_ingest_gb": Price(
        0.50,
        "CloudWatch Logs ingestion, GB (standard class)",
        "https://aws.amazon.com/cloudwatch/pricing/",
        AWS_DATE,
    ),
    "metric_month": Price(
        0.30,
        "CloudWatch custom metric a month (first 10,000; EMF metrics are custom)",
        "https://aws.amazon.com/cloudwatch/pricing/",
        AWS_DATE,
    ),
    "xray_trace": Price(
        5.00e-6,
        "X-Ray trace recorded (after 100,000 a month)",
        "https://aws.amazon.com/xray/pricing/",
        AWS_DATE,
    ),
    "sns_publish": Price(
        0.50e-6,
        "SNS publish (64 KB chunk); delivery to Lambda free",
        "https://aws.amazon.com/sns/pricing/",
        AWS_DATE,
    ),
    "ses_email": Price(
        0.10e-3, "SES outbound email", "https://aws.amazon.com/ses/pricing/", AWS_DATE
    ),
    "kms_request": Price(
        0.03e-4,
        "KMS request (SSM SecureString decrypt)",
        "https://aws.amazon.com/kms/pricing/",
        AWS_DATE,
    ),
    # Telnyx: a successful verification plus the channel's message, as parameters.
    "telnyx_verify_success": Price(
        0.03,
        "Telnyx Verify, successful verification (plus the channel's cost)",
        "https://telnyx.com/pricing/verify-api (as summarised 2026-07-11 by "
        "github.com/api-evangelist/telnyx-verify finops/telnyx-verify-finops.yml)",
        "2026-07-11",
    ),
    "telnyx_sms_us": Price(
        0.004,
        "Telnyx SMS to a US number (channel cost of a code, and of a notice)",
        "the figure used; no source found: read it at https://telnyx.com/pricing/messaging",
        "not found",
    ),
    # Beside it: a hosted verification service's list price, for comparison only.
    "twilio_verify_success": Price(
        0.05,
        "Twilio Verify, successful verification (plus the channel's cost)",
        "https://www.twilio.com/en-us/verify/pricing (figure also quoted at "
        "github.com/modxcms/twilio/wiki, 2022-10-11)",
        "2022-10-11",
    ),
    "twilio_sms_us": Price(
        0.0083,
        "Twilio SMS to a US number (Verify's SMS channel fee)",
        "the figure used; no source found: read it at https://www.twilio.com/en-us/sms/pricing/us",
        "not found",
    ),
}


@dataclass(frozen=True)
class Assumptions:
    """What the model assumes beyond what is measured: in-region latencies and per-journey
    shares. Each is stated in docs/cost.md beside its figure."""

    dynamodb_ms: float = 5.0  # one DynamoDB call, in-region
    ssm_ms: float = 10.0  # one SSM GetParameter, in-region: cold parameter cache only
    telnyx_ms: float = 100.0  # one Telnyx API call from the region (replace by the measured p50)
    full_vcpu_mb: int = 1769  # AWS: one vCPU-second of credit per second at 1,769 MB
    log_bytes_platform: int = 350  # START, END and REPORT lines per invocation
    xray_sampled: float = 0.05  # default sampling rule: 1 a second, then 5 %
    ssm_refresh_share: float = 0.01  # requests that find the parameter cache cold
    ws_minutes: float = 1.0  # a page watching its flow's status, per code sent
    ws_messages: float = 3.0  # connect, status pushes, close
    bounce_share: float = 0.02  # emails reported back by SES through SNS
    metrics: int = 40  # EMF metric names x dimensions, billed a month whatever the traffic
    cost_tolerance: float = 0.10  # the rule's X: cost per request at most 10 % over the least
    latency_tolerance_ms: float = 10.0  # the rule's "as fast": within 10 ms of the fastest


ASSUMPTIONS = Assumptions()
