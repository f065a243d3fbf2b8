"""Keyed digests: what stands in for a personal value (an email) where it must be stable but
must not be recomputable by whoever reads the table or the log without the pepper.

The pepper is a SecureString in SSM (setting HASH_PEPPER_PARAM, template parameter
HashPepperParameterName; docs/configuration.md): a plain SHA-256 of an email is the email
by another name, since anyone can hash a list of addresses and compare."""

from __future__ import annotations

import hashlib
import hmac


def keyed_digest(pepper: bytes, value: str) -> str:
    """HMAC-SHA256 of `value` (UTF-8) under `pepper`, as 64 hex digits."""
    return hmac.new(pepper, value.encode("utf-8"), hashlib.sha256).hexdigest()


def digest(value: str) -> str:
    """Plain SHA-256 of `value` (UTF-8), as 64 hex digits: for keys that only need to be stable
    and short (a counter's, a notice's), never to hide a personal value from a reader."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()
