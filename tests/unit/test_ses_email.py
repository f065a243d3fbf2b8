"""The SES v2 EmailSender's failures: a refusal or an outage is EmailDeliveryFailed, and what is
logged names SES's reason and a masked address, never the message (an email code) nor the
address in full."""

from __future__ import annotations

from typing import Any
from unittest import mock

import boto3
import pytest
from botocore.exceptions import EndpointConnectionError
from botocore.stub import Stubber

from phoneverify.adapters import ses
from phoneverify.adapters.ses import SesEmailSender
from phoneverify.domain.email_messages import EmailMessage
from phoneverify.domain.errors import EmailDeliveryFailed

TO = "ada.lovelace@example.com"
MESSAGE = EmailMessage(subject="Your code", text="Your code is 482913. It expires in 10 minutes.")


def logged(warning: mock.Mock) -> str:
    return " ".join(str(call) for call in warning.call_args_list)


def test_a_refused_email_logs_ses_reason_and_a_masked_address_only() -> None:
    # Given SES refusing the message
    client = boto3.client(
        "sesv2", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    stubber = Stubber(client)
    stubber.add_client_error("send_email", service_error_code="MessageRejected")
    sender = SesEmailSender(lambda: client, "no-reply@example.com")
    # When an email code is sent
    with (
        stubber,
        mock.patch.object(ses.logger, "warning") as warning,
        pytest.raises(EmailDeliveryFailed),
    ):
        sender.send(TO, MESSAGE)
    # Then the log says why, to whom (masked), and nothing of the message
    line = logged(warning)
    assert "MessageRejected" in line
    assert "482913" not in line and MESSAGE.text not in line
    assert TO not in line and "lovelace" not in line


def test_an_unreachable_service_is_a_delivery_failure_that_logs_no_message() -> None:
    def unreachable(**_: Any) -> None:
        raise EndpointConnectionError(endpoint_url="https://email.us-east-1.amazonaws.com")

    client = mock.Mock(send_email=unreachable)
    sender = SesEmailSender(lambda: client, "no-reply@example.com")
    with (
        mock.patch.object(ses.logger, "warning") as warning,
        pytest.raises(EmailDeliveryFailed),
    ):
        sender.send(TO, MESSAGE)
    line = logged(warning)
    assert "EndpointConnectionError" in line
    assert "482913" not in line and TO not in line
