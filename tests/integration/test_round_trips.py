"""Round trips per request, held to a budget: each endpoint's DynamoDB, SSM and Telnyx calls on
the real handlers (tests/support/round_trips.py counts them). A change that adds a call fails
here; one that saves a call lowers the budget with it (docs/design.md, "Round trips per
request", explains each figure)."""

from __future__ import annotations

from typing import Any

import pytest

from devtools.aws_resources import load_template
from tests.support.round_trips import needs, round_trips_per_endpoint

# endpoint -> (DynamoDB, SSM on a cold execution environment, Telnyx)
BUDGET: dict[str, tuple[int, int, int]] = {
    # The password's decision is audited under the account, or an unknown email's keyed
    # digest: the pepper is read for either (one SSM read when cold), so which it is shows in
    # no call (docs/audit-log.md). /account/reauth/start asks the password again: the same.
    "POST /login (account with phone)": (7, 3, 1),
    "POST /login/resend": (4, 2, 1),
    "POST /login/verify (wrong code)": (4, 1, 1),
    "POST /login/verify (right code)": (4, 2, 1),
    # A login whose account moved to another number since its code was sent: the attempt
    # reserved and counted on the account, the code checked, the verify refused by the phone
    # generation (its transaction), the count given back, the flow cancelled, the audit
    # record; then the push's one call, a GetItem of the flow's live-status watchers (none
    # here; each watcher adds a post_to_connection). No token: the signing key is not read.
    "POST /login/verify (account's phone changed since)": (7, 1, 1),
    # Codes to unproven numbers: the fraud guard's rules item, read once per execution
    # environment and minute (its holds and prefix counter ride in the send's transaction);
    # an entered code counted for its prefix. The sign-up's email (docs/email.md): the
    # address's pointer (one read), its email limits' transaction, the day's mark (a
    # conditional PutItem) and one SES SendEmail (not counted here), under the address's
    # keyed digest (the pepper, cold); the verify checks the email code with the pepper too.
    # A taken email makes the very same calls as a fresh one (both after a first sign-up in
    # the same minute: the fraud guard's rules already read): its owner's notice where the
    # code would go.
    "POST /register/start": (7, 3, 1),
    "POST /register/start (taken email)": (6, 3, 1),
    "POST /register/start (fresh email)": (6, 3, 1),
    "POST /register/verify": (5, 3, 1),
    # The proof-of-work gate: a challenge is signed with the key from SSM and nothing else;
    # a sign-up carrying its solution adds the key's read and the solution's one PutItem (the
    # fraud guard's rules already read by the sign-up before it, in the same minute).
    "GET /challenge": (0, 1, 0),
    "POST /register/start (solved challenge)": (7, 4, 1),
    # The user, then the count, the lock's check and the payment in one transaction; the
    # processor (the ledger) and the payment completed. A payment in another currency than
    # the reference one (EUR here) reads the operators' exchange rates from SSM once per
    # execution environment and SECRETS_MAX_AGE_SECS (the cumulative limit is one sum in the
    # reference currency: docs/payments.md); one in the reference currency reads none.
    "POST /payments/initiate (below threshold)": (4, 1, 0),
    "POST /payments/initiate (below threshold, reference currency)": (4, 0, 0),
    "POST /payments/initiate (below threshold, Idempotency-Key)": (6, 1, 0),
    "POST /payments/initiate (above threshold)": (5, 2, 1),
    # The count's reset rides in the end-of-request batch with the audit records.
    "POST /payments/confirm": (8, 1, 1),
    # The new number's code (counted on the same terms as a login's), its resend (the phone
    # generation check rides on the send limits' transaction), and the swap with the old
    # number's notice: one conditional PutItem into the notices outbox (it replaced the
    # notice's budget transaction: the budget, Telnyx Messaging, the sender's SSM parameter
    # and the notice's audit, under the number's keyed digest and so the pepper's read, are
    # functions/notices_deliver's now: docs/notices.md).
    # The step-up: the password as at /login (the account read by id: one read), then a code
    # as a login's; its check mints the reauth token with the JWT secret from SSM.
    "POST /account/reauth/start": (6, 3, 1),
    # The lost phone (docs/phone-lifecycle.md#a-lost-phone). Its start reads the account by
    # email (two reads either way), counts the send under the address's stand-in number and
    # writes the flow: a decoy makes the same calls, pausing where the real one sends its
    # email (one SES SendEmail, not counted here). The email's check then opens the new
    # number's code (the fraud guard's rules read, the send's transaction); the new number's
    # check records the swap (one transaction: the account and its SWAP# pointer) and tells
    # the old number (one PutItem into the notices outbox: Telnyx Messaging's key and sender
    # are the delivery's SSM reads now) and the email. The completion reads
    # the pointer and the account, then binds in one transaction (account, PHONE# claimed
    # and released, SWAP# deleted); before the wait it reads both and answers 409.
    "POST /password/reset/lost-phone/start (account)": (5, 1, 0),
    "POST /password/reset/lost-phone/start (unknown email)": (5, 1, 0),
    "POST /password/reset/lost-phone/verify": (7, 3, 1),
    "POST /password/reset/lost-phone/confirm-phone": (7, 2, 1),
    "POST /password/reset/lost-phone/complete (waiting)": (2, 1, 0),
    "POST /password/reset/lost-phone/complete": (7, 1, 0),
    # One read of the account; its cancel: the account read, the conditional update, the
    # notice to the current number (one PutItem into the notices outbox) and the audit record
    # (its subject is the account's: no pepper read).
    "GET /account/phone/pending": (1, 0, 0),
    "POST /account/phone/pending/cancel": (4, 0, 0),
    "POST /account/reauth/resend": (4, 2, 1),
    "POST /account/reauth/verify": (4, 2, 1),
    # With the step-up's token, the phone change's start checks no password (no throttle
    # calls); the token is checked against the account it reads anyway, with the JWT secret
    # (SSM, cold). The verify's swap ends every session in its own transaction, and signs the
    # caller's fresh token (the JWT secret, cold).
    # The account's email (docs/email.md): GET /account is one read. A change reads the
    # account, checks the step-up (the JWT secret, cold), reads the address's pointer, counts
    # the email (its limits' transaction), marks the day's try, writes the flow and audits,
    # under the address's keyed digest (the pepper, cold); one SES SendEmail (not counted).
    # A taken address makes the calls a fresh one makes. The verify checks the code (the
    # pepper), the wrong-code count reserved on the account and reset in the end-of-request
    # batch, moves the account and its EMAIL# pointers in one transaction and audits; its
    # notices are SES's.
    # The authenticator app (docs/factors.md; KMS's one Encrypt or Decrypt is not counted).
    # Its start: the account (the step-up, the JWT secret when cold), the account lock's read,
    # the enrolment flow's PutItem, the audit. Its verify: the flow's attempt reserved, the
    # wrong-code count reserved on the account, the flow verified, the app and the recovery
    # codes kept (one conditional update), the notice put in the outbox, the count's reset
    # and the audit in the end-of-request batch; the pepper keys the recovery codes. A login
    # of an account with an app sends no SMS: where a phone's login has the send's
    # transaction, it has the account lock's read. Its check by the app reads the secret and
    # spends the step (one conditional update) where an SMS check calls Telnyx; a recovery
    # code is spent by one conditional update (under the pepper: one more SSM read when
    # cold), and its notice put in the outbox. The removal: the account read, one
    # conditional update, the notice, the audit.
    "POST /account/totp/start": (4, 1, 0),
    "POST /account/totp/verify": (6, 1, 0),
    "POST /login (account with an app)": (7, 1, 0),
    "POST /login/verify (app's code)": (6, 1, 0),
    "POST /login/verify (recovery code)": (6, 2, 0),
    "POST /account/totp/remove": (4, 1, 0),
    "GET /account": (1, 0, 0),
    # The person's own data (docs/privacy.md), behind the step-up (the JWT secret, cold).
    # The export: the account, its passkey list (the account's list; none to fetch), its
    # payments by the payer index, its audit records under its id, its email's keyed digest
    # and its number's (three queries: the pepper, cold), and the step-up's audit.
    "GET /account/export": (7, 2, 0),
    # The deletion: the account for the step-up, then its item as stored (what the
    # transaction frees), the one transaction (the account, EMAIL#, PHONE#, and now the SMS
    # notice into the outbox and the cleanup's DELETED# marker: a crash loses neither, one
    # call fewer), its payments by the payer index, the pending one cancelled and its code
    # ended, the count of payments without a code deleted; then the audit pseudonymised: the
    # request's own records written first (the audit batch, moved before it), the person's
    # three subjects queried (id, keyed email, keyed number), their records updated in one
    # transaction, and the marker deleted (SES's email is not counted). The marker's keyed
    # subjects need the pepper: one SSM read more when cold.
    "POST /account/delete": (13, 2, 0),
    "POST /account/email/start": (6, 2, 0),
    "POST /account/email/start (taken address)": (6, 2, 0),
    "POST /account/email/start (fresh address)": (6, 2, 0),
    "POST /account/email/verify": (6, 1, 0),
    # Passkeys (docs/factors.md#passkeys), each behind the step-up (the JWT secret, cold): the
    # options read the account and its passkeys (the account's list, then none to fetch) and
    # keep the challenge (one conditional PutItem); the new credential reads the account,
    # spends the challenge (one conditional DeleteItem) and writes the credential with the
    # account's list in one transaction; the list reads the account, its list and the
    # credentials (one BatchGetItem); a removal reads the account, deletes the credential with
    # the list's update in one transaction and keeps the notice in the outbox. Each audits in
    # the end-of-request batch. The account's first stronger factor also gets its ten
    # recovery codes (one conditional UpdateItem, their digests keyed by the pepper: one SSM
    # read on a cold worker); a later passkey writes none.
    "POST /account/passkeys/options": (4, 1, 0),
    "POST /account/passkeys": (5, 2, 0),
    "GET /account/passkeys": (3, 0, 0),
    "POST /account/passkeys/remove": (4, 1, 0),
    # A passkey as the second step (docs/factors.md#passkeys), for an account whose only
    # factor it is: the options read the pending flow, the account's passkey list and keep
    # the challenge; the answer reserves the flow's attempt, reads the credential, spends the
    # challenge, moves the counter and marks the flow verified, as a code would; the token's
    # signing secret on a cold worker.
    "POST /login/passkey/options": (4, 0, 0),
    "POST /login/verify (passkey)": (7, 1, 0),
    "POST /account/reauth/passkey/options": (4, 0, 0),
    "POST /account/reauth/verify (passkey)": (7, 1, 0),
    "POST /account/phone/start": (5, 3, 1),
    "POST /account/phone/resend": (5, 2, 1),
    "POST /account/phone/verify": (7, 2, 1),
    # The password reset: a decoy (an unknown email) makes a real flow's calls, one for one
    # (docs/abuse-controls.md#the-decoy-password-reset): the account's two reads (an unknown
    # email reads its missing pointer, then a missing account), the send limits, the flow and
    # the audit; the pepper (its hint) and Telnyx's secrets on a cold worker; where a real
    # flow calls Telnyx, a decoy pauses as long as one of this worker's recent calls took.
    # A check counts its wrong code in the account's lock (a decoy's under the email's key).
    # Every reset event's audit subject may be keyed, so each reads the pepper on a cold
    # worker, on both kinds alike.
    "POST /password/reset/start (account)": (5, 3, 1),
    "POST /password/reset/start (unknown email)": (5, 3, 0),
    "POST /password/reset/resend (account)": (4, 3, 1),
    "POST /password/reset/resend (unknown email)": (4, 3, 0),
    "POST /password/reset/verify (account, wrong code)": (4, 2, 1),
    "POST /password/reset/verify (unknown email, wrong code)": (4, 2, 0),
    "GET /verify/status": (1, 0, 0),
    # The flow by its verification id, then one transaction: the event's claim, the move
    # forward and the check of the flow's live-status watchers (none watch here).
    "Telnyx webhook (verify.sent)": (2, 1, 0),
    "Telnyx webhook (verify.delivered)": (2, 1, 0),
    "POST /verify/cancel": (3, 0, 0),
    # SES's reports (functions/ses_events, through SNS): the suppression's conditional PutItem
    # and the audit record in the end-of-invocation batch; the pepper, read once when cold,
    # keys the address and the audit's subject.
    "SES event (permanent bounce)": (2, 1, 0),
    "SES event (complaint)": (2, 1, 0),
    # The payment reconciler (functions/payments_reconcile, on its schedule): a Query of the
    # sparse index for the due payments, and one for the oldest of all (none: no read). A
    # payment left processing: read again, the processor asked (the ledger's void, a
    # conditional PutItem), failed (a conditional UpdateItem), the oldest's Query finds
    # none; its audit record (subject: the payer's id, not keyed: no pepper) in the
    # end-of-invocation batch. Then one Query of UsersTable's sparse index for deletions a
    # crash left half-done (none here: nothing more).
    "Payments reconcile (nothing due)": (3, 0, 0),
    "Payments reconcile (left processing)": (7, 0, 0),
}


