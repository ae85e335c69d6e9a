"""subscriber_hash: MD5 of the trimmed, lower-cased address."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from target_mailchimp.api import normalize_email, subscriber_hash


@pytest.mark.parametrize(
    ("email", "expected"),
    [
        # Mailchimp's documentation example address and hash.
        ("urist.mcvankab@freddiesjokes.com", "62eeb292278cc15f5817cb78f7790b08"),
        ("Urist.McVankab@FreddiesJokes.com", "62eeb292278cc15f5817cb78f7790b08"),
        ("  urist.mcvankab@freddiesjokes.com \t\n", "62eeb292278cc15f5817cb78f7790b08"),
        ("a@example.org", hashlib.md5(b"a@example.org").hexdigest()),
        # Unicode: lower-cased with str.lower(), hashed as UTF-8.
        ("ÅSA.Öberg@Exämple.SE", hashlib.md5("åsa.öberg@exämple.se".encode()).hexdigest()),
        ("用户@例子.广告", hashlib.md5("用户@例子.广告".encode()).hexdigest()),
    ],
)
def test_known_hashes(email: str, expected: str) -> None:
    assert subscriber_hash(email) == expected


def test_unicode_hash_literal() -> None:
    # Pinned so a change of encoding (e.g. Latin-1 instead of UTF-8) shows up.
    assert subscriber_hash("José@Example.com") == "f3e3d6d619238617fee6765e45961da5"
    assert subscriber_hash("josé@example.com".encode("latin-1").decode("latin-1")) == (
        "f3e3d6d619238617fee6765e45961da5"
    )
    assert hashlib.md5("josé@example.com".encode("latin-1")).hexdigest() != (
        "f3e3d6d619238617fee6765e45961da5"
    )


@pytest.mark.parametrize("bad", ["", "   ", None, 5])
def test_empty_or_non_string_is_refused(bad: object) -> None:
    with pytest.raises(ValueError, match="non-empty"):
        subscriber_hash(bad)  # type: ignore[arg-type]


@given(st.emails())
def test_hash_ignores_case_and_surrounding_space(email: str) -> None:
    h = subscriber_hash(email)
    assert len(h) == 32
    assert set(h) <= set("0123456789abcdef")
    assert subscriber_hash(f"  {email.upper()} ") == subscriber_hash(email.lower()) or (
        # str.upper() is not always reversible by lower() (e.g. 'ß' -> 'SS').
        email.upper().lower() != email.lower()
    )
    assert normalize_email(f" {email} ") == email.lower()
