"""Email addresses as accounts are keyed: lower-cased, and a plausible address."""

from __future__ import annotations

import re

from phoneverify.domain.errors import InvalidRequest

MAX_EMAIL_LENGTH = 254
MAX_LOCAL_PART_LENGTH = 64

_ATOM = r"[a-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
# A sane subset of RFC 5322: dot-atom local part, a domain of at least two labels with a
# letters-only top level. Checked on the lower-cased address.
EMAIL_PATTERN = re.compile(rf"{_ATOM}(?:\.{_ATOM})*@(?:{_LABEL}\.)+[a-z]{{2,63}}", re.ASCII)


def normalise_email(email: str) -> str:
    return email.strip().lower()


def unknown_subject(account_key: str) -> str:
    """Who an event is about when no account is known (or may not be told): the hashed email."""
    return f"email#{account_key}"


def parse_email(raw: str) -> str:
    """The address lower-cased, as accounts are keyed; InvalidRequest (field `email`) when it
    is not a plausible address or longer than 254 characters (64 before the @)."""
    address = normalise_email(raw)
    local_part = address.partition("@")[0]
    if (
        len(address) > MAX_EMAIL_LENGTH
        or len(local_part) > MAX_LOCAL_PART_LENGTH
        or not EMAIL_PATTERN.fullmatch(address)
    ):
        raise InvalidRequest("Invalid email address", field="email")
    return address


def mask_email(address: str) -> str:
    """What an answer or a log shows of an address: its first character and its domain's
    last label, never the address in full: ada@example.com -> a***@***.com."""
    local, _, domain = address.partition("@")
    top = domain.rpartition(".")[2]
    return f"{local[:1]}***@***.{top}" if top else f"{local[:1]}***"
