"""Customers and vendors -> audience members (and e-commerce customers)."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from target_mailchimp.mapping import (
    ContactRecord,
    MappingSettings,
    MemberPayload,
    Rejected,
    Skipped,
    contact_from_record,
    contact_outcome,
    customer_payload,
    dumps_exact,
    member_payload,
    required_merge_fields,
    subscriber_hash,
)

SCHEMAS = Path(__file__).resolve().parents[1] / "sandbox" / "reference" / "mailchimp-schemas"
DEFAULT = MappingSettings()


def intacct_contact(
    stream: str = "customers",
    recordno: Any = 12,
    source_id: str | None = "C-0012",
    *,
    email1: Any = "ann@example.com",
    email2: Any = None,
    first: str | None = "Ann",
    last: str | None = "Lee",
    company: str | None = None,
    name: str | None = "Acme Corp",
    phone: str | None = "+1 555 0100",
    status: str | None = "active",
    address: dict[str, Any] | None = None,
    modified: Any = "2024-01-31T13:05:09+00:00",
    **extra: Any,
) -> dict[str, Any]:
    """A customers/vendors record as the tap emits it (every field present, null if empty)."""
    id_field = "CUSTOMERID" if stream == "customers" else "VENDORID"
    mail = {
        "ADDRESS1": None,
        "ADDRESS2": None,
        "CITY": None,
        "STATE": None,
        "ZIP": None,
        "COUNTRY": None,
        "COUNTRYCODE": None,
    }
    mail.update(address or {})
    record = {
        "RECORDNO": recordno,
        id_field: source_id,
        "NAME": name,
        "STATUS": status,
        "CURRENCY": "USD",
        "TOTALDUE": Decimal("0.00"),
        "MEGAENTITYID": None,
        "WHENCREATED": "2023-05-01T00:00:00+00:00",
        "WHENMODIFIED": modified,
        "DISPLAYCONTACT": {
            "CONTACTNAME": f"{first} {last}",
            "COMPANYNAME": company,
            "FIRSTNAME": first,
            "LASTNAME": last,
            "PRINTAS": name,
            "EMAIL1": email1,
            "EMAIL2": email2,
            "PHONE1": phone,
            "PHONE2": None,
            "MAILADDRESS": mail,
        },
    }
    record.update(extra)
    return record


FULL_ADDRESS = {
    "ADDRESS1": "1 Main St",
    "ADDRESS2": "Suite 2",
    "CITY": "Springfield",
    "STATE": "IL",
    "ZIP": "62701",
    "COUNTRY": "United States",
    "COUNTRYCODE": "US",
}


def contact(
    stream: str = "customers", settings: MappingSettings = DEFAULT, **kw: Any
) -> ContactRecord:
    result = contact_from_record(stream, intacct_contact(stream, **kw), settings)
    assert isinstance(result, ContactRecord), result
    return result


def member(contacts: list[ContactRecord], settings: MappingSettings = DEFAULT) -> MemberPayload:
    result = member_payload(contacts, settings)
    assert isinstance(result, MemberPayload), result
    return result


def validate(schema_name: str, body: dict[str, Any]) -> None:
    schema = json.loads((SCHEMAS / f"{schema_name}.in.json").read_text())
    jsonschema.validate(json.loads(dumps_exact(body)), schema["properties"]["requestBody"])


# ---------------------------------------------------------------- email


def test_basic_member_payload_never_has_status() -> None:
    m = member([contact(address=FULL_ADDRESS)])
    assert m.body == {
        "email_address": "ann@example.com",
        "status_if_new": "subscribed",
        "merge_fields": {
            "FNAME": "Ann",
            "LNAME": "Lee",
            "COMPANY": "Acme Corp",
            "PHONE": "+1 555 0100",
            "ADDRESS": {
                "addr1": "1 Main St",
                "addr2": "Suite 2",
                "city": "Springfield",
                "state": "IL",
                "zip": "62701",
                "country": "US",
            },
        },
    }
    assert "status" not in m.body and "status" not in m.batch_member()
    assert m.object_id == m.subscriber_hash == subscriber_hash("ann@example.com")
    assert m.tags == {"Intacct customer": True}
    assert m.archive is False
    assert m.tags_body() == {
        "tags": [{"name": "Intacct customer", "status": "active"}],
        "is_syncing": False,
    }
    assert m.batch_member()["tags"] == ["Intacct customer"]
    validate("putListsIdMembersId", m.body)


def test_status_if_new_setting() -> None:
    m = member([contact()], MappingSettings(status_if_new="pending"))
    assert m.body["status_if_new"] == "pending"


def test_email2_fallback_and_trimming() -> None:
    c = contact(email1=None, email2="  second@example.com ")
    assert c.email == "second@example.com"
    c = contact(email1="   ", email2="second@example.com")
    assert c.email == "second@example.com"
    c = contact(email1="not-an-email", email2="second@example.com")
    assert c.email == "second@example.com"
    c = contact(email1=" first@example.com\n", email2="second@example.com")
    assert c.email == "first@example.com"


def test_capitals_keep_case_but_hash_lowercased() -> None:
    c = contact(email1="Ann.Lee@Example.COM")
    m = member([c])
    assert m.body["email_address"] == "Ann.Lee@Example.COM"
    assert c.email_key == "ann.lee@example.com"
    assert m.subscriber_hash == subscriber_hash("ann.lee@example.com")


@pytest.mark.parametrize(
    ("email1", "email2", "fragment"),
    [
        (None, None, "DISPLAYCONTACT.EMAIL1 is empty; DISPLAYCONTACT.EMAIL2 is empty"),
        ("ann.example.com", None, "'ann.example.com' has no '@'"),
        ("ann lee@example.com", None, "contains a space"),
        ("ann@example", None, "without a '.'"),
        ("jöhn@example.com", None, "non-ASCII"),
        ("x" * 300 + "@example.com", None, "more than 64"),
        ("bad", "also-bad", "EMAIL2 'also-bad' has no '@'"),
    ],
)
def test_invalid_email_rejects_with_reason(email1: Any, email2: Any, fragment: str) -> None:
    c = contact(email1=email1, email2=email2)
    assert c.email is None and c.email_key is None
    outcome = contact_outcome(c, DEFAULT)
    assert isinstance(outcome, Rejected)
    assert outcome.code == "email_invalid"
    assert fragment in outcome.reason
    assert "customers RECORDNO 12 (CUSTOMERID C-0012)" in outcome.reason
    assert "EMAIL1" in outcome.reason
    # Never becomes a member nor an e-commerce customer.
    assert isinstance(member_payload([c], DEFAULT), Skipped)
    assert isinstance(customer_payload(c, DEFAULT), Rejected)


def test_unicode_domain_is_sent_in_punycode() -> None:
    c = contact(email1="Kunde@Bücher.de")
    assert c.email == "Kunde@xn--bcher-kva.de"
    assert member([c]).subscriber_hash == subscriber_hash("kunde@xn--bcher-kva.de")


def test_structural_rejections() -> None:
    assert isinstance(
        contact_from_record("customers", intacct_contact(recordno=None), DEFAULT), Rejected
    )
    r = contact_from_record("customers", intacct_contact(source_id="C/12"), DEFAULT)
    assert isinstance(r, Rejected) and r.code == "id_invalid" and "'/'" in r.reason
    r = contact_from_record("customers", intacct_contact(source_id=None), DEFAULT)
    assert isinstance(r, Rejected) and "CUSTOMERID" in r.reason
    r = contact_from_record("ap_bills", intacct_contact(), DEFAULT)
    assert isinstance(r, Rejected) and r.code == "unknown_stream"


def test_decimal_recordno_and_flattened_records() -> None:
    rec = intacct_contact(recordno=Decimal(12))
    flat = {k: v for k, v in rec.items() if k != "DISPLAYCONTACT"}
    for key, value in rec["DISPLAYCONTACT"].items():
        if key == "MAILADDRESS":
            for sub, sub_value in value.items():
                flat[f"DISPLAYCONTACT__MAILADDRESS__{sub}"] = sub_value
        else:
            flat[f"DISPLAYCONTACT__{key}"] = value
    a = contact_from_record("customers", rec, DEFAULT)
    b = contact_from_record("customers", flat, DEFAULT)
    assert isinstance(a, ContactRecord) and a.recordno == 12
    assert a == b


# ---------------------------------------------------------------- merge fields


def test_company_falls_back_to_name() -> None:
    assert member([contact(company="Acme Inc")]).body["merge_fields"]["COMPANY"] == "Acme Inc"
    assert member([contact(company=None)]).body["merge_fields"]["COMPANY"] == "Acme Corp"
    no_company = member([contact(company=None, name=None)]).body["merge_fields"]
    assert "COMPANY" not in no_company


@pytest.mark.parametrize("missing", ["ADDRESS1", "CITY", "STATE", "ZIP"])
def test_address_only_when_complete(missing: str) -> None:
    address = {**FULL_ADDRESS, missing: None}
    m = member([contact(address=address)])
    assert "ADDRESS" not in m.body["merge_fields"]
    # The e-commerce customer still gets the parts that are there.
    cust = customer_payload(contact(address=address), DEFAULT)
    assert not isinstance(cust, Rejected | Skipped)
    assert cust.body["address"]


def test_address_country_code_else_country_and_no_empty_addr2() -> None:
    address = {**FULL_ADDRESS, "COUNTRYCODE": None, "ADDRESS2": "  "}
    value = member([contact(address=address)]).body["merge_fields"]["ADDRESS"]
    assert value["country"] == "United States"
    assert "addr2" not in value


def test_empty_values_are_not_sent() -> None:
    m = member([contact(first=None, last="  ", phone=None, name=None)])
    assert "merge_fields" not in m.body
    validate("putListsIdMembersId", m.body)


def test_text_truncated_to_255_bytes_without_splitting() -> None:
    m = member([contact(first="é" * 200, last="😀" * 70, company="x" * 300)])
    merge = m.body["merge_fields"]
    assert merge["FNAME"] == "é" * 127
    assert merge["LNAME"] == "😀" * 63
    assert merge["COMPANY"] == "x" * 255
    for value in (merge["FNAME"], merge["LNAME"], merge["COMPANY"]):
        assert len(value.encode("utf-8")) <= 255


def test_merge_fields_setting_maps_more_fields_and_overrides() -> None:
    settings = MappingSettings(
        merge_fields={
            "ENTITY": "MEGAENTITYID",
            "CURRENCY": "CURRENCY",
            "PHONE": "DISPLAYCONTACT.PHONE2",
        }
    )
    rec = intacct_contact(MEGAENTITYID="E100")
    rec["DISPLAYCONTACT"]["PHONE2"] = "+44 20 7946 0000"
    c = contact_from_record("customers", rec, settings)
    assert isinstance(c, ContactRecord)
    merge = member([c], settings).body["merge_fields"]
    assert merge["ENTITY"] == "E100"
    assert merge["CURRENCY"] == "USD"
    assert merge["PHONE"] == "+44 20 7946 0000"
    # Overridden tag with no value: the built-in source is not used either.
    c2 = contact_from_record("customers", intacct_contact(), settings)
    assert isinstance(c2, ContactRecord)
    assert "PHONE" not in member([c2], settings).body["merge_fields"]


def test_required_merge_fields() -> None:
    fields = required_merge_fields(DEFAULT)
    assert fields == [
        ("FNAME", "First Name", "text"),
        ("LNAME", "Last Name", "text"),
        ("COMPANY", "Company", "text"),
        ("PHONE", "Phone Number", "phone"),
        ("ADDRESS", "Address", "address"),
    ]
    more = required_merge_fields(
        MappingSettings(merge_fields={"ENTITY_ID": "MEGAENTITYID", "PHONE": "X.Y"})
    )
    assert more[-1] == ("ENTITY_ID", "Entity Id", "text")
    assert [f for f in more if f[0] == "PHONE"] == [("PHONE", "Phone Number", "phone")]
    assert len(more) == 6


# ---------------------------------------------------------------- one member per email


def test_customer_and_vendor_with_one_address_become_one_member() -> None:
    cust = contact("customers", recordno=30, first=None, last="Lee", company=None, name="Acme Corp")
    vend = contact(
        "vendors",
        recordno=5,
        source_id="V-5",
        email1="ANN@example.com",
        first="Annie",
        last="Vendor",
        name="Acme Supplies",
        address=FULL_ADDRESS,
    )
    m = member([vend, cust])
    assert m.body["email_address"] == "ann@example.com"  # from the customer (merged first)
    merge = m.body["merge_fields"]
    assert merge["FNAME"] == "Annie"  # customer has none: first non-empty is the vendor's
    assert merge["LNAME"] == "Lee"  # customer wins over vendor
    assert merge["COMPANY"] == "Acme Corp"
    assert merge["ADDRESS"]["addr1"] == "1 Main St"
    assert m.tags == {"Intacct customer": True, "Intacct vendor": True}
    assert m.sources == ("customers:30", "vendors:5")


def test_two_customers_lowest_recordno_wins() -> None:
    a = contact(recordno=20, source_id="C-20", first="Second")
    b = contact(recordno=7, source_id="C-7", first="First", email1="Ann@Example.com")
    assert member([a, b]).body["merge_fields"]["FNAME"] == "First"
    assert member([a, b]).body["email_address"] == "Ann@Example.com"
    assert member([a, b]) == member([b, a])


def test_same_record_twice_uses_latest_version() -> None:
    old = contact(first="Old", modified="2024-01-01T00:00:00+00:00")
    new = contact(first="New", modified="2024-02-01T00:00:00+00:00")
    assert member([old, new]).body["merge_fields"]["FNAME"] == "New"
    assert member([new, old]).body["merge_fields"]["FNAME"] == "New"


def test_contacts_of_different_emails_are_a_caller_error() -> None:
    with pytest.raises(ValueError, match="one email"):
        member_payload([contact(), contact(recordno=13, email1="bob@example.com")], DEFAULT)


def test_hash_is_stable_and_changes_with_content() -> None:
    a = member([contact()])
    assert a.payload_hash() == member([contact()]).payload_hash()
    assert a.payload_hash() != member([contact(first="Other")]).payload_hash()
    assert a.payload_hash() != member([contact()], MappingSettings(customer_tag="X")).payload_hash()


names = st.one_of(st.none(), st.sampled_from(["Ann", "Bob", "", "Zoë", "李"]))


@st.composite
def contact_sets(draw: st.DrawFn) -> list[ContactRecord]:
    count = draw(st.integers(min_value=1, max_value=6))
    out = []
    for _ in range(count):
        stream = draw(st.sampled_from(["customers", "vendors"]))
        recordno = draw(st.integers(min_value=1, max_value=9))
        out.append(
            contact(
                stream,
                recordno=recordno,
                source_id=f"{stream[0].upper()}-{recordno}",
                email1=draw(
                    st.sampled_from(["ann@example.com", "ANN@example.com", "Ann@Example.Com"])
                ),
                first=draw(names),
                last=draw(names),
                company=draw(names),
                name=draw(names),
                phone=draw(st.one_of(st.none(), st.sampled_from(["1", "2"]))),
                status=draw(st.sampled_from(["active", "inactive"])),
                address=draw(
                    st.sampled_from([FULL_ADDRESS, {}, {**FULL_ADDRESS, "CITY": "Other"}])
                ),
                modified=draw(
                    st.sampled_from(["2024-01-01T00:00:00+00:00", "2024-02-01T00:00:00+00:00"])
                ),
            )
        )
    return out


@given(contact_sets(), st.randoms(), st.sampled_from(["ignore", "tag", "archive"]))
def test_member_payload_does_not_depend_on_input_order(
    contacts: list[ContactRecord], rnd: Any, mode: str
) -> None:
    settings = MappingSettings(inactive_records=mode)  # type: ignore[arg-type]
    shuffled = list(contacts)
    rnd.shuffle(shuffled)
    first = member_payload(contacts, settings)
    second = member_payload(shuffled, settings)
    assert first == second
    if isinstance(first, MemberPayload):
        assert isinstance(second, MemberPayload)
        assert first.payload_hash() == second.payload_hash()
        assert "status" not in first.body


# ---------------------------------------------------------------- inactive records


def test_inactive_ignore_contributes_nothing() -> None:
    inactive = contact(status="inactive", first="Gone")
    outcome = contact_outcome(inactive, DEFAULT)
    assert isinstance(outcome, Skipped) and "inactive_records" in outcome.reason
    assert isinstance(member_payload([inactive], DEFAULT), Skipped)
    assert isinstance(customer_payload(inactive, DEFAULT), Skipped)
    # With an active vendor on the address, only the vendor counts.
    vendor = contact("vendors", recordno=3, source_id="V-3", first="Here")
    m = member([inactive, vendor])
    assert m.body["merge_fields"]["FNAME"] == "Here"
    assert m.tags == {"Intacct vendor": True}


def test_inactive_tag_mode() -> None:
    settings = MappingSettings(inactive_records="tag")
    inactive = contact(status="inactive", settings=settings)
    assert contact_outcome(inactive, settings) is None
    m = member([inactive], settings)
    assert m.tags == {"Intacct customer": True, "Intacct inactive": True}
    assert m.archive is False
    assert not isinstance(customer_payload(inactive, settings), Skipped)
    # One active record on the address: the inactive tag is removed.
    vendor = contact("vendors", recordno=3, source_id="V-3", settings=settings)
    m = member([inactive, vendor], settings)
    assert m.tags == {"Intacct customer": True, "Intacct vendor": True, "Intacct inactive": False}
    assert {"name": "Intacct inactive", "status": "inactive"} in m.tags_body()["tags"]  # type: ignore[index]
    assert "Intacct inactive" not in m.batch_member()["tags"]


def test_inactive_archive_mode_only_when_all_inactive() -> None:
    settings = MappingSettings(inactive_records="archive")
    inactive = contact(status="inactive", settings=settings)
    vendor_inactive = contact(
        "vendors", recordno=3, source_id="V-3", status="inactive", settings=settings
    )
    assert member([inactive, vendor_inactive], settings).archive is True
    vendor_active = contact("vendors", recordno=3, source_id="V-3", settings=settings)
    m = member([inactive, vendor_active], settings)
    assert m.archive is False
    assert "Intacct inactive" not in m.tags
    assert m.payload_hash() != member([inactive, vendor_inactive], settings).payload_hash()


# ---------------------------------------------------------------- e-commerce customers


def test_ecommerce_customer_payload() -> None:
    c = contact(company="Acme Inc", address=FULL_ADDRESS, email1="Ann@Example.com")
    cust = customer_payload(c, DEFAULT)
    assert not isinstance(cust, Rejected | Skipped)
    assert cust.kind == "customer" and cust.object_id == "customer-C-0012"
    assert cust.body == {
        "id": "customer-C-0012",
        "email_address": "Ann@Example.com",
        "opt_in_status": False,
        "company": "Acme Inc",
        "first_name": "Ann",
        "last_name": "Lee",
        "address": {
            "address1": "1 Main St",
            "address2": "Suite 2",
            "city": "Springfield",
            "province": "IL",
            "postal_code": "62701",
            "country": "United States",
            "country_code": "US",
        },
    }
    validate("putEcommerceStoresIdCustomersId", cust.body)
    vend = customer_payload(contact("vendors", source_id="V-9"), DEFAULT)
    assert not isinstance(vend, Rejected | Skipped)
    assert vend.object_id == "vendor-V-9" and vend.body["company"] == "Acme Corp"
    assert "address" not in vend.body


def test_contact_json_round_trip() -> None:
    c = contact(address=FULL_ADDRESS, settings=MappingSettings(merge_fields={"CUR": "CURRENCY"}))
    assert c.extra == (("CUR", "USD"),)
    assert ContactRecord.from_json(json.loads(json.dumps(c.to_json()))) == c
