"""A ledger reset while the tap resumes from its state is detected and said plainly in the
run summary, never reported as "unchanged"."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import lxml.html
import pytest

from target_mailchimp.report import load_report, render_report
from target_mailchimp.summary import LEDGER_RESET_MESSAGE, render
from tests.reliability.test_faults_kit import PACIFIC, tap_singer_text
from tests.sandbox.intacct.data import generate_company
from tests.sandbox.intacct.server import IntacctSandbox
from tests.sandbox.mailchimp import MailchimpSandbox
from tests.target_mailchimp import test_target_kit as kit

pytestmark = pytest.mark.usefixtures("no_retry_waits")

UNCHANGED = "everything in Mailchimp is unchanged"
BOOKMARKS = {"bookmarks": {"customers": {"replication_key_value": "2024-03-01T10:00:00+00:00"}}}


def states_of(singer: str) -> list[dict[str, Any]]:
    messages = [json.loads(line) for line in singer.splitlines() if line.strip()]
    return [m["value"] for m in messages if m["type"] == "STATE"]


def test_a_reset_ledger_under_a_resumed_tap_is_said_plainly(
    sandbox: MailchimpSandbox, cfg: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    company = generate_company(seed=3, customers=6, vendors=4, bills=6, payments=3)
    with IntacctSandbox(company) as intacct:
        tap_cfg = intacct.tap_config(timezone=PACIFIC, page_size=25)
        # First run: the tap starts afresh, the ledger is new: a normal first run.
        first = tap_singer_text(tap_cfg, [])
        run1 = kit.run_target(cfg, first)
        assert not run1.report.ledger_reset
        assert run1.counts["member"]["created"] > 0
        state = states_of(first)[-1]
        # Second run: the tap resumes from its state, nothing changed: truly unchanged.
        second = tap_singer_text(tap_cfg, [], state=state)
        assert json.loads(second.splitlines()[0])["type"] == "STATE"  # resumed state first
        run2 = kit.run_target(cfg, second)
        assert not run2.report.ledger_reset
        assert UNCHANGED in render(run2.report)
        with kit.ledger_of(cfg) as ledger:
            assert [r.note for r in ledger.lock.runs()] == [None, None]
        # The ledger is lost; the tap still resumes from its state.
        Path(cfg["ledger_url"].removeprefix("sqlite:///")).unlink()
        caplog.clear()
        run3 = kit.run_target(cfg, tap_singer_text(tap_cfg, [], state=state))
    assert run3.report.ledger_reset
    text = render(run3.report)
    assert f"LEDGER RESET: {LEDGER_RESET_MESSAGE}" in text
    assert LEDGER_RESET_MESSAGE == (
        "the ledger has no record of earlier runs but the tap resumed from a state: "
        "run with --full-refresh to rewrite Mailchimp"
    )
    assert UNCHANGED not in text
    assert "unchanged" not in text
    assert text.splitlines()[1:3] == [
        f"LEDGER RESET: {LEDGER_RESET_MESSAGE}",
        "no records arrived: the tap sent only what changed after its bookmarks, and the "
        "ledger knows of nothing written before; Mailchimp may lack those records",
    ]
    assert any(LEDGER_RESET_MESSAGE in r.getMessage() for r in caplog.records)
    # The ledger keeps it with the run, and the HTML report says it first.
    with kit.ledger_of(cfg) as ledger:
        (run,) = ledger.lock.runs()
    assert run.note == f"ledger reset: {LEDGER_RESET_MESSAGE}"
    page = lxml.html.document_fromstring(render_report(load_report(cfg["ledger_url"])))
    latest = page.xpath("//section[@id='latest']")[0]
    assert latest.xpath("p[@id='run-note']")[0].text_content() == (
        f"The newest run, {run.run_id}: ledger reset: {LEDGER_RESET_MESSAGE}"
    )
    status = page.xpath("//table[@class='runs']//td[@class='status']")[0].text_content()
    assert LEDGER_RESET_MESSAGE in status
    notices = latest.xpath("p[contains(@class, 'notice')]")
    assert notices[0].get("id") == "run-note"  # said first
    assert not any("unchanged" in p.text_content() for p in notices)


@pytest.mark.parametrize(
    ("lines", "reset"),
    [
        # The tap's state comes first (before any SCHEMA): it resumed from it.
        (kit.Singer().state(BOOKMARKS).record("customers", kit.customer(1, "C1", "a@x.com")), True),
        (kit.Singer().state(BOOKMARKS), True),
        # A state without any bookmark value is a fresh start.
        (kit.Singer().state({"bookmarks": {"customers": {}}}).record("customers"), False),
        # States after the first SCHEMA or RECORD are the tap's progress, not where it began.
        (
            kit.Singer().record("customers", kit.customer(1, "C1", "a@x.com")).state(BOOKMARKS),
            False,
        ),
        (kit.Singer().schema("customers").state(BOOKMARKS), False),
        (kit.Singer(), False),
    ],
)
def test_only_a_state_sent_before_the_streams_counts_as_resumed(
    sandbox: MailchimpSandbox, tmp_path: Path, lines: kit.Singer, reset: bool
) -> None:
    result = kit.run_target(kit.target_config(sandbox, tmp_path), lines)
    assert result.report.ledger_reset is reset
    assert (LEDGER_RESET_MESSAGE in render(result.report)) is reset
    if reset:
        assert UNCHANGED not in render(result.report)


def test_a_ledger_with_earlier_runs_is_not_a_reset(
    sandbox: MailchimpSandbox, cfg: dict[str, Any]
) -> None:
    kit.run_target(cfg, kit.Singer().record("customers", kit.customer(1, "C1", "a@x.com")))
    again = kit.run_target(cfg, kit.Singer().state(BOOKMARKS))
    assert not again.report.ledger_reset
    assert UNCHANGED in render(again.report)
