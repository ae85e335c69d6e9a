"""Archived members through the target.

Mailchimp keeps an archived member archived when it is written with ``status_if_new`` (the
target never sends ``status`` in its writes); only a ``status`` brings it back, and GET shows
it only as "archived". So the target reads a member's status before it archives one itself
and keeps it; when that member's address is written again, Mailchimp answers "archived" and
the target brings it back with that status, never a higher one. Members someone else
archived, and those that had unsubscribed before, stay archived with the reason in the audit
trail.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from target_mailchimp.api import subscriber_hash
from target_mailchimp.sinks.errors import MailchimpUnavailableError
from tests.sandbox.mailchimp import MailchimpSandbox
from tests.target_mailchimp import test_target_kit as kit
from tests.target_mailchimp.test_sinks_deletions import audit_rows

pytestmark = pytest.mark.usefixtures("no_retry_waits")


@pytest.fixture
def cfg(sandbox: MailchimpSandbox, tmp_path: Path) -> dict[str, Any]:
    """The target's config, with inactive_records: archive."""
    return kit.target_config(sandbox, tmp_path, inactive_records="archive")


def member_rows(cfg: dict[str, Any], run_id: str) -> list[Any]:
    return [r for r in audit_rows(cfg, run_id) if r.object_kind == "member"]


def check_member(
    sandbox: MailchimpSandbox,
    cfg: dict[str, Any],
    result: kit.RunResult,
    email: str,
    expected: tuple[str, str, str],
) -> None:
    """``expected``: the member's status in Mailchimp, then the action and (part of) the
    detail of the run's one member row."""
    status, action, detail = expected
    member = sandbox.member(email)
    assert member is not None and member["status"] == status
    assert result.counts["member"] == {action: 1}
    (row,) = member_rows(cfg, result.run_id)
    assert detail in (row.detail or "")


def set_status(sandbox: MailchimpSandbox, email: str, status: str) -> None:
    """What the person (or a marketer) does in Mailchimp."""
    answer = sandbox.call(
        "PATCH", f"/lists/{sandbox.list_id}/members/{subscriber_hash(email)}", {"status": status}
    )
    assert answer.status == 200, answer


def test_a_member_someone_else_archived_stays_archived(
    sandbox: MailchimpSandbox, cfg: dict[str, Any]
) -> None:
    sandbox.seed_member("old@x.com", status="archived")
    first = kit.run_target(
        cfg, kit.Singer().record("customers", kit.customer(1, "C1", "old@x.com", first="Ola"))
    )
    expected = (
        "archived",
        "skipped",
        "the member is archived in Mailchimp: someone archived it there",
    )
    check_member(sandbox, cfg, first, "old@x.com", expected)
    assert sandbox.count("PATCH") == 0
    # Nothing is remembered as written: once a marketer unarchives it, the next change of the
    # record reaches it.
    set_status(sandbox, "old@x.com", "subscribed")
    renamed = kit.customer(1, "C1", "old@x.com", first="Olga", modified="2024-04-01T10:00:00Z")
    second = kit.run_target(cfg, kit.Singer().record("customers", renamed))
    assert second.counts["member"] == {"updated": 1}
    assert sandbox.member("old@x.com")["merge_fields"]["FNAME"] == "Olga"  # type: ignore[index]


def test_an_inactive_customer_active_again_comes_back_with_its_own_status(
    sandbox: MailchimpSandbox, cfg: dict[str, Any]
) -> None:
    # The operator adds new addresses as subscribed; this person chose transactional only.
    kit.run_target(cfg, kit.Singer().record("customers", kit.customer(1, "C1", "tx@x.com")))
    set_status(sandbox, "tx@x.com", "transactional")
    kit.run_target(
        cfg,
        kit.Singer().record(
            "customers",
            kit.customer(1, "C1", "tx@x.com", status="inactive", modified="2024-04-01T10:00:00Z"),
        ),
    )
    assert sandbox.member("tx@x.com")["status"] == "archived"  # type: ignore[index]

    back = kit.run_target(cfg, active_again("tx@x.com"))
    expected = ("transactional", "updated", "brought back from the archive as 'transactional'")
    check_member(sandbox, cfg, back, "tx@x.com", expected)


