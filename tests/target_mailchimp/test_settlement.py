"""The financial_status rule (`mapping/settlement.py`): settled by any means, from the newest
facts, whatever order they arrive in; checked as pure cases and through whole target runs
against the Mailchimp sandbox (one run, and split over two runs)."""

from __future__ import annotations

import dataclasses
import itertools
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from target_mailchimp.api.client import MailchimpClient
from target_mailchimp.mapping import (
    DocumentFacts,
    MappingSettings,
    PaymentRecord,
    Settlement,
    dumps_exact,
    order_financial_status,
    payment_from_record,
    settlement_status,
)
from tests.sandbox.mailchimp import MailchimpSandbox
from tests.target_mailchimp import test_target_kit as kit

pytestmark = pytest.mark.usefixtures("no_retry_waits")

DEFAULT = MappingSettings()
T0 = "2024-03-01T10:00:00+00:00"


def stamp(minute: int) -> str:
    return f"2024-03-02T10:{minute:02d}:00+00:00"


def bill(
    *,
    total: str = "100.00",
    due: str | None = None,
    state: str = "Posted",
    modified: str = T0,
    currency: str = "USD",
    rate: str = "1",
    recordno: int = 77,
) -> dict[str, Any]:
    """An ap_bills record; `rate` converts the transaction amounts to base (USD)."""
    trx_total = Decimal(total)
    trx_due = Decimal(due) if due is not None else trx_total
    r = Decimal(rate)
    return {
        "RECORDNO": recordno,
        "RECORDID": f"B-{recordno}",
        "STATE": state,
        "VENDORID": "V1",
        "WHENCREATED": "2024-03-01",
        "WHENMODIFIED": modified,
        "TRX_TOTALENTERED": trx_total,
        "TRX_TOTALDUE": trx_due,
        "TOTALENTERED": (trx_total * r).quantize(Decimal("0.01")),
        "TOTALDUE": (trx_due * r).quantize(Decimal("0.01")),
        "CURRENCY": currency,
        "BASECURR": "USD",
        "lines": [
            {
                "RECORDNO": recordno * 100 + 1,
                "LINE_NO": 1,
                "ACCOUNTNO": "6000",
                "ACCOUNTTITLE": "Supplies",
                "TRX_AMOUNT": trx_total,
                "AMOUNT": (trx_total * r).quantize(Decimal("0.01")),
            }
        ],
    }


def payment(
    recordno: int,
    *,
    cash: str = "0",
    adjustment: str | None = None,
    inline: str | None = None,
    advance: str | None = None,
    state: str = "Complete",
    modified: str = T0,
    rate: str = "1",
    paid_date: str | None = "2024-03-02",
    bill_no: int = 77,
) -> dict[str, Any]:
    """An ap_payments record with one detail on `bill_no` (TRX amounts; base = TRX * rate)."""
    r = Decimal(rate)
    detail: dict[str, Any] = {
        "RECORDNO": recordno * 10,
        "RECORDKEY": bill_no,
        "TRX_PAYMENTAMOUNT": Decimal(cash),
        "PAYMENTAMOUNT": (Decimal(cash) * r).quantize(Decimal("0.01")),
    }
    for base, value in (
        ("ADJUSTMENTAMOUNT", adjustment),
        ("INLINEAMOUNT", inline),
        ("POSTEDADVANCEAMOUNT", advance),
    ):
        if value is not None:
            detail[f"TRX_{base}"] = Decimal(value)
            detail[base] = (Decimal(value) * r).quantize(Decimal("0.01"))
    return {
        "RECORDNO": recordno,
        "RECORDID": f"P-{recordno}",
        "STATE": state,
        "WHENPAID": paid_date if state in ("Complete", "Approved") else None,
        "WHENMODIFIED": modified,
        "details": [detail],
    }


def status(bill_record: dict[str, Any], *payments: dict[str, Any]) -> str:
    allocations = []
    for record in payments:
        parsed = payment_from_record(record)
        assert isinstance(parsed, PaymentRecord), parsed
        allocations.extend(parsed.allocations)
    return order_financial_status(bill_record, allocations, DEFAULT)


# ------------------------------------------------------------------ cases of the issue


