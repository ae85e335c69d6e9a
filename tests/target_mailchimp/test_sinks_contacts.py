"""customers and vendors through the target into the Mailchimp sandbox: members, merge
fields, tags, inactive modes, e-commerce customers, rejections."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from target_mailchimp.api import subscriber_hash
from tests.sandbox.mailchimp import MailchimpSandbox
from tests.target_mailchimp import test_target_kit as kit

pytestmark = pytest.mark.usefixtures("no_retry_waits")


def tag_names(member: dict[str, object] | None) -> set[str]:
    assert member is not None
    tags = member["tags"]
    assert isinstance(tags, list)
    return {t["name"] for t in tags}


def test_members_merge_fields_tags_and_one_member_per_email(
    sandbox: MailchimpSandbox, tmp_path: Path
) -> None:
    cfg = kit.target_config(sandbox, tmp_path, merge_fields={"TERMS": "TERMNAME"})
    s = kit.Singer()
    s.record(
        "customers",
        kit.customer(
            1,
            "C1",
            "Ann@Shared.com",
            first="Ann",
            last="Lee",
            company="Acme",
            phone="555-1",
            address=kit.ADDRESS,
            TERMNAME="Net 30",
        ),
        kit.customer(2, "C2", "ann@shared.com", first="Zed", company="Other"),
        kit.customer(3, "C3", "bob@x.com", name="Bob Co", address={"ADDRESS1": "2 Side St"}),
    )
    s.record("vendors", kit.vendor(10, "V10", "ANN@shared.com", company="Acme Supplies"))
    result = kit.run_target(cfg, s)

    ann = sandbox.member("ann@shared.com")
    assert ann is not None
    # Customers before vendors, lowest RECORDNO first: C1 gives every field it has.
    assert ann["merge_fields"]["FNAME"] == "Ann"
    assert ann["merge_fields"]["COMPANY"] == "Acme"
    assert ann["merge_fields"]["TERMS"] == "Net 30"
    assert ann["merge_fields"]["ADDRESS"]["addr1"] == "1 Main St"
    assert ann["status"] == "subscribed"
    assert tag_names(ann) == {"Intacct customer", "Intacct vendor"}
    bob = sandbox.member("bob@x.com")
    assert bob is not None
    assert bob["merge_fields"]["COMPANY"] == "Bob Co"  # NAME when COMPANYNAME is empty
    assert bob["merge_fields"]["ADDRESS"] in ("", None)  # incomplete address not sent
    assert tag_names(bob) == {"Intacct customer"}
    members = sandbox.snapshot()["lists"][sandbox.list_id]["members"]
    assert sorted(members) == ["ann@shared.com", "bob@x.com"]
    # One batch call for all members: never a duplicate-address error.
    assert sandbox.count("POST", f"/lists/{sandbox.list_id}", writes_only=True) >= 1
    assert result.report.rejected_records == 0
    # One row per record: the customers drain creates both members, the vendors drain then
    # updates ann's (its payload gains the vendor tag).
    assert result.counts["member"] == {"created": 3, "updated": 1}
    # COMPANY and the extra merge field were created once; the GET happened once.
    tags = {f["tag"] for f in sandbox.snapshot()["lists"][sandbox.list_id]["merge_fields"]}
    assert {"COMPANY", "TERMS"} <= tags
    assert sandbox.count("GET", f"/lists/{sandbox.list_id}/merge-fields") == 1
    assert sandbox.count("POST", f"/lists/{sandbox.list_id}/merge-fields") == 2

    # A later run that brings only the vendor writes the same member: nothing changes.
    sandbox.reset_counters()
    again = kit.Singer().record(
        "vendors", kit.vendor(10, "V10", "ANN@shared.com", company="Acme Supplies")
    )
    second = kit.run_target(cfg, again)
    assert sandbox.count(writes_only=True) == 0
    assert second.counts["member"] == {"unchanged": 1}
    assert second.counts["customer"] == {"unchanged": 1}
    assert sandbox.count("POST", f"/lists/{sandbox.list_id}/merge-fields") == 0


def test_status_if_new_never_resubscribes(
    sandbox: MailchimpSandbox, cfg: dict[str, Any], tmp_path: Path
) -> None:
    sandbox.seed_member("gone@x.com", status="unsubscribed")
    sandbox.seed_member("pending@x.com", status="pending")
    s = kit.Singer().record(
        "customers",
        kit.customer(1, "C1", "gone@x.com", first="Gone"),
        kit.customer(2, "C2", "pending@x.com", first="Pen"),
        kit.customer(3, "C3", "new@x.com", first="New"),
    )
    result = kit.run_target(cfg, s)
    gone = sandbox.member("gone@x.com")
    assert gone is not None and gone["status"] == "unsubscribed"
    assert gone["merge_fields"]["FNAME"] == "Gone"  # data updated, status kept
    pending = sandbox.member("pending@x.com")
    assert pending is not None and pending["status"] == "pending"
    new = sandbox.member("new@x.com")
    assert new is not None and new["status"] == "subscribed"
    assert result.counts["member"] == {"created": 1, "updated": 2}

    # status_if_new applies to new addresses only.
    cfg2 = kit.target_config(sandbox, tmp_path / "other", status_if_new="pending")
    kit.run_target(cfg2, kit.Singer().record("customers", kit.customer(4, "C4", "dbl@x.com")))
    dbl = sandbox.member("dbl@x.com")
    assert dbl is not None and dbl["status"] == "pending"


def test_ecommerce_customers_follow_their_members(
    sandbox: MailchimpSandbox, cfg: dict[str, Any]
) -> None:
    s = kit.Singer()
    s.record("customers", kit.customer(1, "C1", "c1@x.com", company="C One", address=kit.ADDRESS))
    s.record("vendors", kit.vendor(5, "V5", "v5@x.com", first="Val", last="Vee"))
    result = kit.run_target(cfg, s)
    store = sandbox.snapshot()["stores"]["intacct"]
    assert store["list_id"] == sandbox.list_id
    assert store["name"] == "Sage Intacct" and store["currency_code"] == "USD"
    assert store["is_syncing"] is False  # set during the first backfill, cleared at its end
    customers = store["customers"]
    assert set(customers) == {"customer-C1", "vendor-V5"}
    assert customers["customer-C1"]["company"] == "C One"
    assert customers["customer-C1"]["opt_in_status"] is False
    assert customers["customer-C1"]["address"]["postal_code"] == "62701"
    assert customers["vendor-V5"]["first_name"] == "Val"
    # The member came first, so the new contact is subscribed, not transactional.
    for email in ("c1@x.com", "v5@x.com"):
        member = sandbox.member(email)
        assert member is not None and member["status"] == "subscribed"
    writes = [
        (r.method, r.api_path.rsplit("/", 1)[-1])
        for r in sorted(sandbox.requests, key=lambda r: r.started)
        if r.is_write and ("/customers/" in r.api_path or r.api_path == f"/lists/{sandbox.list_id}")
    ]
    # Each drain: its members (one batch call), then their e-commerce customers.
    assert writes == [
        ("POST", sandbox.list_id),
        ("PUT", "customer-C1"),
        ("POST", sandbox.list_id),
        ("PUT", "vendor-V5"),
    ]
    assert result.counts["customer"] == {"created": 2}
    assert result.counts["store"] == {"created": 1}


def test_store_is_syncing_only_during_its_first_backfill(
    sandbox: MailchimpSandbox, cfg: dict[str, Any]
) -> None:
    seen: list[bool] = []

    def on_state(_state: dict[str, object]) -> None:
        seen.append(sandbox.snapshot()["stores"]["intacct"]["is_syncing"])

    s = kit.Singer().record("customers", kit.customer(1, "C1", "c1@x.com")).state({"n": 1})
    s.record("customers", kit.customer(2, "C2", "c2@x.com")).state({"n": 2})
    kit.run_target(cfg, s, on_state=on_state, max_record_age_minutes=0)
    assert seen and all(seen)  # automations paused while the backfill runs
    assert sandbox.snapshot()["stores"]["intacct"]["is_syncing"] is False
    # Later runs are not backfills: the store is left alone.
    sandbox.reset_counters()
    seen.clear()
    later = kit.Singer().record("customers", kit.customer(3, "C3", "c3@x.com")).state({"n": 3})
    kit.run_target(cfg, later, on_state=on_state, max_record_age_minutes=0)
    assert seen == [False]
    assert sandbox.count("PATCH", "/ecommerce/stores/intacct") == 0
    assert sandbox.count("POST", "/ecommerce/stores") == 0


def test_inactive_ignore_skips_member_and_customer(
    sandbox: MailchimpSandbox, cfg: dict[str, Any]
) -> None:
    s = kit.Singer().record(
        "customers",
        kit.customer(1, "C1", "old@x.com", status="inactive"),
        kit.customer(2, "C2", "live@x.com"),
    )
    result = kit.run_target(cfg, s)
    assert sandbox.member("old@x.com") is None
    assert "customer-C1" not in sandbox.snapshot()["stores"]["intacct"]["customers"]
    with kit.ledger_of(cfg) as ledger:
        rows = ledger.audit.rows(result.run_id, actions=["skipped"])
    assert [(r.source_key, r.source_id) for r in rows] == [("1", "C1")]
    assert rows[0].detail is not None and "inactive" in rows[0].detail


def test_inactive_tag_adds_then_removes_the_tag(sandbox: MailchimpSandbox, tmp_path: Path) -> None:
    cfg = kit.target_config(sandbox, tmp_path, inactive_records="tag")
    kit.run_target(
        cfg, kit.Singer().record("customers", kit.customer(1, "C1", "t@x.com", status="inactive"))
    )
    assert tag_names(sandbox.member("t@x.com")) == {"Intacct customer", "Intacct inactive"}
    assert "customer-C1" in sandbox.snapshot()["stores"]["intacct"]["customers"]
    # Active again: the inactive tag is removed (one tags call), the others stay.
    sandbox.reset_counters()
    kit.run_target(
        cfg, kit.Singer().record("customers", kit.customer(1, "C1", "t@x.com", status="active"))
    )
    assert tag_names(sandbox.member("t@x.com")) == {"Intacct customer"}
    assert sandbox.count("POST", f"/lists/{sandbox.list_id}/members/") == 1
    # Never tagged inactive by us: no tags call at all.
    sandbox.reset_counters()
    kit.run_target(cfg, kit.Singer().record("customers", kit.customer(2, "C2", "u@x.com")))
    assert sandbox.count("POST", f"/lists/{sandbox.list_id}/members/") == 0


def test_inactive_archive_archives_the_member(sandbox: MailchimpSandbox, tmp_path: Path) -> None:
    cfg = kit.target_config(sandbox, tmp_path, inactive_records="archive")
    kit.run_target(cfg, kit.Singer().record("customers", kit.customer(1, "C1", "arc@x.com")))
    assert sandbox.member("arc@x.com")["status"] == "subscribed"  # type: ignore[index]
    result = kit.run_target(
        cfg, kit.Singer().record("customers", kit.customer(1, "C1", "arc@x.com", status="inactive"))
    )
    member = sandbox.member("arc@x.com")
    assert member is not None and member["status"] == "archived"
    assert result.counts["member"] == {"archived": 1}
    # An address shared with an active record is not archived.
    kit.run_target(
        cfg,
        kit.Singer().record(
            "customers",
            kit.customer(2, "C2", "both@x.com", status="inactive"),
            kit.customer(3, "C3", "both@x.com"),
        ),
    )
    both = sandbox.member("both@x.com")
    assert both is not None and both["status"] == "subscribed"


def test_bad_records_are_rejected_with_reasons_and_the_rest_written(
    sandbox: MailchimpSandbox, cfg: dict[str, Any]
) -> None:
    s = kit.Singer().record(
        "customers",
        kit.customer(1, "C1", "good@x.com"),
        kit.customer(2, "C2", "no-at-sign"),
        kit.customer(3, "C3", "fake123@x.com"),  # the sandbox says it "looks fake or invalid"
        {"RECORDNO": "not-a-number", "CUSTOMERID": "C4"},
        kit.customer(5, "C5", None),
    )
    result = kit.run_target(cfg, s)
    assert sandbox.member("good@x.com") is not None
    assert sandbox.member("fake123@x.com") is None
    with kit.ledger_of(cfg) as ledger:
        rejected = {r.source_key: r for r in ledger.audit.rejected(result.run_id)}
    assert set(rejected) == {"2", "3", "not-a-number", "5"}
    assert "has no '@'" in (rejected["2"].detail or "")
    assert "fake" in (rejected["3"].detail or "").lower()
    assert rejected["3"].http_status == 200 and rejected["3"].request_id  # from the batch answer
    assert "schema" in (rejected["not-a-number"].detail or "")
    assert "EMAIL1" in (rejected["5"].detail or "")
    assert result.report.rejected_records == 4
    # The fake address's e-commerce customer is not written either.
    customers = sandbox.snapshot()["stores"]["intacct"]["customers"]
    assert set(customers) == {"customer-C1"}


def test_email_change_moves_the_member(sandbox: MailchimpSandbox, cfg: dict[str, Any]) -> None:
    kit.run_target(
        cfg,
        kit.Singer().record(
            "customers",
            kit.customer(1, "C1", "old@x.com", first="Old"),
            kit.customer(2, "C2", "old@x.com", first="Keep"),
        ),
    )
    kit.run_target(
        cfg, kit.Singer().record("customers", kit.customer(1, "C1", "new@x.com", first="Old"))
    )
    new = sandbox.member("new@x.com")
    old = sandbox.member("old@x.com")
    assert new is not None and new["merge_fields"]["FNAME"] == "Old"
    # The old address is rebuilt from the record still using it.
    assert old is not None and old["merge_fields"]["FNAME"] == "Keep"
    with kit.ledger_of(cfg) as ledger:
        for email in ("new@x.com", "old@x.com"):
            state = ledger.writes.object_state("member", subscriber_hash(email))
            assert state is not None and state.exists
