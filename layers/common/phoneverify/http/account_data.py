"""The bodies of the person's own data routes (docs/privacy.md): GET /account/export's answer
and POST /account/delete's request and answer."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from phoneverify.http.requests import RequestModel
from phoneverify.http.responses import ResponseModel

if TYPE_CHECKING:  # the flow (and its phone rules) is built by the runtime, not the handler
    from phoneverify.flows.account_data import AccountExport


class AccountDeleteRequest(RequestModel):
    """POST /account/delete: an empty object (the account is the caller's)."""


class AccountDeletedResponse(ResponseModel):
    """The account is gone: every token of it ends, its email and phone are free."""

    deleted: Literal[True] = True


class AccountExportResponse(ResponseModel):
    """Every datum held about the person (docs/privacy.md#what-an-export-holds): never a
    password hash, a secret, a digest or a public key."""

    exported_at: int
    profile: dict[str, Any] = Field(description="user_id, name, email, when proven, created_at")
    phone: dict[str, Any] | None = Field(description="the number and its generation; null: none")
    factors: dict[str, Any] = Field(
        description="kinds, the app's enrolment date, recovery codes left, passkeys (id, dates)"
    )
    sessions: dict[str, Any] = Field(description="the token generation, and what is kept")
    payments: list[dict[str, Any]]
    audit_events: list[dict[str, Any]] = Field(description="the audit records, newest first")


def export_response(export: AccountExport, now: float) -> AccountExportResponse:
    return AccountExportResponse(
        exported_at=int(now),
        profile=export.profile,
        phone=export.phone,
        factors=export.factors,
        sessions=export.sessions,
        payments=export.payments,
        audit_events=export.audit_events,
    )
