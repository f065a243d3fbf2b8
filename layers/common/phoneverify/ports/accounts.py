"""What the flows need of accounts: users by email, phone or id, recovery, the phone's change,
and the tokens an account holds."""

from __future__ import annotations

from typing import Protocol

from phoneverify.domain.lifecycle.phone_swap import PhoneSwap
from phoneverify.domain.models import (
    User,
)
from phoneverify.domain.tokens import TokenClaims


class UserRepository(Protocol):
    def find_by_email(self, email: str) -> User | None:
        """The account of `email`, if any, at the same cost either way (an unknown email must
        not answer faster: /login and the password reset tell nobody who is registered)."""
        ...

    def email_holder(self, email: str) -> str | None:
        """The id of the account `email` belongs to, if any: one read either way."""
        ...


class UserRegistry(UserRepository, Protocol):
    """What registration needs: who holds a phone number, and creating an account."""

    def find_by_phone(self, phone_number: str) -> User | None: ...

    def put_user(self, user: User, *, phone_verified_at: float | None = None) -> None:
        """Create the account and claim its email (and phone) in one conditional write.

        Raises EmailAlreadyRegistered / PhoneAlreadyRegistered when another account holds
        either; nothing is written then.
        """
        ...


class AccountRecovery(UserRepository, Protocol):
    """What the password reset needs of the users."""

    def get(self, user_id: str) -> User | None:
        """The account, read consistently (None when there is none)."""
        ...

    def reset_password(
        self, user_id: str, password_hash: str, now: float, password_generation: int
    ) -> None:
        """Set the account's new password hash, end every token it was issued and raise its
        password generation, in one conditional write on the existing account whose password
        generation is still `password_generation` (User.password_generation when the reset
        started). Raises PasswordSuperseded (another reset came first, or no account),
        StorageUnavailable."""
        ...


class UserLookup(Protocol):
    def get(self, user_id: str) -> User | None: ...


class AccountPhones(UserLookup, Protocol):
    """What adding or changing an account's phone needs of the users."""

    def change_phone(
        self,
        user_id: str,
        old_phone: str | None,
        new_phone: str,
        phone_generation: int,
        now: float,
        *,
        token_generation: int | None = None,
    ) -> None:
        """Swap the account's phone in one transaction: release `old_phone`'s pointer, claim
        `new_phone`'s only if no account holds it, and update the account only while its
        phone generation is still `phone_generation` (raising it by one) and, when given, its
        token generation `token_generation`; the token generation is raised by one either way
        (every session of the account ends with the change).

        Raises PhoneAlreadyRegistered (another account holds `new_phone`), PhoneSuperseded
        (the phone changed since the flow began, or the account is gone) or
        StorageUnavailable; nothing is written then."""
        ...


class AccountTokens(Protocol):
    """Ending every token of an account, as the account lock needs it."""

    def end_all_tokens(self, user_id: str) -> str | None:
        """End every token of the account issued so far: one conditional write raising its
        token generation. An account that does not exist (a pending registration) has no
        token to end: nothing happens then. Returns the account's phone number (E.164), None
        when it has none or does not exist. Raises StorageUnavailable."""
        ...


class TokenRevocations(Protocol):
    """Access tokens ended before their expiry (docs/sessions.md)."""

    def end_token(self, jti: str, expires_at: int) -> None:
        """End one token (logout), until its own expiry. Ending it twice is no error."""
        ...

    def end_all_tokens(self, user_id: str) -> str | None:
        """End every token of the account issued so far (logout of every session, password
        reset, account lock): one conditional write raising its token generation, which also
        answers the account's phone number (for the notice; None without one). An account
        that no longer exists has no token left to end: nothing happens then.

        Raises StorageUnavailable.
        """
        ...

    def refusal(self, claims: TokenClaims) -> str | None:
        """Why a token with valid claims is no longer active (tokens.revocation_refusal), or
        None while it is. One read. Raises StorageUnavailable."""
        ...

    def is_active(self, claims: TokenClaims) -> bool:
        """`refusal(claims) is None`."""
        ...


class PhoneSwaps(Protocol):
    """A lost phone's swap on the account (domain/lifecycle/phone_swap.py), each write
    conditional on the rule's transition; the account is read with `AccountRecovery.get`
    (User.phone_swap)."""

    def record(
        self, user_id: str, swap: PhoneSwap, old_phone: str, phone_generation: int, now: float
    ) -> None:
        """Record `swap` on the account while none is live (RECORD), its phone is still
        `old_phone` under `phone_generation`, and a pointer from the swap's id to the account
        (kept until the swap expires). Raises PhoneSwapPending (one is live), PhoneSuperseded
        (the phone moved, or no account), StorageUnavailable; nothing is written then."""
        ...

    def owner(self, swap_id: str, now: float) -> str | None:
        """The account a swap's id points to, None when none (or its pointer expired by
        `now`: expiry checked on read)."""
        ...

    def cancel(self, user_id: str, now: float) -> PhoneSwap:
        """End the account's live swap (CANCEL); answers it as it was. Raises
        NoPendingPhoneSwap when none is live, StorageUnavailable."""
        ...

    def complete(
        self,
        user_id: str,
        swap: PhoneSwap,
        old_phone: str | None,
        password_hash: str,
        now: float,
    ) -> None:
        """One transaction (COMPLETE): the account takes the swap's number (claimed only if
        no account holds it; `old_phone`'s pointer released) and the new password, raising
        its phone, token and password generations (every session and pending flow ends),
        only while `swap` is its live swap and its wait is over. Raises NoPendingPhoneSwap
        (not live, another swap, or not yet bindable: the flow tells waiting apart before),
        PhoneAlreadyRegistered, StorageUnavailable; nothing is written then."""
        ...


class AccountEmails(UserLookup, Protocol):
    """What changing or proving an account's email needs of the users (docs/email.md)."""

    def change_email(self, user_id: str, old_email: str, new_email: str, now: float) -> None:
        """In one transaction: the account moves to `new_email`, proven at `now`, only while
        its email is `old_email`; `EMAIL#<new>` is claimed only if absent; `EMAIL#<old>` is
        released only while it points to this account. Raises EmailAlreadyRegistered
        (another account holds `new_email`), EmailSuperseded (the account's email is no
        longer `old_email`, or the account is gone) or StorageUnavailable; nothing is
        written then."""
        ...

    def prove_email(self, user_id: str, email: str, now: float) -> None:
        """Mark the account's email proven at `now`, only while it is `email` (else
        EmailSuperseded)."""
        ...
