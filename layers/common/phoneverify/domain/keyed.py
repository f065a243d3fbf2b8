"""Keyed digests: a value that names a person (an email, a phone number) kept as HMAC-SHA256
under a secret pepper held in SSM (HASH_PEPPER_PARAM), so that a digest found in a table or a
log cannot be reversed by hashing a list of candidates without the pepper too."""

from __future__ import annotations

import hashlib
import hmac


def keyed_digest(pepper: bytes, value: str) -> str:
    """HMAC-SHA256 of `value` (UTF-8) under `pepper`, in lower-case hex."""
    return hmac.new(pepper, value.encode("utf-8"), hashlib.sha256).hexdigest()