def test_draft_payment_on_an_open_bill_settles_nothing() -> None:
    assert status(bill(), payment(1, cash="100", state="Draft", modified=stamp(1))) == "pending"
    for state in ("Submitted", "Unapproved", "Partially approved", "Declined"):
        assert status(bill(), payment(1, cash="100", state=state, modified=stamp(1))) == (
            "pending"
        ), state
    # Approved but not paid yet settles nothing; once it has a paid date it does.
    unpaid = payment(1, cash="100", state="Approved", modified=stamp(1), paid_date=None)
    assert status(bill(), unpaid) == "pending"
    assert status(bill(), payment(1, cash="100", state="Approved", modified=stamp(1))) == "paid"


def test_discount_settles_with_the_cash() -> None:
    # Intacct: Paid, TOTALDUE 0; the payment is 98.00 cash plus 2.00 applied inline.
    settled = bill(state="Paid", due="0", modified=stamp(1))
    pay = payment(1, cash="98.00", inline="2.00", modified=stamp(1))
    assert status(settled, pay) == "paid"
    # Without the bill's newer facts, the payment alone covers it too.
    assert status(bill(), pay) == "paid"
    # Cash alone does not.
    assert status(bill(), payment(1, cash="98.00", modified=stamp(1))) == "pending"


def test_credit_only_settles() -> None:
    credit = payment(1, adjustment="-100.00", modified=stamp(1))  # sign read as applied
    assert status(bill(), credit) == "paid"
    assert status(bill(), payment(1, advance="100.00", modified=stamp(1))) == "paid"
    assert status(bill(state="Paid", due="0", modified=stamp(1)), credit) == "paid"


def test_partial_full_and_overpaid() -> None:
    partly = bill(state="Partially Paid", due="60.00", modified=stamp(1))
    assert status(partly, payment(1, cash="40.00", modified=stamp(1))) == "pending"
    assert status(bill(), payment(1, cash="40.00", modified=stamp(1))) == "pending"
    full = [payment(1, cash="40.00", modified=stamp(1)), payment(2, cash="60", modified=stamp(2))]
    assert status(bill(), *full) == "paid"
    assert status(bill(state="Paid", due="0", modified=stamp(2)), *full) == "paid"
    assert status(bill(), payment(1, cash="150.00", modified=stamp(1))) == "paid"


def test_voided_payment_in_the_same_run_and_a_run_later() -> None:
    pay = payment(1, cash="100", modified=stamp(1))
    void = payment(1, cash="100", state="Voided", modified=stamp(2))
    paid_bill = bill(state="Paid", due="0", modified=stamp(1))
    assert status(paid_bill, pay) == "paid"
    # The void is newer than the bill's facts: back to pending ...
    assert status(paid_bill, pay, void) == "pending"
    assert status(paid_bill, void, pay) == "pending"
    # ... and the bill's update written with the void agrees.
    assert status(bill(state="Posted", due="100", modified=stamp(2)), pay, void) == "pending"
    # Bill facts newer than the void say it is settled again (another payment, a credit).
    assert status(bill(state="Paid", due="0", modified=stamp(3)), void) == "paid"
    # Reversed payments count like voided ones.
    assert status(paid_bill, payment(1, cash="100", state="Reversed", modified=stamp(2))) == (
        "pending"
    )


def test_foreign_currency_compares_transaction_amounts() -> None:
    eur = bill(total="100.00", currency="EUR", rate="1.10")
    assert status(eur, payment(1, cash="100.00", rate="1.10", modified=stamp(1))) == "paid"
    # 100 USD of base amount is not 100 EUR.
    assert status(eur, payment(1, cash="90.91", rate="1.10", modified=stamp(1))) == "pending"
    base_only = {k: v for k, v in eur.items() if not k.startswith("TRX_")}
    assert status(base_only, payment(1, cash="100.00", rate="1.10", modified=stamp(1))) == "paid"


def test_credit_bill_with_a_negative_total() -> None:
    assert status(bill(total="-50.00", due="-50.00")) == "pending"
    assert status(bill(total="-50.00", due="0", state="Paid", modified=stamp(1))) == "paid"
    # Payments never make a non-positive total paid by themselves.
    assert status(bill(total="-50.00"), payment(1, cash="50", modified=stamp(1))) == "pending"


def test_cancelled_and_custom_maps() -> None:
    for state in ("Reversed", "Reversal", "Declined"):
        assert status(bill(state=state), payment(1, cash="100", modified=stamp(1))) == ("cancelled")
    custom = MappingSettings(financial_status_map={"Posted": "authorized"})
    assert order_financial_status(bill(), [], custom) == "authorized"


