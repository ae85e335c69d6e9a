"""Property: whatever contacts, bills and payments arrive, the target run ends normally and
accounts for every record (written, skipped, parked or rejected with a reason), and what it
writes fits Mailchimp's limits.

Hypothesis builds Singer input with arbitrary text in every contact field (control
characters, lone surrogates, markup, right-to-left marks, very long values), arbitrary
emails, GL account numbers with `/ ? # % .` and spaces (they become product ids in URL
paths), and amounts of any size, sign and precision. Each example is one whole target run
against the Mailchimp sandbox, in its own store and ledger.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from target_mailchimp.api import RetryPolicy
from target_mailchimp.ledger import Ledger
from target_mailchimp.target import TargetMailchimp
from tests.sandbox.mailchimp import MailchimpSandbox
from tests.target_mailchimp.test_target_kit import KEYS, run_target, tap_schema

_any_char = st.characters(codec=None, exclude_categories=())
_nasty = st.sampled_from(
    [
        "&<>\"'",
        "\x00\x07\x1b[31m",
        "\ud800lone",
        "\u202eevil\u202c",
        "\U0001f600\u200d",
        "ünïcødé " * 40,
        "   ",
        "",
    ]
)
texts = st.one_of(st.none(), st.text(_any_char, max_size=80), _nasty)
good_emails = st.from_regex(r"\A[A-Za-z0-9_+-]{1,20}@[A-Za-z0-9]{1,10}\.[A-Za-z]{2,4}\Z")
emails = st.one_of(
    st.none(),
    good_emails,
    good_emails,
    st.tuples(st.text(_any_char, max_size=10), st.text(_any_char, max_size=10)).map("@".join),
    st.text(_any_char, max_size=30),
    st.sampled_from(
        [" Cap.Itals@Example.COM ", "no-at-sign", "a@b", "a@@b.com", "ü@b.com", "x\n@y.com"]
    ),
)
accounts = st.one_of(
    st.sampled_from(["6000", "60/00", "a?b#c", "50%", ".", "..", " 6100 ", "ünï", "x" * 90]),
    st.text(_any_char, min_size=1, max_size=12),
)
amounts = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False, places=2, min_value=-1e6, max_value=1e6),
    st.decimals(allow_nan=False, allow_infinity=False),
    st.sampled_from([Decimal("0"), Decimal("-0.00"), Decimal("1E+40"), Decimal("1E-12")]),
)


@st.composite
def contacts(draw: Any, stream: str, n: int, *, good: bool = False) -> dict[str, Any]:
    """A contact; `good` ones have a valid email and are active (so their bills can be
    written)."""
    id_field = "CUSTOMERID" if stream == "customers" else "VENDORID"
    return {
        "RECORDNO": n,
        id_field: f"{stream[0].upper()}{n}",
        "NAME": draw(texts),
        "STATUS": "active" if good else draw(st.sampled_from(["active", "inactive", None])),
        "WHENMODIFIED": "2024-03-01T10:00:00+00:00",
        "DISPLAYCONTACT": {
            "EMAIL1": draw(good_emails if good else emails),
            "EMAIL2": draw(st.one_of(st.none(), emails)),
            "FIRSTNAME": draw(texts),
            "LASTNAME": draw(texts),
            "COMPANYNAME": draw(texts),
            "PHONE1": draw(texts),
            "MAILADDRESS": draw(
                st.one_of(
                    st.none(),
                    st.fixed_dictionaries(
                        {
                            "ADDRESS1": texts,
                            "CITY": texts,
                            "STATE": texts,
                            "ZIP": texts,
                            "COUNTRYCODE": st.one_of(texts, st.sampled_from(["US", "DE", "zz"])),
                        }
                    ),
                )
            ),
        },
    }


@st.composite
def bills(draw: Any, n: int, vendors: list[str]) -> dict[str, Any]:
    lines = draw(
        st.lists(
            st.tuples(accounts, amounts, texts),
            min_size=draw(st.sampled_from([0, 1, 1])),
            max_size=3,
        )
    )
    total = draw(st.one_of(amounts, st.just(sum((a for _, a, _ in lines), Decimal(0)))))
    return {
        "RECORDNO": n,
        "RECORDID": draw(texts),
        "STATE": draw(st.sampled_from(["Posted", "Paid", "Draft", "Reversed", "Odd", None])),
        "VENDORID": draw(st.sampled_from([*vendors, *vendors, "V-unknown"])),
        "WHENCREATED": "2024-03-02",
        "WHENMODIFIED": "2024-03-02T10:00:00+00:00",
        "TRX_TOTALENTERED": total,
        "TOTALENTERED": total,
        "CURRENCY": draw(st.sampled_from(["USD", "USD", "EUR", "usd", "XYZ", "", None])),
        "BASECURR": "USD",
        "lines": [
            {
                "RECORDNO": n * 100 + i,
                "RECORDKEY": n,
                "LINE_NO": i,
                "ACCOUNTNO": acct,
                "ACCOUNTTITLE": title,
                "TRX_AMOUNT": amount,
                "AMOUNT": amount,
            }
            for i, (acct, amount, title) in enumerate(lines, start=1)
        ],
    }


@st.composite
def inputs(draw: Any) -> dict[str, list[dict[str, Any]]]:
    customers = [draw(contacts("customers", n)) for n in range(1, draw(st.integers(1, 6)) + 1)]
    vendors = [draw(contacts("vendors", 1, good=True))]
    vendors += [draw(contacts("vendors", n)) for n in range(2, draw(st.integers(1, 3)) + 1)]
    vendor_ids = [v["VENDORID"] for v in vendors]
    bill_list = [draw(bills(n, vendor_ids)) for n in range(10, 10 + draw(st.integers(0, 4)))]
    payments = [
        {
            "RECORDNO": 500 + i,
            "RECORDID": f"P{i}",
            "STATE": draw(st.sampled_from(["Complete", "Voided", None])),
            "WHENMODIFIED": "2024-03-03T10:00:00+00:00",
            "details": [
                {
                    "RECORDNO": 50000 + i,
                    "RECORDKEY": draw(st.sampled_from([*[b["RECORDNO"] for b in bill_list], 999])),
                    "TRX_PAYMENTAMOUNT": draw(amounts),
                    "PAYMENTAMOUNT": draw(amounts),
                }
            ],
        }
        for i in range(draw(st.integers(0, 2)))
    ]
    return {
        "customers": customers,
        "vendors": vendors,
        "ap_bills": bill_list,
        "ap_payments": payments,
    }


_DECIMAL = re.compile(r'"@@dec:([^"@]+)@@"')


def _singer(data: dict[str, list[dict[str, Any]]]) -> str:
    """Singer lines; Decimals go out as exact JSON numbers, lone surrogates as \\u escapes."""

    def encode(value: Any) -> Any:
        if isinstance(value, Decimal):
            return f"@@dec:{value}@@"
        if isinstance(value, dict):
            return {k: encode(v) for k, v in value.items()}
        if isinstance(value, list):
            return [encode(v) for v in value]
        return value

    lines = []
    for stream, records in data.items():
        schema = {"type": "SCHEMA", "stream": stream, "schema": tap_schema(stream)}
        schema["key_properties"] = KEYS.get(stream, ["RECORDNO"])
        lines.append(json.dumps(schema))
        for rec in records:
            text = json.dumps({"type": "RECORD", "stream": stream, "record": encode(rec)})
            lines.append(_DECIMAL.sub(lambda m: m.group(1), text))
    lines.append(json.dumps({"type": "STATE", "value": {"bookmarks": {"done": True}}}))
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def mc() -> Iterator[MailchimpSandbox]:
    with MailchimpSandbox(batch_start_delay=0.0) as sb:
        yield sb


_runs = itertools.count(1)


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=inputs())
def test_any_input_is_accounted_for_and_never_crashes_the_run(
    mc: MailchimpSandbox, tmp_path_factory: pytest.TempPathFactory, data: dict[str, Any]
) -> None:
    n = next(_runs)
    tmp: Path = tmp_path_factory.mktemp(f"prop{n}")
    config = mc.target_config(
        status_if_new="subscribed",
        ledger_url=f"sqlite:///{tmp / 'ledger.sqlite'}",
        store_id=f"prop{n}",
        max_retries=1,
        request_timeout=10,
        batch_poll_interval=0.01,
        batch_timeout=20,
    )
    old = TargetMailchimp.client_options
    TargetMailchimp.client_options = {"retry": RetryPolicy.no_wait(max_retries=1)}
    try:
        result = run_target(config, _singer(data), raise_errors=False)
    finally:
        TargetMailchimp.client_options = old
    assert result.error is None, repr(result.error)
    assert result.states[-1] == {"bookmarks": {"done": True}}
    report = result.report
    assert report.failed_records == 0, report.problems

    for kind, actions in report.counts.items():
        for action in actions:
            event(f"{kind} {action}")
    rows = Ledger(config["ledger_url"], heartbeat_interval=None).audit.rows(result.run_id)
    audited = {(r.stream, r.source_key) for r in rows}
    for stream, records in data.items():
        for rec in records:
            assert (stream, str(rec["RECORDNO"])) in audited, (stream, rec["RECORDNO"])
    for row in rows:
        if row.action == "rejected":
            assert row.detail, row
    # what was written fits Mailchimp's limits
    for member in mc.snapshot()["lists"][mc.list_id]["members"].values():
        for value in member["merge_fields"].values():
            if isinstance(value, str):
                assert len(value.encode("utf-8", "surrogatepass")) <= 255
