"""Email validity, subscriber hash, truncation, coercion helpers and settings."""

from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from target_mailchimp.mapping import MappingSettings, check_currency
from target_mailchimp.mapping.common import (
    as_recordno,
    check_email,
    check_object_id,
    clean_text,
    email_key,
    get_path,
    iso_date_midnight,
    iso_datetime,
    subscriber_hash,
    to_decimal,
    to_text,
    truncate_utf8,
)
from target_mailchimp.mapping.currencies import currency_codes


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("ann@example.com", "ann@example.com"),
        ("  ann@example.com\t", "ann@example.com"),
        ("Ann.Lee@Example.COM", "Ann.Lee@Example.COM"),
        ("o'brien+tag@sub.example.co.uk", "o'brien+tag@sub.example.co.uk"),
        ("x@bücher.de", "x@xn--bcher-kva.de"),
        ("a@xn--bcher-kva.de", "a@xn--bcher-kva.de"),
    ],
)
def test_valid_emails(raw: str, expected: str) -> None:
    assert check_email(raw) == (expected, None)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        # IDNA 2008, non-transitional UTS #46: ß stays ß (never "ss").
        ("rechnung@straße.de", "rechnung@xn--strae-oqa.de"),
        ("Rechnung@STRAßE.DE", "Rechnung@xn--strae-oqa.de"),
        ("fatura@türkiye.com.tr", "fatura@xn--trkiye-3ya.com.tr"),
        ("info@İstanbul.tr", "info@xn--istanbul-o0e.tr"),
        ("info@ελλάδα.gr", "info@xn--hxakic4aa.gr"),
        ("info@ΕΛΛΆΔΑ.gr", "info@xn--hxakic4aa.gr"),
        ("info@ς.gr", "info@xn--3xa.gr"),
        ("info@пример.рф", "info@xn--e1afmkfd.xn--p1ai"),
        ("info@ПРИМЕР.РФ", "info@xn--e1afmkfd.xn--p1ai"),
        ("info@xn--strae-oqa.de", "info@xn--strae-oqa.de"),
    ],
)
def test_international_domains_are_idna_2008(raw: str, expected: str) -> None:
    email, problem = check_email(raw)
    assert (email, problem) == (expected, None)
    assert "strasse" not in email.lower()


def test_unicode_and_punycode_forms_are_one_member() -> None:
    forms = ["rechnung@straße.de", "Rechnung@STRAßE.de", "RECHNUNG@XN--STRAE-OQA.DE"]
    keys = set()
    for raw in forms:
        email, problem = check_email(raw)
        assert problem is None and email is not None
        keys.add(email_key(email))
    assert keys == {"rechnung@xn--strae-oqa.de"}
    assert email_key(check_email("rechnung@strasse.de")[0] or "") not in keys


@pytest.mark.parametrize(
    "raw", ["hi@i❤.ws", "hi@😀.com", "hi@xn--zz.de", "hi@a‍b.de", "straße@straße.de"]
)
def test_domains_idna_2008_refuses_and_local_parts_are_rejected(raw: str) -> None:
    email, problem = check_email(raw)
    assert email is None and problem
    if raw.startswith("straße"):
        assert "non-ASCII" in problem
    else:
        assert "IDNA 2008" in problem or "control character" in problem
    assert raw.split("@")[1] not in problem  # no personal data in the reason


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (None, "is empty"),
        ("   ", "is empty"),
        ("ann.example.com", "has no '@'"),
        ("ann@@example.com", "more than one '@'"),
        ("a@b@example.com", "more than one '@'"),
        ("ann lee@example.com", "contains a space"),
        ("ann@exa mple.com", "contains a space"),
        ("ann\u200b@example.com", "control character"),
        ("@example.com", "nothing before"),
        ("ann@", "no domain"),
        ("jöhn@example.com", "non-ASCII"),
        ("用户@例子.广告", "non-ASCII"),
        ("ann@localhost", "without a '.'"),
        ("ann@example.com.", "ending in '.'"),
        ("ann@-example.com", "invalid domain"),
        ("ann@exa_mple.com", "invalid domain"),
        ("ann@example.c", "top-level"),
        ("ann@1.2.3.4", "top-level"),
        ("ann@[1.2.3.4]", "invalid domain"),
        (".ann@example.com", "misplaced '.'"),
        ("ann..lee@example.com", "misplaced '.'"),
        ('"ann lee"@example.com', "contains a space"),
        ("ann(comment)@example.com", "not allowed"),
        ("a" * 65 + "@example.com", "more than 64"),
        ("a" * 10 + "@" + ".".join(["b" * 60] * 4) + ".com", "longer than 254"),
        ("a@" + ".".join(["b" * 60] * 5) + ".com", "longer than 253"),
        (12345, "not text"),
    ],
)
def test_invalid_emails(raw: object, problem: str) -> None:
    email, error = check_email(raw)
    assert email is None
    assert error is not None and problem in error


