"""The signed-in account as its owner sees it (GET /account): read by the bearer token's
subject; an account deleted since the token was issued is no one's."""

from __future__ import annotations

from phoneverify.domain.errors import NotAuthenticated
from phoneverify.domain.models import User
from phoneverify.ports.accounts import UserLookup


class AccountView:
    def __init__(self, users: UserLookup) -> None:
        self._users = users

    def of(self, user_id: str) -> User:
        user = self._users.get(user_id)
        if user is None:
            raise NotAuthenticated()
        return user
