# ruff: noqa: F811  (pytest fixtures imported from test_target_kit)
"""International addresses through the target: the Unicode and punycode forms of one address
are one member, sent in ASCII; IDNA 2003's ß -> ss never happens."""

from __future__ import annotations

from pathlib import Path

from tests.sandbox.mailchimp import MailchimpSandbox
from tests.target_mailchimp.test_target_kit import (  # noqa: F401 - fixtures
    Singer,
    _no_retry_waits,
    customer,
    run_target,
    sandbox,
    target_config,
    vendor,
)


def test_unicode_and_punycode_forms_are_one_member(
    sandbox: MailchimpSandbox, tmp_path: Path
) -> None:
    cfg = target_config(sandbox, tmp_path)
    s = Singer()
    s.record("customers", customer(1, "C1", "rechnung@straße.de"))
    s.record("vendors", vendor(2, "V2", "Rechnung@XN--STRAE-OQA.DE"))
    s.record("customers", customer(3, "C3", "info@пример.рф"), customer(4, "C4", "hi@i❤.ws"))
    first = run_target(cfg, s)
    members = sandbox.snapshot()["lists"][sandbox.list_id]["members"]
    emails = sorted(m["email_address"].lower() for m in members.values())
    assert emails == ["info@xn--e1afmkfd.xn--p1ai", "rechnung@xn--strae-oqa.de"]
    assert not any("strasse" in e for e in emails)
    member = sandbox.member("rechnung@xn--strae-oqa.de")
    assert member is not None
    assert {t["name"] for t in member["tags"]} == {"Intacct customer", "Intacct vendor"}
    assert first.report.rejected_records == 1  # the emoji domain, with its reason
    sandbox.reset_counters()
    run_target(cfg, s)
    assert sandbox.count(writes_only=True) == 0
