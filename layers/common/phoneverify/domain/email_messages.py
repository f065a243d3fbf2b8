"""What the service writes in an email (codes and notices): plain words, a code only where one
is asked for, never a link that acts on the account."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

IF_NOT_YOU = "If this wasn't you, sign in and cancel it from your account, or contact support."


@dataclass(frozen=True)
class EmailMessage:
    subject: str
    text: str


class EmailNotice(StrEnum):
    """What an email notice tells the account's owner (docs/phone-lifecycle.md#a-lost-phone,
    docs/email.md)."""

    PHONE_SWAP_PENDING = "phone_swap_pending"
    PHONE_SWAP_CANCELLED = "phone_swap_cancelled"
    PHONE_SWAP_DONE = "phone_swap_done"
    SOMEONE_TRIED = "someone_tried"
    EMAIL_CHANGED = "email_changed"  # to the address the account leaves
    EMAIL_ADDED = "email_added"  # to the address it takes
    ACCOUNT_DELETED = "account_deleted"  # the account's last email (docs/privacy.md)
    # A passkey left an account that has no phone to tell (docs/factors.md#passkeys).
    PASSKEY_REMOVED = "passkey_removed"
    # The authenticator app left an account that has no phone to tell (docs/factors.md).
    TOTP_REMOVED = "totp_removed"


class CodePurpose(StrEnum):
    """Why a code was sent by email: the one sentence of the email that says so."""

    LOST_PHONE = "You asked to replace the phone number on your account."
    SIGN_UP = "You are creating an account with this address."
    EMAIL_CHANGE = "You asked to make this address the email of your account."


def code_email(service: str, code: str, minutes: int, purpose: CodePurpose) -> EmailMessage:
    return EmailMessage(
        subject=f"{service}: your code",
        text=f"Your {service} code is {code}. It expires in {minutes} minutes. "
        f"{purpose.value} Nobody from {service} will ask you for this code. If this wasn't "
        "you, ignore this email.",
    )


NOTICE_TEXTS: dict[EmailNotice, tuple[str, str]] = {
    EmailNotice.PHONE_SWAP_PENDING: (
        "a new phone number is waiting to replace yours",
        "Someone proved this email and a new phone number, to replace the number on your "
        "account once the waiting period is over ({hours} hours). " + IF_NOT_YOU,
    ),
    EmailNotice.PHONE_SWAP_CANCELLED: (
        "the phone number swap was cancelled",
        "The waiting replacement of the phone number on your account was cancelled from a "
        "signed-in session. Your number stays as it was.",
    ),
    EmailNotice.PHONE_SWAP_DONE: (
        "your phone number and password were changed",
        "The phone number on your account was replaced after the waiting period, the "
        "password was changed and every session was signed out. If this wasn't you, "
        "contact support.",
    ),
    EmailNotice.SOMEONE_TRIED: (
        "someone tried to use your address",
        "Someone tried to use this address for a new account, or as the email of another "
        "account. It already belongs to your account, so nothing was changed, and they were "
        "not told. If it was you, sign in instead. Otherwise you can ignore this email; we "
        "send it at most once a day.",
    ),
    EmailNotice.EMAIL_CHANGED: (
        "your account's email was changed",
        "The email of your account was changed to another address from a signed-in session; "
        "this address no longer receives its emails. " + IF_NOT_YOU,
    ),
    EmailNotice.EMAIL_ADDED: (
        "this address is now your account's email",
        "This address was proven and is now the email of your account.",
    ),
    EmailNotice.ACCOUNT_DELETED: (
        "your account was deleted",
        "Your account was deleted from a signed-in session, after its password was asked "
        "again. Its sign-in details are erased and this address is free. " + IF_NOT_YOU,
    ),
    EmailNotice.PASSKEY_REMOVED: (
        "a passkey was removed from your account",
        "A passkey was removed from your account from a signed-in session, after its "
        "password and second factor were asked again. " + IF_NOT_YOU,
    ),
    EmailNotice.TOTP_REMOVED: (
        "the authenticator app was removed from your account",
        "The authenticator app was removed from your account from a signed-in session, after "
        "its password and a second factor (or a recovery code) were asked again. " + IF_NOT_YOU,
    ),
}


def notice_email(service: str, notice: EmailNotice, *, wait_hours: int = 0) -> EmailMessage:
    subject, text = NOTICE_TEXTS[notice]
    return EmailMessage(subject=f"{service}: {subject}", text=text.format(hours=wait_hours))
