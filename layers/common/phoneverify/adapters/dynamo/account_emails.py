"""AccountEmails on UsersTable (docs/email.md): an account's email changed in one transaction
with its `EMAIL#` pointers, or marked proven, each only while the account's email is still the
one the flow began with."""

from __future__ import annotations

from phoneverify.adapters.dynamo.phone_numbers import address_claimed, address_released
from phoneverify.adapters.dynamo.toolkit import (
    REASON_CONDITION_FAILED,
    conditional_update,
    transact_write_retrying,
    update_request,
)
from phoneverify.adapters.dynamo.users import DynamoUserRepository
from phoneverify.domain.errors import EmailAlreadyRegistered, EmailSuperseded, StorageUnavailable
from phoneverify.ports.conditions import ConditionFailed


class DynamoAccountEmails(DynamoUserRepository):
    """The users, with the email's changes."""

    def change_email(self, user_id: str, old_email: str, new_email: str, now: float) -> None:
        account = update_request(
            self._table,
            {"pk": f"USER#{user_id}"},
            "SET email = :new, email_proven_at = :now",
            "attribute_exists(pk) AND email = :old",
            {":new": new_email, ":old": old_email, ":now": int(now)},
        )
        reasons = transact_write_retrying(
            self._client,
            [
                {"Update": account},
                address_claimed(self._table, user_id, new_email),
                address_released(self._table, user_id, old_email),
            ],
        )
        if reasons is None:
            return
        # The account first: a flow that lost a race is over whoever holds the address.
        if REASON_CONDITION_FAILED in (reasons[0], reasons[2]):
            raise EmailSuperseded()
        if reasons[1] == REASON_CONDITION_FAILED:
            raise EmailAlreadyRegistered()
        raise StorageUnavailable()

    def prove_email(self, user_id: str, email: str, now: float) -> None:
        try:
            conditional_update(
                self._client,
                self._table,
                {"pk": f"USER#{user_id}"},
                "SET email_proven_at = :now",
                "attribute_exists(pk) AND email = :email",
                {":now": int(now), ":email": email},
            )
        except ConditionFailed:
            raise EmailSuperseded() from None
