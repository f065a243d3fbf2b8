"""What a client would read: a flow's result as its endpoint's JSON body (http/responses.py)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from phoneverify.domain.tokens import AccessToken
from phoneverify.flows.engine.any_flow import ChallengeState
from phoneverify.flows.engine.policy import OpenedChallenge, Resent
from phoneverify.flows.login import SecondFactorRequired
from phoneverify.flows.password_reset import PasswordResetDone
from phoneverify.flows.phone_change import PhoneChanged
from phoneverify.flows.registration import Registered, RegistrationStarted
from phoneverify.flows.sessions import LoggedOut
from phoneverify.http import responses, status_responses
from phoneverify.ports.payments import PaymentCompleted, PaymentVerificationRequired


def answer(result: object) -> dict[str, Any]:
    """The JSON body the endpoint that returns `result` answers, as a dict."""
    model: BaseModel
    if isinstance(result, AccessToken | SecondFactorRequired):
        model = responses.login_response(result)
    elif isinstance(result, OpenedChallenge):
        model = responses.challenge_response(result)
    elif isinstance(result, Resent):
        model = responses.resent_response(result)
    elif isinstance(result, RegistrationStarted):
        model = responses.registration_started_response(result)
    elif isinstance(result, Registered):
        model = responses.registered_response(result)
    elif isinstance(result, PasswordResetDone):
        model = responses.password_reset_response(result)
    elif isinstance(result, LoggedOut):
        model = responses.logged_out_response(result)
    elif isinstance(result, PaymentCompleted | PaymentVerificationRequired):
        model = responses.payment_response(result)
    elif isinstance(result, PhoneChanged):
        model = responses.phone_changed_response(result)
    elif isinstance(result, ChallengeState):
        model = status_responses.status_response(result)
    else:
        raise TypeError(f"no response for {type(result).__name__}")
    return model.model_dump(mode="json")
