"""Round trips per request: the DynamoDB, SSM and Telnyx calls each endpoint makes, counted on
the real handlers (moto and the Telnyx emulator, as tests/integration runs them).

DynamoDB and SSM calls are counted by a botocore `before-call` hook on the clients the
functions use (the runtime's DynamoDB client, Powertools' SSM provider); Telnyx calls by an
httpx request hook on the runtime's Telnyx client. SSM is counted on a cold execution
environment (the parameter cache emptied before the request): what the request reads once;
a warm one reads nothing until SECRETS_MAX_AGE_SECS passes.

`round_trips_per_endpoint()` runs one request of each endpoint of the table (docs/design.md,
"Round trips per request") and answers {endpoint: {"dynamodb": n, "ssm": n, "telnyx": n}};
tests/integration/test_round_trips.py holds it to its budget, `make bench` prints it.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

import httpx
import pytest
from aws_lambda_powertools.utilities.parameters.base import DEFAULT_PROVIDERS
from aws_lambda_powertools.utilities.parameters.ssm import SSMProvider

from devtools.telnyx_emulator import EmulatorConfig, TelnyxEmulator
from phoneverify.domain.models import User
from phoneverify.domain.passwords import PasswordHasher
from tests.support.function_stack import FunctionStack, function_stack, sent_email_code
from tests.support.lambda_env import api_event, invoke, offline_aws_environment, url_event
from tests.support.proofs import solve
from tests.support.round_trips_email import FUNCTIONS as EMAIL_FUNCTIONS
from tests.support.round_trips_email import measure_email
from tests.support.round_trips_lost_phone import FUNCTIONS as LOST_PHONE_FUNCTIONS
from tests.support.round_trips_lost_phone import (
    measure_lost_phone,
)
from tests.support.round_trips_passkeys import FUNCTIONS as PASSKEY_FUNCTIONS
from tests.support.round_trips_passkeys import measure_passkey_steps, measure_passkeys
from tests.support.round_trips_ses import measure_ses_events
from tests.support.round_trips_totp import FUNCTIONS as TOTP_FUNCTIONS
from tests.support.round_trips_totp import measure_totp
from tests.support.verify_stack import telnyx_event, webhook_function

Tally = Counter[str]  # "dynamodb" / "ssm" / "telnyx" -> calls, "dynamodb.GetItem" -> calls
SERVICES = ("dynamodb", "ssm", "telnyx")
HOOK_ID = "round-trips"  # one hook per client, however often it is watched

_active: list[Tally] = []


def _count(name: str) -> None:
    for tally in _active:
        tally[name.split(".")[0]] += 1
        tally[name] += 1


def _botocore_hook(event_name: str, **_: Any) -> None:
    # "before-call.dynamodb.UpdateItem"
    _, service, operation = event_name.split(".", 2)
    _count(f"{service}.{operation}")


def _httpx_hook(request: httpx.Request) -> None:
    _count(f"telnyx.{request.method} {request.url.path}")


# functions/<name> -> the (IAM action, table or "table/index/name") its DynamoDB calls needed
Needs = dict[str, set[tuple[str, str]]]
_needs: Needs = {}
# A TransactWriteItems needs each item's own action on the item's table.
TRANSACT_ACTIONS = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}


def iam_needs(operation: str, params: dict[str, Any]) -> set[tuple[str, str]]:
    """The IAM actions, each on its table (or index), that one DynamoDB call needs."""
    if operation == "TransactWriteItems":
        return {
            (f"dynamodb:{TRANSACT_ACTIONS[kind]}", body["TableName"])
            for item in params["TransactItems"]
            for kind, body in item.items()
        }
    if operation in ("BatchWriteItem", "BatchGetItem"):
        return {(f"dynamodb:{operation}", table) for table in params["RequestItems"]}
    table = str(params["TableName"])
    if "IndexName" in params:
        table = f"{table}/index/{params['IndexName']}"
    return {(f"dynamodb:{operation}", table)}


def _needs_hook(name: str) -> Callable[..., None]:
    def hook(params: dict[str, Any], model: Any, **_: Any) -> None:
        _needs.setdefault(name, set()).update(iam_needs(model.name, params))

    return hook


def watch(function: ModuleType, name: str | None = None) -> None:
    """Count the calls `function` (a loaded functions/<name>/app.py) makes from now on; with
    its `name`, also note what each DynamoDB call needs from its IAM policy (`needs()`)."""
    runtime = function.runtime
    runtime.dynamodb.meta.events.register("before-call", _botocore_hook, unique_id=HOOK_ID)
    if name is not None:
        runtime.dynamodb.meta.events.register(
            "provide-client-params.dynamodb", _needs_hook(name), unique_id=f"{HOOK_ID}-{name}"
        )
    _ssm_provider()
    hooks = runtime.telnyx._http.event_hooks["request"]
    if _httpx_hook not in hooks:
        hooks.append(_httpx_hook)


def _ssm_provider() -> SSMProvider:
    """Powertools' SSM provider, which every function's SsmSecrets reads through, watched."""
    provider = DEFAULT_PROVIDERS.get("ssm")
    if not isinstance(provider, SSMProvider):
        provider = DEFAULT_PROVIDERS["ssm"] = SSMProvider()
    provider.client.meta.events.register("before-call", _botocore_hook, unique_id=HOOK_ID)
    return provider


@contextmanager
def counting() -> Iterator[Tally]:
    """The calls of the watched functions inside the block, on a cold parameter cache."""
    _ssm_provider().clear_cache()
    tally: Tally = Counter()
    _active.append(tally)
    try:
        yield tally
    finally:
        _active.remove(tally)


def figures(tally: Tally) -> dict[str, int]:
    return {service: tally[service] for service in SERVICES}


# -- the table --------------------------------------------------------------------------------
PASSWORD = "correct horse battery staple"
PAYER_PHONE = "+14155550123"
FUNCTIONS = [
    "login",
    "login_verify",
    "login_resend",
    "register_start",
    "register_verify",
    "payments_initiate",
    "payments_confirm",
    "verify_cancel",
    "verify_status",
    "account_phone_start",
    "account_phone_resend",
    "account_phone_verify",
    "account_reauth_start",
    "account_reauth_resend",
    "account_reauth_verify",
    "challenge",
    "password_reset_start",
    "password_reset_resend",
    "password_reset_verify",
    *LOST_PHONE_FUNCTIONS,
    *EMAIL_FUNCTIONS,
    *TOTP_FUNCTIONS,
    *PASSKEY_FUNCTIONS,
]
# Resends at once: the resend is measured, not its cooldown.
STACK_ENV = {"BCRYPT_COST": "10", "RESEND_COOLDOWN_SECS": "0"}
SMALL_ORDER = {"amount": "5.00", "currency": "EUR", "recipient": "Corner Cafe"}
# In the reference currency (USD): no exchange rate to read.
SMALL_REFERENCE_ORDER = {"amount": "5.00", "currency": "USD", "recipient": "Corner Cafe"}
LARGE_ORDER = {"amount": "250.00", "currency": "USD", "recipient": "Acme Supplies"}

Answer = tuple[int, dict[str, Any], dict[str, str]]


class _Measured:
    """One function stack whose requests are counted one by one."""

    def __init__(self, stack: FunctionStack, webhook: ModuleType) -> None:
        self.stack = stack
        self.webhook = webhook
        self.table: dict[str, dict[str, int]] = {}
        for name, function in [*stack.functions.items(), ("webhook_telnyx", webhook)]:
            watch(function, name)

    def measure(
        self, endpoint: str, request: Callable[[], Answer], expected: int = 200
    ) -> dict[str, Any]:
        with counting() as tally:
            status, body, _ = request()
        assert status == expected, (endpoint, status, body)
        self.table[endpoint] = figures(tally)
        return body

    def account(self, phone: str) -> tuple[str, str]:
        user_id = f"u-{uuid.uuid4().hex[:10]}"
        email = f"{user_id}@example.com"
        user = User(user_id, email, PasswordHasher(cost=4).hash(PASSWORD), phone)
        self.stack.users.put_user(user, phone_verified_at=0)
        return user_id, email

    def call(self, name: str, body: object, headers: dict[str, str] | None = None) -> Answer:
        return self.stack.call(name, body, headers)

    def pay(
        self, name: str, body: object, user: str, headers: dict[str, str] | None = None
    ) -> Answer:
        return self.stack.call_as(user, name, body, headers)

    def deliver(self, body: bytes) -> Answer:
        signed = self.stack.emulator.sign_webhook(body)
        return invoke(self.webhook, url_event(body, {"Content-Type": "application/json", **signed}))


def measure_all(run: _Measured) -> dict[str, dict[str, int]]:
    stack = run.stack
    phone = "+14155550123"
    user_id, email = run.account(phone)
    login = {"email": email, "password": PASSWORD}

    started = run.measure("POST /login (account with phone)", lambda: run.call("login", login))
    flow_id = started["flow_id"]
    run.measure("POST /login/resend", lambda: run.call("login_resend", {"flow_id": flow_id}))
    code = stack.code_for(phone)
    wrong = str((int(code) + 1) % 1_000_000).zfill(6)
    run.measure(
        "POST /login/verify (wrong code)",
        lambda: run.call("login_verify", {"flow_id": flow_id, "code": wrong}),
        expected=401,
    )
    run.measure(
        "POST /login/verify (right code)",
        lambda: run.call("login_verify", {"flow_id": flow_id, "code": code}),
    )

    # A login whose account moved to another number since its code was sent ends as
    # superseded when its code is entered: the flow cancelled, and its live-status watchers
    # looked up to be told (none here).
    moved_phone = "+14155550144"
    moved, moved_email = run.account(moved_phone)
    moved_flow = run.call("login", {"email": moved_email, "password": PASSWORD})[1]["flow_id"]
    moved_code = stack.code_for(moved_phone)
    user = stack.users.get(moved)
    assert user is not None
    stack.users.change_phone(moved, moved_phone, "+14155550145", user.phone_generation, time.time())
    run.measure(
        "POST /login/verify (account's phone changed since)",
        lambda: run.call("login_verify", {"flow_id": moved_flow, "code": moved_code}),
        expected=400,
    )

    form = {
        "name": "Ada Lovelace",
        "email": f"ada-{uuid.uuid4().hex[:8]}@example.com",
        "phone_number": "+14155550199",
        "password": "analytical engine notes",
    }
    registration = run.measure("POST /register/start", lambda: run.call("register_start", form))
    registration_code = stack.code_for("+14155550199")
    codes = {
        "flow_id": registration["flow_id"],
        "code": registration_code,
        "email_code": sent_email_code(form["email"]),
    }
    run.measure("POST /register/verify", lambda: run.call("register_verify", codes), expected=201)
    # The same sign-up with that email, now an account's: its owner's notice instead of a
    # code, after the very same calls as a fresh email's in the same minute (docs/email.md).
    taken = {**form, "phone_number": "+14155550177"}
    run.measure("POST /register/start (taken email)", lambda: run.call("register_start", taken))
    fresh = {**taken, "email": f"ada-{uuid.uuid4().hex[:8]}@example.com"}
    run.measure("POST /register/start (fresh email)", lambda: run.call("register_start", fresh))

    # The proof-of-work gate (risky by default): a challenge, then a sign-up that carries its
    # solution (the key read once, the solution spent by one conditional PutItem).
    challenge = run.measure(
        "GET /challenge",
        lambda: invoke(stack.functions["challenge"], api_event("/challenge", None, method="GET")),
    )
    solved_form = {
        **form,
        "email": f"ada-{uuid.uuid4().hex[:8]}@example.com",
        "phone_number": "+14155550188",
        "altcha": solve(challenge),
    }
    run.measure(
        "POST /register/start (solved challenge)",
        lambda: run.call("register_start", solved_form),
    )

    run.measure(
        "POST /payments/initiate (below threshold)",
        lambda: run.pay("payments_initiate", SMALL_ORDER, user_id),
    )
    run.measure(
        "POST /payments/initiate (below threshold, reference currency)",
        lambda: run.pay("payments_initiate", SMALL_REFERENCE_ORDER, user_id),
    )
    run.measure(
        "POST /payments/initiate (below threshold, Idempotency-Key)",
        lambda: run.pay(
            "payments_initiate", SMALL_ORDER, user_id, {"Idempotency-Key": uuid.uuid4().hex}
        ),
    )
    payment = run.measure(
        "POST /payments/initiate (above threshold)",
        lambda: run.pay("payments_initiate", LARGE_ORDER, user_id),
    )
    payment_code = stack.code_for(phone)
    run.measure(
        "POST /payments/confirm",
        lambda: run.pay(
            "payments_confirm",
            {"payment_id": payment["payment_id"], "code": payment_code},
            user_id,
        ),
    )

    # The step-up, then the phone change it allows.
    changer, changer_email = run.account("+14155550166")
    step_up = run.measure(
        "POST /account/reauth/start",
        lambda: run.pay("account_reauth_start", {"password": PASSWORD}, changer),
    )
    run.measure(
        "POST /account/reauth/resend",
        lambda: run.pay("account_reauth_resend", {"flow_id": step_up["flow_id"]}, changer),
    )
    step_up_code = stack.code_for("+14155550166")
    granted = run.measure(
        "POST /account/reauth/verify",
        lambda: run.pay(
            "account_reauth_verify", {"flow_id": step_up["flow_id"], "code": step_up_code}, changer
        ),
    )
    new_phone = "+14155550177"
    reauth = {"Reauth-Token": granted["reauth_token"]}
    # The email change first: the phone change after it ends the session (and the token).
    # The app first: its logins sign in by the email the email change then replaces.
    measure_totp(run, changer, changer_email, PASSWORD, reauth)
    measure_email(run, changer, reauth)
    measure_passkeys(run, changer, reauth)
    measure_passkey_steps(run, PASSWORD)
    change = run.measure(
        "POST /account/phone/start",
        lambda: run.pay("account_phone_start", {"phone_number": new_phone}, changer, reauth),
    )
    run.measure(
        "POST /account/phone/resend",
        lambda: run.pay("account_phone_resend", {"flow_id": change["flow_id"]}, changer),
    )
    change_code = stack.code_for(new_phone)
    run.measure(
        "POST /account/phone/verify",
        lambda: run.pay(
            "account_phone_verify", {"flow_id": change["flow_id"], "code": change_code}, changer
        ),
    )

    # The password reset, on a real account and on a decoy (an unknown email): the same
    # DynamoDB calls; a decoy pauses where the real one calls Telnyx.
    reset_phone = "+14155550155"
    _, reset_email = run.account(reset_phone)
    for kind, address in [("account", reset_email), ("unknown email", "nobody@example.com")]:
        reset = run.measure(
            f"POST /password/reset/start ({kind})",
            lambda address=address: run.call("password_reset_start", {"email": address}),
        )
        run.measure(
            f"POST /password/reset/resend ({kind})",
            lambda reset=reset: run.call("password_reset_resend", {"flow_id": reset["flow_id"]}),
        )
        run.measure(
            f"POST /password/reset/verify ({kind}, wrong code)",
            lambda reset=reset: run.call(
                "password_reset_verify",
                {"flow_id": reset["flow_id"], "code": "000000", "new_password": "a new passphrase"},
            ),
            expected=401,
        )

    pending = run.call("login", login)[1]["flow_id"]
    verification_id = str(stack.emulator.messages(phone)[0]["verification_id"])
    run.measure(
        "GET /verify/status",
        lambda: invoke(
            stack.functions["verify_status"],
            api_event("/verify/status", None, method="GET", query={"flow_id": pending}),
        ),
    )
    run.measure(
        "Telnyx webhook (verify.sent)",
        lambda: run.deliver(telnyx_event("verify.sent", verification_id)),
    )
    run.measure(
        "Telnyx webhook (verify.delivered)",
        lambda: run.deliver(telnyx_event("verify.delivered", verification_id)),
    )
    run.measure("POST /verify/cancel", lambda: run.call("verify_cancel", {"flow_id": pending}))
    measure_lost_phone(run)
    return run.table


def needs() -> Needs:
    """What the DynamoDB calls of the last `round_trips_per_endpoint()` needed from IAM, per
    function: {functions/<name>: {(action, table or table/index/name)}}, tables by name."""
    return {name: set(found) for name, found in _needs.items()}


def round_trips_per_endpoint() -> dict[str, dict[str, int]]:
    """{endpoint: {"dynamodb": n, "ssm": n, "telnyx": n}}: one request of each endpoint of the
    table, on real handlers over fresh moto tables and a Telnyx emulator of its own."""
    _needs.clear()
    monkeypatch = pytest.MonkeyPatch()
    emulator = TelnyxEmulator(EmulatorConfig(port=0, log_requests=False)).start()
    try:
        offline_aws_environment(monkeypatch)
        with function_stack(monkeypatch, emulator, FUNCTIONS, STACK_ENV) as stack:
            run = _Measured(stack, webhook_function(monkeypatch, emulator))
            measure_all(run)
            measure_ses_events(run, monkeypatch)  # no route: loaded beside the stack's
            return run.table
    finally:
        emulator.stop()
        monkeypatch.undo()