def test_a_member_unarchived_in_mailchimp_loses_the_status_kept_from_the_archive(
    sandbox: MailchimpSandbox, cfg: dict[str, Any]
) -> None:
    archived_by_the_target(sandbox, cfg, "mk@x.com")  # subscribed when archived
    # A marketer brings the member back as transactional; the target then writes it.
    set_status(sandbox, "mk@x.com", "transactional")
    written = kit.run_target(cfg, active_again("mk@x.com"))
    assert written.counts["member"] == {"updated": 1}
    # The marketer archives it again: the target did not archive it this time.
    sandbox.call("DELETE", f"/lists/{sandbox.list_id}/members/{subscriber_hash('mk@x.com')}")
    later = kit.run_target(
        cfg,
        kit.Singer().record(
            "customers",
            kit.customer(1, "C1", "mk@x.com", first="Mo", modified="2024-06-01T10:00:00Z"),
        ),
    )
    check_member(
        sandbox, cfg, later, "mk@x.com", ("archived", "skipped", "someone archived it there")
    )


def archived_by_the_target(sandbox: MailchimpSandbox, cfg: dict[str, Any], email: str) -> None:
    kit.run_target(cfg, kit.Singer().record("customers", kit.customer(1, "C1", email)))
    kit.run_target(
        cfg,
        kit.Singer().record(
            "customers",
            kit.customer(1, "C1", email, status="inactive", modified="2024-04-01T10:00:00Z"),
        ),
    )
    assert sandbox.member(email)["status"] == "archived"  # type: ignore[index]


def active_again(email: str) -> kit.Singer:
    return kit.Singer().record(
        "customers", kit.customer(1, "C1", email, modified="2024-05-01T10:00:00Z")
    )


def test_a_refused_way_back_is_rejected_with_mailchimps_reason(
    sandbox: MailchimpSandbox, cfg: dict[str, Any]
) -> None:
    archived_by_the_target(sandbox, cfg, "re@x.com")
    sandbox.faults.add("400", method="PATCH", path_prefix=f"/lists/{sandbox.list_id}/members/")
    result = kit.run_target(cfg, active_again("re@x.com"))
    assert sandbox.faults.count("400") == 1  # tried once: a refusal is not retried
    expected = ("archived", "rejected", "could not be brought back as 'subscribed'")
    check_member(sandbox, cfg, result, "re@x.com", expected)


def test_a_dry_run_reads_no_status_and_archives_nothing(
    sandbox: MailchimpSandbox, cfg: dict[str, Any]
) -> None:
    kit.run_target(cfg, kit.Singer().record("customers", kit.customer(1, "C1", "dry@x.com")))
    sandbox.reset_counters()
    kit.run_target(
        {**cfg, "dry_run": True},
        kit.Singer().record(
            "customers",
            kit.customer(1, "C1", "dry@x.com", status="inactive", modified="2024-04-01T10:00:00Z"),
        ),
    )
    assert sandbox.count(writes_only=True) == 0
    assert sandbox.count("GET", f"/lists/{sandbox.list_id}/members/") == 0
    assert sandbox.member("dry@x.com")["status"] == "subscribed"  # type: ignore[index]


def test_a_run_stopped_before_the_way_back_brings_the_member_back_next_time(
    sandbox: MailchimpSandbox, cfg: dict[str, Any]
) -> None:
    archived_by_the_target(sandbox, cfg, "re@x.com")
    # Mailchimp is down for the PATCH that would bring the member back, every retry too:
    # the run stops, as on any call Mailchimp keeps failing.
    sandbox.faults.add(
        "503", times=None, method="PATCH", path_prefix=f"/lists/{sandbox.list_id}/members/"
    )
    with pytest.raises(MailchimpUnavailableError):
        kit.run_target(cfg, active_again("re@x.com"))
    assert sandbox.member("re@x.com")["status"] == "archived"  # type: ignore[index]

    sandbox.faults.clear()
    again = kit.run_target(cfg, active_again("re@x.com"))
    assert sandbox.member("re@x.com")["status"] == "subscribed"  # type: ignore[index]
    assert again.counts["member"] == {"updated": 1}
