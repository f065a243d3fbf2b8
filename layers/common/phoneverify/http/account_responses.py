"""The account's own views: GET /account, and the factors it holds (docs/factors.md)."""

from __future__ import annotations

from phoneverify.domain.factors import FactorKind, enrolled_factors
from phoneverify.domain.models import User
from phoneverify.http.responses import ResponseModel


class AccountResponse(ResponseModel):
    """GET /account: who the bearer token's account is (never a full phone number)."""

    user_id: str
    name: str | None
    email: str
    email_proven: bool
    phone_hint: str | None
    # Every factor the account holds, strongest first (domain/factors.py).
    factors: list[FactorKind]
    created_at: int | None


def account_response(user: User) -> AccountResponse:
    from phoneverify.domain.phones import mask_phone

    return AccountResponse(
        user_id=user.user_id,
        name=user.name,
        email=user.email,
        email_proven=user.email_proven_at is not None,
        phone_hint=mask_phone(user.phone_number) if user.phone_number else None,
        factors=list(enrolled_factors(user)),
        created_at=None if user.created_at is None else int(user.created_at),
    )
