"""ap_payments details carry every way a payment settles a bill: cash and the credit, inline
and advance amounts (transaction and base currency), exact, from the sandbox over HTTP."""

from __future__ import annotations

from decimal import Decimal

from tests.sandbox.intacct import IntacctSandbox, generate_company
from tests.tap_intacct.tap_support import PACIFIC_NAME, run_tap

CREDITS = {
    "TRX_ADJUSTMENTAMOUNT": Decimal("2.00"),
    "ADJUSTMENTAMOUNT": Decimal("2.20"),
    "TRX_INLINEAMOUNT": Decimal("12345678901234567.89"),
    "INLINEAMOUNT": Decimal("0.30"),
    "TRX_POSTEDADVANCEAMOUNT": Decimal("0.10"),
    "POSTEDADVANCEAMOUNT": Decimal("0.11"),
}


def test_detail_credit_amounts_are_emitted() -> None:
    company = generate_company(seed=5, customers=4, vendors=4, bills=6, payments=4)
    details = company.records("APPYMTDETAIL", typed=True)
    credited = details[0]["RECORDNO"]
    company.update("APPYMTDETAIL", credited, CREDITS)
    with IntacctSandbox(company) as sandbox:
        config = sandbox.tap_config(timezone=PACIFIC_NAME)
        config.pop("start_date", None)
        run = run_tap(config)
    emitted = {d["RECORDNO"]: d for p in run.records("ap_payments") for d in p["details"]}
    assert set(emitted) == {d["RECORDNO"] for d in details}
    assert {k: emitted[credited][k] for k in CREDITS} == CREDITS
    others = [d for n, d in emitted.items() if n != credited]
    assert others and all(d["TRX_INLINEAMOUNT"] is None for d in others)
    assert all("TRX_PAYMENTAMOUNT" in d for d in others)