def test_rule_is_independent_of_document_kind() -> None:
    """The rule takes a document's facts, not an AP bill (AR invoices use it as well)."""
    doc = DocumentFacts(total=Decimal("10"), total_due=Decimal("10"), state="Open", when=T0)
    by_state = {"Paid": "paid"}.get
    assert settlement_status(doc, [], lambda s: by_state(s or "", "pending")) == "pending"
    cash = Settlement(key=1, amount=Decimal("10"), when=stamp(1))
    assert settlement_status(doc, [cash], lambda s: by_state(s or "", "pending")) == "paid"
    newer_doc = dataclasses.replace(doc, when=stamp(2))
    assert settlement_status(newer_doc, [cash], lambda s: by_state(s or "", "pending")) == (
        "pending"
    )


# ------------------------------------------------------------------ histories as facts


@dataclasses.dataclass(frozen=True)
class Event:
    kind: str  # "pay" or "void"
    cash: Decimal = Decimal(0)
    credit: Decimal = Decimal(0)
    credit_field: str = "inline"
    state: str = "Complete"
    target: int = 0  # "void": which earlier payment (index among payments)


@dataclasses.dataclass
class History:
    """One bill's life in Intacct as the facts the tap emits: every version of the bill and of
    each payment, each stamped when Intacct changed it (a payment and the bill it settles
    change in the same transaction)."""

    bills: list[dict[str, Any]]
    payments: list[dict[str, Any]]
    final_status: str
    voids: bool


def history(total: Decimal, events: list[Event], currency: str, rate: str) -> History:
    bills = [bill(total=str(total), currency=currency, rate=rate, modified=stamp(0))]
    payments: list[dict[str, Any]] = []
    live: dict[int, Decimal] = {}  # payment RECORDNO -> amount settled
    voids = False
    minute = 0
    for event in events:
        minute += 1
        if event.kind == "void":
            moved = sorted(live)
            if not moved:
                continue
            number = moved[event.target % len(moved)]
            original = next(p for p in payments if p["RECORDNO"] == number)
            voided = dict(original, STATE="Voided", WHENMODIFIED=stamp(minute))
            payments.append(voided)
            del live[number]
            voids = True
        else:
            number = 500 + len({p["RECORDNO"] for p in payments})
            credit = {event.credit_field: str(event.credit)} if event.credit else {}
            payments.append(
                payment(
                    number,
                    cash=str(event.cash),
                    state=event.state,
                    modified=stamp(minute),
                    rate=rate,
                    **credit,  # type: ignore[arg-type]
                )
            )
            if event.state != "Complete":
                continue  # moved no money: the bill does not change
            live[number] = event.cash + event.credit
        due = max(total - sum(live.values(), Decimal(0)), Decimal(0))
        state = "Paid" if due == 0 else ("Posted" if due == total else "Partially Paid")
        bills.append(
            bill(
                total=str(total),
                due=str(due),
                state=state,
                currency=currency,
                rate=rate,
                modified=stamp(minute),
            )
        )
    final = "paid" if bills[-1]["STATE"] == "Paid" else "pending"
    return History(bills, payments, final, voids)


amounts = st.decimals(min_value=0, max_value=60, places=2)
events = st.lists(
    st.one_of(
        st.builds(
            Event,
            kind=st.just("pay"),
            cash=amounts,
            credit=st.one_of(st.just(Decimal(0)), amounts),
            credit_field=st.sampled_from(["adjustment", "inline", "advance"]),
            state=st.sampled_from(["Complete", "Complete", "Draft", "Declined"]),
        ),
        st.builds(Event, kind=st.just("void"), target=st.integers(0, 5)),
    ),
    min_size=1,
    max_size=5,
)


@dataclasses.dataclass
class Writes:
    """The financial_status of every order write the target sent, per run."""

    runs: list[list[str]] = dataclasses.field(default_factory=list)


@pytest.fixture
def writes(monkeypatch: pytest.MonkeyPatch) -> Writes:
    seen = Writes()
    original = MailchimpClient.request

    def spy(self: MailchimpClient, method: str, path: str, *args: Any, **kwargs: Any) -> Any:
        body = kwargs.get("json")
        is_order = method in ("POST", "PATCH") and "/orders" in path
        if is_order and isinstance(body, dict) and "financial_status" in body and seen.runs:
            seen.runs[-1].append(str(body["financial_status"]))
        return original(self, method, path, *args, **kwargs)

    monkeypatch.setattr(MailchimpClient, "request", spy)
    return seen