def test_subscriber_hash_is_md5_of_lowercased_trimmed_email() -> None:
    expected = hashlib.md5(b"ann.lee@example.com").hexdigest()
    assert subscriber_hash("Ann.Lee@Example.COM") == expected
    assert subscriber_hash("  ann.lee@example.com ") == expected
    assert subscriber_hash("bob@example.com") != expected


def test_truncate_multibyte_and_emoji() -> None:
    assert truncate_utf8("abc", 255) == "abc"
    text = "é" * 200  # 400 bytes
    cut = truncate_utf8(text)
    assert len(cut.encode()) == 254 and cut == "é" * 127
    emoji = "a" + "😀" * 100  # 1 + 400 bytes
    cut = truncate_utf8(emoji)
    assert cut == "a" + "😀" * 63
    assert len(cut.encode()) == 253
    assert truncate_utf8("x" * 300) == "x" * 255


@given(st.text(max_size=400), st.integers(min_value=0, max_value=300))
def test_truncation_is_a_prefix_within_the_limit(text: str, limit: int) -> None:
    cut = truncate_utf8(text, limit)
    assert len(cut.encode("utf-8")) <= limit
    assert text.startswith(cut)
    if len(text.encode("utf-8")) <= limit:
        assert cut == text
    else:
        # Maximal: adding the next character would exceed the limit.
        assert len((text[: len(cut) + 1]).encode("utf-8")) > limit


def test_clean_text_trims_truncates_and_blanks() -> None:
    assert clean_text("  Acme  ") == "Acme"
    assert clean_text("   ") is None
    assert clean_text(None) is None
    assert clean_text(Decimal("12.50")) == "12.50"
    assert clean_text(date(2024, 1, 31)) == "2024-01-31"
    assert clean_text("ü" * 300) == "ü" * 127


def test_get_path_nested_dotted_and_flattened() -> None:
    nested = {"DISPLAYCONTACT": {"MAILADDRESS": {"CITY": "Town"}}}
    assert get_path(nested, "DISPLAYCONTACT.MAILADDRESS.CITY") == "Town"
    assert get_path(nested, "DISPLAYCONTACT.MAILADDRESS.ZIP") is None
    assert get_path({"DISPLAYCONTACT": None}, "DISPLAYCONTACT.EMAIL1") is None
    assert get_path({"DISPLAYCONTACT__EMAIL1": "a@b.co"}, "DISPLAYCONTACT.EMAIL1") == "a@b.co"
    assert get_path({"DISPLAYCONTACT.EMAIL1": "c@d.co"}, "DISPLAYCONTACT.EMAIL1") == "c@d.co"


def test_to_decimal_and_recordno() -> None:
    assert to_decimal(Decimal("1.10")) == Decimal("1.10")
    assert to_decimal(3) == Decimal(3)
    assert to_decimal(0.1) == Decimal("0.1")
    assert to_decimal(" 12.5 ") == Decimal("12.5")
    assert to_decimal(None) is None and to_decimal("") is None
    for bad in ("abc", True, Decimal("NaN"), float("inf"), [1]):
        with pytest.raises(ValueError):
            to_decimal(bad)
    assert as_recordno(Decimal(12)) == 12
    assert as_recordno("12") == 12
    assert as_recordno(12) == 12
    assert as_recordno(Decimal("12.5")) is None
    assert as_recordno(None) is None and as_recordno(True) is None and as_recordno("x") is None


def test_dates_from_objects_and_strings() -> None:
    assert iso_datetime("2024-01-31T13:05:09+00:00") == "2024-01-31T13:05:09+00:00"
    assert iso_datetime("2024-01-31T13:05:09Z") == "2024-01-31T13:05:09+00:00"
    assert iso_datetime(datetime(2024, 1, 31, 13, 5, 9)) == "2024-01-31T13:05:09+00:00"
    est = timezone(timedelta(hours=-5))
    assert iso_datetime(datetime(2024, 1, 31, 8, 0, tzinfo=est)) == "2024-01-31T08:00:00-05:00"
    assert iso_datetime(None) is None and iso_datetime("") is None
    assert iso_date_midnight(date(2024, 1, 5)) == "2024-01-05T00:00:00+00:00"
    assert iso_date_midnight("2024-01-05") == "2024-01-05T00:00:00+00:00"
    assert iso_date_midnight("01/05/2024") == "2024-01-05T00:00:00+00:00"
    assert iso_date_midnight(datetime(2024, 1, 5, 23, 0, tzinfo=UTC)) == (
        "2024-01-05T00:00:00+00:00"
    )
    with pytest.raises(ValueError):
        iso_datetime("not a date")


def test_object_ids() -> None:
    assert check_object_id(" C-0012 ") == ("C-0012", None)
    assert check_object_id(Decimal(42)) == ("42", None)
    assert check_object_id("a b") == ("a b", None)
    assert check_object_id("A/B")[0] is None
    assert check_object_id("A\\B")[0] is None
    assert check_object_id("A\nB")[0] is None
    assert check_object_id("")[0] is None


