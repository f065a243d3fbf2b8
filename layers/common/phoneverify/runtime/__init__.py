"""Composition root: builds the real adapters and flows once per execution environment.

Nothing talks to AWS or Telnyx at import time; each piece is built on first use and then
reused by warm invocations. Each builder imports what it builds, so a function loads only the
adapters and flows it uses (the authorizer never loads httpx or the payment flow). Tests build
flows with fakes instead of using this package.

One floor a module, each building on the one below (plain classes, no framework):
clients.py (settings, clients, secrets, the request scope) < stores.py (the DynamoDB
adapters of accounts, flows, audit, tokens, connections) < guards.py (policies, send limits,
account lock, fraud guard, password throttle, proof-of-work gate, notices) < engine.py (the
one AnyFlow, the audit, `Challenges` per kind) < use_cases.py (sessions, login, sign-up,
reset, phone change, webhooks) < payments.py < passkeys.py (the WebAuthn ceremonies) <
account_data.py (the export and the deletion: docs/privacy.md). A
handler reads `Runtime.from_environment(<settings type>)` and its `runtime.<flow>`.
"""

from __future__ import annotations

from phoneverify.runtime.account_data import AccountDataRoutes


class Runtime(AccountDataRoutes):
    """Everything a function may build (see the floors above); `settings` is the function's
    validated environment, and each `runtime.<piece>` is built on first use."""


__all__ = ["Runtime"]