@pytest.fixture(scope="module")
def measured() -> dict[str, dict[str, int]]:
    return round_trips_per_endpoint()


def test_every_endpoint_of_the_table_is_measured(measured: dict[str, dict[str, int]]) -> None:
    assert set(measured) == set(BUDGET)


@pytest.mark.parametrize("endpoint", list(BUDGET))
def test_round_trips_stay_within_the_budget(
    measured: dict[str, dict[str, int]], endpoint: str
) -> None:
    dynamodb, ssm, telnyx = BUDGET[endpoint]
    assert measured[endpoint] == {"dynamodb": dynamodb, "ssm": ssm, "telnyx": telnyx}


def test_a_taken_email_costs_a_sign_up_the_calls_a_fresh_one_costs(
    measured: dict[str, dict[str, int]],
) -> None:
    """Sign-up tells nobody which emails have an account (docs/email.md): not by its answer,
    and not by the work behind it either."""
    taken = measured["POST /register/start (taken email)"]
    assert taken == measured["POST /register/start (fresh email)"]
    taken = measured["POST /account/email/start (taken address)"]
    assert taken == measured["POST /account/email/start (fresh address)"]


# -- each of those calls is one the function's policy in template.yaml allows ---------------
def granted(template: dict[str, Any]) -> dict[str, set[tuple[str, str]]]:
    """functions/<name> -> the (action, table or "table/index/name") its policy statements
    allow, tables by logical id. Conditions on keys (dynamodb:LeadingKeys) are not read here:
    only whether the action is granted on the table at all."""
    found: dict[str, set[tuple[str, str]]] = {}
    for resource in template["Resources"].values():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        props = resource["Properties"]
        directory = str(props["CodeUri"]).strip("/").split("/")[-1]
        allowed = found.setdefault(directory, set())
        for policy in props.get("Policies", []):
            for statement in policy.get("Statement", []) if isinstance(policy, dict) else []:
                actions = statement["Action"]
                targets = statement["Resource"]
                for action in [actions] if isinstance(actions, str) else actions:
                    for target in targets if isinstance(targets, list) else [targets]:
                        if "Fn::GetAtt" in target:
                            allowed.add((action, target["Fn::GetAtt"][0]))
                        elif "Fn::Sub" in target and str(target["Fn::Sub"]).startswith("${"):
                            table, _, rest = str(target["Fn::Sub"])[2:].partition(".Arn}")
                            allowed.add((action, table + rest))
    return found


def test_every_dynamodb_call_is_one_the_functions_policy_allows(
    measured: dict[str, dict[str, int]],
) -> None:
    # moto does not check IAM: a call the template does not grant would pass every test here
    # and be refused (AccessDenied) in AWS. Tables are named after their logical ids.
    template = load_template()
    tables = [
        logical_id
        for logical_id, resource in template["Resources"].items()
        if resource["Type"] == "AWS::DynamoDB::Table"
    ]

    def logical(name: str) -> str:
        table, _, index = name.partition("/index/")
        found = next(t for t in sorted(tables, key=len, reverse=True) if table.endswith(t))
        return f"{found}/index/{index}" if index else found

    allowed = granted(template)
    used = needs()
    assert used.keys() >= {"login", "payments_initiate", "webhook_telnyx"}
    missing = {
        function: sorted(
            (action, logical(table))
            for action, table in calls
            if (action, logical(table)) not in allowed[function]
        )
        for function, calls in used.items()
    }
    assert {function: gaps for function, gaps in missing.items() if gaps} == {}
