"""International addresses through the target: the Unicode and punycode forms of one address
are one member, sent in ASCII; IDNA 2003's ß -> ss never happens."""

from __future__ import annotations

from typing import Any

import pytest

from tests.sandbox.mailchimp import MailchimpSandbox
from tests.target_mailchimp import test_target_kit as kit

pytestmark = pytest.mark.usefixtures("no_retry_waits")


def test_unicode_and_punycode_forms_are_one_member(
    sandbox: MailchimpSandbox, cfg: dict[str, Any]
) -> None:
    s = kit.Singer()
    s.record("customers", kit.customer(1, "C1", "rechnung@straße.de"))
    s.record("vendors", kit.vendor(2, "V2", "Rechnung@XN--STRAE-OQA.DE"))
    s.record(
        "customers", kit.customer(3, "C3", "info@пример.рф"), kit.customer(4, "C4", "hi@i❤.ws")
    )
    first = kit.run_target(cfg, s)
    members = sandbox.snapshot()["lists"][sandbox.list_id]["members"]
    emails = sorted(m["email_address"].lower() for m in members.values())
    assert emails == ["info@xn--e1afmkfd.xn--p1ai", "rechnung@xn--strae-oqa.de"]
    assert not any("strasse" in e for e in emails)
    member = sandbox.member("rechnung@xn--strae-oqa.de")
    assert member is not None
    assert {t["name"] for t in member["tags"]} == {"Intacct customer", "Intacct vendor"}
    assert first.report.rejected_records == 1  # the emoji domain, with its reason
    sandbox.reset_counters()
    kit.run_target(cfg, s)
    assert sandbox.count(writes_only=True) == 0
