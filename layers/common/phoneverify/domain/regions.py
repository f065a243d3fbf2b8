"""Where codes may go unless configured otherwise, without loading phonenumbers: config.py
reads this default in every function, and only the functions that send codes load
phonenumbers (docs/performance.md)."""

from __future__ import annotations

# ISO 3166 alpha-2, as phonenumbers names regions (+1 876 is JM, not US; +44 7911 is GG,
# not GB). ALLOWED_COUNTRIES replaces it.
DEFAULT_ALLOWED_COUNTRIES = frozenset(
    {"US", "CA", "GB", "IE", "DE", "FR", "NL", "ES", "IT", "AU", "NZ"}
)

# Voice calls go to fewer countries than SMS by default: the ones where calls to mobiles
# cost cents, not dollars (CALL_ALLOWED_COUNTRIES).
DEFAULT_CALL_COUNTRIES = frozenset({"US", "CA", "GB"})