def singer(records: list[tuple[str, dict[str, Any]]]) -> kit.Singer:
    """Singer input: the vendor, then `records` in order (amounts as exact JSON numbers)."""
    s = kit.Singer()
    s.record("vendors", kit.vendor(1, "V1", "v1@example.com"))
    s.schema("ap_bills").schema("ap_payments")
    for stream, record in records:
        s.lines.append(dumps_exact({"type": "RECORD", "stream": stream, "record": record}))
    return s


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    total=st.sampled_from([Decimal("100.00"), Decimal("12345678901234567.89"), Decimal("0.30")]),
    steps=events,
    currency=st.sampled_from([("USD", "1"), ("EUR", "1.10")]),
    data=st.data(),
)
def test_same_facts_in_any_order_give_the_same_status(  # noqa: PLR0917
    writes: Writes,
    tmp_path_factory: pytest.TempPathFactory,
    total: Decimal,
    steps: list[Event],
    currency: tuple[str, str],
    data: st.DataObject,
) -> None:
    h = history(total, steps, *currency)
    facts = [("ap_bills", b) for b in h.bills] + [("ap_payments", p) for p in h.payments]
    order = data.draw(st.permutations(facts), label="arrival order")
    split = data.draw(st.integers(0, len(order)), label="split into two runs at")
    writes.runs.clear()
    with MailchimpSandbox(batch_start_delay=0.0) as mailchimp:
        cfg = kit.target_config(
            mailchimp, tmp_path_factory.mktemp("ledger"), status_if_new="subscribed"
        )
        for part in (order[:split], order[split:]):
            writes.runs.append([])
            kit.run_target(cfg, singer(part))
        stored = mailchimp.snapshot()["stores"]["intacct"]["orders"]["bill-77"]
        assert stored["financial_status"] == h.final_status
        if not h.voids:
            for statuses in writes.runs:
                for before, after in itertools.pairwise(statuses):
                    assert not (before == "paid" and after == "pending"), writes.runs
        # Every fact again, in one run: nothing to write.
        mailchimp.reset_counters()
        writes.runs.append([])
        kit.run_target(cfg, singer(order))
        assert mailchimp.count(writes_only=True) == 0, writes.runs[-1]


def test_older_versions_later_in_one_batch_change_nothing(
    sandbox: MailchimpSandbox, writes: Writes, tmp_path: Path
) -> None:
    """Newest versions first, older ones after them in the same run: the newest facts win."""
    cfg = kit.target_config(sandbox, tmp_path, status_if_new="subscribed")
    pay = payment(502, cash="100", modified=stamp(3))
    void = dict(pay, STATE="Voided", WHENMODIFIED=stamp(5))
    facts = [
        ("ap_bills", bill(state="Paid", due="0", modified=stamp(3))),
        ("ap_payments", void),
        ("ap_bills", bill(state="Posted", due="100", modified=stamp(5))),
        ("ap_payments", pay),
        ("ap_bills", bill(modified=stamp(0))),
    ]
    writes.runs.append([])
    kit.run_target(cfg, singer(facts))
    assert orders_of(sandbox)["bill-77"]["financial_status"] == "pending"
    assert writes.runs[-1] == ["pending"]


def orders_of(sb: MailchimpSandbox) -> dict[str, Any]:
    return sb.snapshot()["stores"]["intacct"]["orders"]


def test_payment_before_its_bill_over_two_runs(
    sandbox: MailchimpSandbox, writes: Writes, tmp_path: Path
) -> None:
    mailchimp = sandbox
    cfg = kit.target_config(mailchimp, tmp_path, status_if_new="subscribed")
    pay = payment(1, cash="98.00", inline="2.00", modified=stamp(1))
    writes.runs.append([])
    kit.run_target(cfg, singer([("ap_payments", pay)]))
    assert "bill-77" not in mailchimp.snapshot()["stores"].get("intacct", {}).get("orders", {})
    writes.runs.append([])
    kit.run_target(cfg, singer([("ap_bills", bill(modified=T0))]))
    orders = mailchimp.snapshot()["stores"]["intacct"]["orders"]
    assert orders["bill-77"]["financial_status"] == "paid"
    assert writes.runs[-1] == ["paid"]
