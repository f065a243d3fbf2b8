"""Password hashing of any length, and the NIST SP 800-63B password policy."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from phoneverify.domain.errors import WeakPassword
from phoneverify.domain.passwords import PasswordHasher, check_password, common_passwords
from phoneverify.http.errors import error_body, status_of

LAYER = Path(__file__).resolve().parents[2] / "layers" / "common"


def full_width(text: str) -> str:
    """The same letters as a full-width keyboard types them (U+FF01..U+FF5E)."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in text)


@pytest.fixture(scope="module")
def hasher() -> PasswordHasher:
    return PasswordHasher(cost=4)


def test_a_password_verifies_against_its_hash_and_nothing_else(hasher: PasswordHasher) -> None:
    # Given
    stored = hasher.hash("glacier tangerine")
    # Then
    assert stored.startswith("$2b$04$")
    assert "glacier" not in stored
    assert hasher.verify("glacier tangerine", stored) is True
    assert hasher.verify("glacier tangerinE", stored) is False
    assert hasher.verify("glacier tangerine", "not a bcrypt hash") is False


def test_passwords_longer_than_72_bytes_count_in_full(hasher: PasswordHasher) -> None:
    # Given a password of 120 UTF-8 bytes (bcrypt alone reads 72, and bcrypt 5 raises past them)
    long_password = "ü" * 50 + "tail-end-20-chars!!!"
    assert len(long_password.encode("utf-8")) > 72
    # When
    stored = hasher.hash(long_password)
    # Then: it verifies, and a password differing only past byte 72 does not
    assert hasher.verify(long_password, stored) is True
    assert hasher.verify("ü" * 50 + "tail-end-20-chars!!?", stored) is False


def test_a_1024_character_password_hashes_and_verifies(hasher: PasswordHasher) -> None:
    password = "x" * 1023 + "y"
    assert hasher.verify(password, hasher.hash(password)) is True
    assert hasher.verify("x" * 1024, hasher.hash(password)) is False


def test_unicode_forms_of_one_password_are_the_same_password(hasher: PasswordHasher) -> None:
    # NFKC: the full-width letters a phone keyboard may produce are the ASCII ones
    stored = hasher.hash(full_width("glacier") + " tangerine")
    assert hasher.verify("glacier tangerine", stored) is True


@pytest.mark.parametrize("odd", ["nul\x00byte in it", "lone \ud800 surrogate", "😀" * 30])
def test_odd_characters_neither_crash_nor_end_the_password_early(
    hasher: PasswordHasher, odd: str
) -> None:
    stored = hasher.hash(odd)
    assert hasher.verify(odd, stored) is True
    assert hasher.verify(odd[:4], stored) is False


def test_an_unknown_account_costs_a_check_and_fails(hasher: PasswordHasher) -> None:
    assert hasher.verify("glacier tangerine", None) is False


@pytest.mark.parametrize(
    "password",
    [
        "abcdwxyz",  # 8 characters, no composition rules
        "glacier tangerine",
        "a" * 64 + " and then some more words",
        "ü" * 1024,
        "🦜🦜🦜🦜🦜🦜🦜🦜",  # 8 code points
    ],
)
def test_passwords_of_8_to_1024_characters_are_accepted(password: str) -> None:
    check_password(password)


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("seven77", "Password must be at least 8 characters"),
        ("ü" * 7, "Password must be at least 8 characters"),
        ("x" * 1025, "Password must be at most 1024 characters"),
        ("password", "This password is too common. Please choose another."),
        ("Password1", "This password is too common. Please choose another."),
        ("ILOVEYOU", "This password is too common. Please choose another."),
        ("qwertyuiop", "This password is too common. Please choose another."),
        (full_width("password"), "This password is too common. Please choose another."),
    ],
)
def test_short_long_and_common_passwords_are_refused_naming_the_field(
    password: str, message: str
) -> None:
    with pytest.raises(WeakPassword) as caught:
        check_password(password)
    assert status_of(caught.value) == 400
    assert error_body(caught.value) == {
        "error": message,
        "code": "invalid_request",
        "field": "password",
    }


def test_the_accounts_own_email_or_name_is_refused_as_a_password() -> None:
    context = ("ada.lovelace@example.com", "ada.lovelace", "Ada Lovelace")
    for password in ("Ada.Lovelace@example.com", "ada.lovelace", "ada lovelace"):
        with pytest.raises(WeakPassword) as caught:
            check_password(password, context=context)
        assert (
            error_body(caught.value)["error"] == "Password must not be your email address or name"
        )
    check_password("lovelace engines", context=context)


def test_the_common_password_list_is_bundled_inside_the_package() -> None:
    # Inside phoneverify/, so `sam build` of the layer ships it with the code.
    listed = common_passwords()
    assert len(listed) > 10_000
    assert all(len(entry) >= 8 and entry == entry.lower() for entry in listed)
    bundled = resources.files("phoneverify").joinpath("data/common_passwords.txt")
    assert Path(str(bundled)).resolve().is_relative_to(LAYER / "phoneverify")
    assert (LAYER / "phoneverify" / "data" / "common_passwords.LICENSE").is_file()