def test_currency_check() -> None:
    assert check_currency("USD") == ("USD", None)
    assert check_currency(" eur ") == ("EUR", None)
    for bad, problem in [
        ("US", "ISO 4217"),
        ("USDX", "ISO 4217"),
        ("U$D", "ISO 4217"),
        ("ABC", "not a known"),
        (None, "empty"),
        (840, "not a currency"),
    ]:
        code, error = check_currency(bad)
        assert code is None and error is not None and problem in error


def test_currency_codes_come_from_babel_current_and_withdrawn() -> None:
    # Current codes, fund codes and units of account.
    for code in ("USD", "EUR", "JPY", "CLF", "XDR", "XCG", "ZWG", "SLE"):
        assert check_currency(code) == (code, None)
    # Withdrawn codes: a bill issued before the change keeps its currency.
    for code in ("BGN", "SLL", "HRK", "DEM"):
        assert check_currency(code.lower()) == (code, None)
    # ISO 4217 codes for what is not money.
    for code in ("XAU", "XAG", "XPT", "XPD", "XBA", "XTS", "XXX"):
        code_out, error = check_currency(code)
        assert code_out is None and error is not None and "not money" in error
    assert len(currency_codes()) > 250


def test_settings_defaults_and_validation() -> None:
    s = MappingSettings()
    assert s.status_if_new == "subscribed"
    assert (s.customer_tag, s.vendor_tag, s.inactive_tag) == (
        "Intacct customer",
        "Intacct vendor",
        "Intacct inactive",
    )
    assert s.inactive_records == "ignore" and s.store_id == "intacct"
    assert s.financial_status_for("Paid") == "paid"
    assert s.financial_status_for("paid ") == "paid"
    for state in ("Reversed", "Reversal", "Declined"):
        assert s.financial_status_for(state) == "cancelled"
    for other in ("Draft", "Submitted", "Posted", "Selected", "Partially Paid", None):
        assert s.financial_status_for(other) == "pending"
    custom = MappingSettings(financial_status_map={"Posted": "authorized"})
    assert custom.financial_status_for("Posted") == "authorized"
    assert custom.financial_status_for("Paid") == "paid"  # defaults kept
    with pytest.raises(ValueError, match="status_if_new"):
        MappingSettings(status_if_new="archived")
    with pytest.raises(ValueError, match="inactive_records"):
        MappingSettings(inactive_records="drop")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="merge tag"):
        MappingSettings(merge_fields={"lower": "NAME"})
    with pytest.raises(ValueError, match="merge tag"):
        MappingSettings(merge_fields={"TOOLONGTAG11": "NAME"})
    with pytest.raises(ValueError, match="ADDRESS"):
        MappingSettings(merge_fields={"ADDRESS": "NAME"})
    with pytest.raises(ValueError, match="store_id"):
        MappingSettings(store_id="a/b")
    cfg = MappingSettings.from_config(
        {
            "api_key": "x",
            "list_id": "L",
            "vendor_tag": "Supplier",
            "store_id": None,
            "status_if_new": "pending",
        }
    )
    assert cfg.vendor_tag == "Supplier" and cfg.store_id == "intacct"
    assert cfg.status_if_new == "pending" and cfg.vendor_status_if_new is None


@pytest.mark.parametrize("value", [None, ""])
def test_consent_has_no_default(value: str | None) -> None:
    config = {"api_key": "x", "list_id": "L"}
    if value is not None:
        config["status_if_new"] = value
    with pytest.raises(ValueError, match="status_if_new") as err:
        MappingSettings.from_config(config)
    message = str(err.value)
    assert "\n" not in message
    for word in ("'subscribed'", "'transactional'", "'pending'", "vendor_status_if_new"):
        assert word in message


def test_vendor_status_and_shared_addresses() -> None:
    cfg = MappingSettings.from_config(
        {"status_if_new": "subscribed", "vendor_status_if_new": "transactional"}
    )
    assert cfg.status_if_new_for(customer=True, vendor=False) == "subscribed"
    assert cfg.status_if_new_for(customer=False, vendor=True) == "transactional"
    assert cfg.status_if_new_for(customer=True, vendor=True) == "subscribed"
    same = MappingSettings.from_config({"status_if_new": "pending"})
    assert same.status_if_new_for(customer=False, vendor=True) == "pending"
    with pytest.raises(ValueError, match="vendor_status_if_new"):
        MappingSettings.from_config({"status_if_new": "pending", "vendor_status_if_new": "x"})


def test_text_drops_control_characters_and_keeps_the_rest() -> None:
    assert to_text("A\x00B\x07 \x1bC\x7f") == "AB C"
    assert to_text("line\tone\nline two\r") == "line\tone\nline two"
    assert to_text("\x01\x02") is None
    assert to_text("Zoë 🙂 مرحبا") == "Zoë 🙂 مرحبا"
