"""The code engine's wiring (flows/engine/): where events are recorded, the function's ONE
AnyFlow with its live-status observer (a function whose settings push live status gets one;
the others none), and a `Challenges` per kind of flow over them and the guards. Whatever
ends a flow (a cancel, a challenge ended as superseded, a delivery report) goes through that
one AnyFlow, so its watchers hear of it wherever the function pushes: the WebSocket routes,
the webhook, the cancel, and every function that checks or resends a code bound to an
account's phone (live_status_config.py). The push itself is built at the first push only."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import cached_property
from typing import TYPE_CHECKING

from phoneverify.runtime.guards import Guards

if TYPE_CHECKING:
    from phoneverify.adapters.websocket import ApiGatewayStatusPush
    from phoneverify.domain.email_messages import CodePurpose, EmailMessage
    from phoneverify.domain.models import ChallengeState, FlowKind
    from phoneverify.flows.engine.any_flow import AnyFlow
    from phoneverify.flows.engine.audit import FlowAudit
    from phoneverify.flows.engine.challenges import Challenges
    from phoneverify.flows.engine.email_codes import EmailCodeSender
    from phoneverify.flows.engine.email_notices import EmailNotices
    from phoneverify.flows.engine.email_proof import EmailProofSender, EmailSendGuard
    from phoneverify.flows.engine.policy import ChallengePolicy
    from phoneverify.flows.engine.step_up import StepUp
    from phoneverify.flows.live_status import LiveStatus
    from phoneverify.ports.abuse import SendGuard
    from phoneverify.ports.messaging import CodeSender, EmailSender
    from phoneverify.ports.verifications import StatusPush


class _PushOnFirstPost:
    """A StatusPush that builds the real one (adapters/websocket.py, its boto3 client) at the
    first push: a function that ends a flow no one watches (a login's check ending it as
    superseded, most cancels) never imports it."""

    def __init__(self, build: Callable[[], StatusPush]) -> None:
        self._build = build

    def post(self, connection_id: str, state: ChallengeState) -> bool:
        return self._build().post(connection_id, state)


class _DeferredEmails:
    """An EmailSender that builds SES's (its settings, its client) at the first email: a
    function that only checks email codes needs the pepper, not the sender identity."""

    def __init__(self, build: Callable[[], EmailSender]) -> None:
        self._build = build

    def send(self, to: str, message: EmailMessage) -> None:
        self._build().send(to, message)

    def ready(self) -> None:
        self._build().ready()


class Engine(Guards):
    @cached_property
    def flow_audit(self) -> FlowAudit:
        """Every flow's events, recorded through the events pipeline (Stores.events)."""
        from phoneverify.flows.engine.audit import FlowAudit

        return FlowAudit(events=self.events, clock=self.clock)

    @cached_property
    def step_up(self) -> StepUp:
        """Fresh authentication: reauth tokens granted and required (docs/sessions.md)."""
        from phoneverify.domain.tokens import ReauthTokenIssuer
        from phoneverify.flows.engine.step_up import StepUp

        s = self.settings
        tokens = ReauthTokenIssuer(
            lambda: self.secrets.get(s.jwt_signing_secret_param),
            issuer=s.jwt_issuer,
            audience=s.jwt_audience,
            ttl_seconds=s.reauth_token_ttl_seconds,
            clock=self.clock,
        )
        return StepUp(tokens=tokens, audit=self.flow_audit)

    def removal_email_notices(self) -> EmailNotices | None:
        """Where a phoneless account is told of a stronger factor's removal (a passkey's, the
        app's: flows/engine/removal_notice.py): only the functions that remove one send
        email (their settings are EmailSettings); None elsewhere."""
        from phoneverify.email_config import EmailSettings
        from phoneverify.flows.engine.email_notices import EmailNotices

        if not isinstance(self.settings, EmailSettings):
            return None
        return EmailNotices(self.emails, self.settings.notice_service_name)

    @cached_property
    def any_flow(self) -> AnyFlow:
        """Cancel, status and delivery reports: a flow of any kind, by flow id. The one every
        `Challenges` of this function ends flows through."""
        from phoneverify.flows.engine.any_flow import AnyFlow

        # A function that pushes (`pushes_live_status`: LiveStatusSettings) tells a changed
        # flow's live-status connections (a read of them; the push only when some watch);
        # the others never build them.
        pushes = self.settings.pushes_live_status
        return AnyFlow(
            store=self.verifications,
            audit=self.flow_audit,
            clock=self.clock,
            observer=self.live_status if pushes else None,
        )

    def challenges(
        self,
        policy: ChallengePolicy,
        sender: CodeSender | None = None,
        guard: SendGuard | None = None,
    ) -> Challenges:
        """`sender`: how its codes go, when not by Telnyx Verify (an email's: `email_codes`),
        and `guard`: what they count in, when not the SMS send limits (`email_send_guard`)."""
        from phoneverify.flows.engine.challenges import Challenges

        return Challenges(
            policy,
            store=self.verifications,
            sender=sender or self.code_sender(policy.timeout_secs),
            flows=self.any_flow,
            audit=self.flow_audit,
            clock=self.clock,
            guard=guard or self.send_limits,
            failures=self.account_locks,
            phone_policy=self.phone_policy,
            account_tokens=self.users,
            notices=self.notices,
            channels=self.channel_policy,
            prefixes=self.fraud_guard,
            pepper=self.hash_pepper,
        )

    # -- codes by email (docs/email.md) --------------------------------------------------------
    def email_codes(self, purpose: CodePurpose, timeout_secs: int) -> EmailCodeSender:
        """Codes we make and send by email, for `purpose`, living `timeout_secs`."""
        from phoneverify.flows.engine.email_codes import EmailCodeSender

        s = self.settings
        return EmailCodeSender(
            _DeferredEmails(lambda: self.emails),
            code_length=s.verify_code_length,
            timeout_secs=timeout_secs,
            pepper=self.hash_pepper,
            service_name=s.notice_service_name,
            purpose=purpose,
        )

    def email_proof_sender(self, purpose: CodePurpose, timeout_secs: int) -> EmailProofSender:
        """`email_codes`, but an address another account holds gets its owner the "someone
        tried" notice instead, after the same work."""
        from phoneverify.flows.engine.email_proof import EmailProofSender

        return EmailProofSender(
            users=self.users,
            limits=self.email_limits,
            codes=self.email_codes(purpose, timeout_secs),
            emails=_DeferredEmails(lambda: self.emails),
            pepper=self.hash_pepper,
            service_name=self.settings.notice_service_name,
        )

    def email_challenges(
        self, policy: ChallengePolicy, sender: CodeSender, *, conceals_account: bool = False
    ) -> Challenges:
        """Codes by email of `policy`'s kind (`sender`: `email_codes` or `email_proof_sender`),
        counted in the email limits. No read of the account lock comes before an email; the
        wrong codes count towards it all the same (the flows that send by email are a way
        back in, or run behind the step-up)."""
        email_policy = replace(
            policy,
            account_lock_applies=False,
            counts_toward_lock=True,
            conceals_account=conceals_account,
            by_email=True,
        )
        return self.challenges(email_policy, sender=sender, guard=self.email_send_guard)

    @cached_property
    def email_send_guard(self) -> EmailSendGuard:
        """What a code by email counts in: the email limits (not an SMS tier)."""
        from phoneverify.flows.engine.email_proof import EmailSendGuard

        return EmailSendGuard(self.email_limits, self.hash_pepper, self.account_locks)

    def challenge_policy(
        self, kind: FlowKind, timeout_secs: int, restart_hint: str, too_many_attempts: str
    ) -> ChallengePolicy:
        from phoneverify.flows.engine.policy import ChallengePolicy

        s = self.settings
        return ChallengePolicy(
            kind=kind,
            timeout_secs=timeout_secs,
            code_length=s.verify_code_length,
            max_attempts=s.max_code_attempts,
            resend_cooldown_secs=s.resend_cooldown_secs,
            max_sends=s.max_sends_per_flow,
            send_window_secs=s.send_window_secs,
            retention_secs=s.flow_retention_secs,
            restart_hint=restart_hint,
            too_many_attempts_message=too_many_attempts,
        )

    # -- live status (docs/realtime.md): the WebSocket functions and the ones that push -----
    @cached_property
    def status_push(self) -> ApiGatewayStatusPush:
        from phoneverify.adapters.websocket import ApiGatewayStatusPush
        from phoneverify.live_status_config import LiveStatusSettings

        s = self.settings_as(LiveStatusSettings)
        # One quick retry at most: a push is news, not state, and must not hold a webhook.
        return ApiGatewayStatusPush(
            self.quick_client(
                "apigatewaymanagementapi",
                s.websocket_push_timeout_secs,
                endpoint_url=s.websocket_management_url,
            )
        )

    @cached_property
    def live_status(self) -> LiveStatus:
        from phoneverify.flows.live_status import LiveStatus, WatchPolicy
        from phoneverify.live_status_config import LiveStatusSettings

        s = self.settings_as(LiveStatusSettings)
        return LiveStatus(
            store=self.verifications,
            registry=self.watchers,
            push=_PushOnFirstPost(lambda: self.status_push),
            clock=self.clock,
            policy=WatchPolicy(max_connections_per_flow=s.max_connections_per_flow),
        )
