"""What the service writes in an email (the lost phone's code and its notices): plain words,
a code only where one is asked for, never a link that acts on the account."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

IF_NOT_YOU = "If this wasn't you, sign in and cancel it from your account, or contact support."


@dataclass(frozen=True)
class EmailMessage:
    subject: str
    text: str


class EmailNotice(StrEnum):
    """What an email notice tells the account's owner (docs/phone-lifecycle.md#a-lost-phone)."""

    PHONE_SWAP_PENDING = "phone_swap_pending"
    PHONE_SWAP_CANCELLED = "phone_swap_cancelled"
    PHONE_SWAP_DONE = "phone_swap_done"


def code_email(service: str, code: str, minutes: int) -> EmailMessage:
    return EmailMessage(
        subject=f"{service}: your code",
        text=f"Your {service} code is {code}. It expires in {minutes} minutes. "
        "You asked to replace the phone number on your account. Nobody from "
        f"{service} will ask you for this code. If this wasn't you, ignore this email.",
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
}


def notice_email(service: str, notice: EmailNotice, *, wait_hours: int = 0) -> EmailMessage:
    subject, text = NOTICE_TEXTS[notice]
    return EmailMessage(subject=f"{service}: {subject}", text=text.format(hours=wait_hours))
