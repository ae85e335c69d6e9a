"""The report in a real browser: headless Chromium driven by Playwright.

The page is rendered from a ledger of real runs (tap-intacct against the Intacct sandbox,
piped into the target against the Mailchimp sandbox, twice) and opened from its file. The
test checks: no console error, no request but the page itself, search filters the records
(a vendor id finds the bill rejected because of that vendor), groups show their counts and
open, the action filters work, chart labels do not overlap, and it saves screenshots (in
the test's tmp dir and in test-artifacts/). Never skipped: without a browser it fails with
one line saying what to install (`make test` installs it; see docs/report.md).
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from target_mailchimp.ledger import Ledger
from target_mailchimp.report import main
from tests.reliability.test_faults_kit import PACIFIC, tap_singer_text
from tests.sandbox.intacct.data import generate_company
from tests.sandbox.intacct.server import IntacctSandbox
from tests.sandbox.mailchimp import MailchimpSandbox
from tests.target_mailchimp import test_target_kit as kit
from tests.target_mailchimp.test_report import Clock

pytestmark = pytest.mark.usefixtures("no_retry_waits")

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts"
SYSTEM_CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path(playwright_path: str) -> Path:
    """Playwright's own Chromium if installed, else the distribution's; else fail (one line)."""
    for candidate in (Path(playwright_path), SYSTEM_CHROMIUM):
        if candidate.is_file():
            return candidate
    pytest.fail(
        "no Chromium for the report's browser test: run `make test` (as root it installs the "
        "chromium package), install chromium with your package manager, or run "
        ".venv/bin/playwright install chromium",
        pytrace=False,
    )


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as p:
        path = chromium_path(p.chromium.executable_path)
        b = p.chromium.launch(executable_path=str(path), args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


class Opened:
    """A report page opened in the browser, with what it logged and requested."""

    def __init__(self, browser: Browser, path: Path) -> None:
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.page: Page = self.context.new_page()
        self.errors: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.url = path.resolve().as_uri()
        self.page.goto(self.url)
        self.page.wait_for_load_state("load")

    def close(self) -> None:
        self.context.close()

    def visible_rows(self) -> list[dict[str, Any]]:
        return self.page.eval_on_selector_all(
            "#problems tr[data-search]",
            "rows => rows.filter(r => r.checkVisibility()).map(r => ({"
            "search: r.dataset.search, action: r.dataset.action,"
            "stream: r.querySelector('td.source code').textContent}))",
        )

    def screenshot(self, tmp_path: Path, name: str) -> Path:
        shot = tmp_path / name
        self.page.screenshot(path=str(shot), full_page=True)
        ARTIFACTS.mkdir(exist_ok=True)
        shutil.copyfile(shot, ARTIFACTS / name)
        return shot


def overlapping(boxes: list[dict[str, float]]) -> list[tuple[int, int]]:
    """Pairs of neighbouring text boxes (left to right) that overlap horizontally."""
    ordered = sorted(enumerate(boxes), key=lambda item: item[1]["x"])
    return [
        (i, j)
        for (i, a), (j, b) in itertools.pairwise(ordered)
        if a["x"] + a["width"] > b["x"] and abs(a["y"] - b["y"]) < a["height"]
    ]


def text_boxes(page: Page, selector: str) -> list[dict[str, float]]:
    return page.eval_on_selector_all(
        selector,
        "els => els.map(e => { const r = e.getBoundingClientRect();"
        " return {x: r.x, y: r.y, width: r.width, height: r.height}; })",
    )


@pytest.fixture(scope="module")
def real_report(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A report of two real runs (the second a full re-read: the same rejections again), and
    a vendor id whose bill was rejected because of that vendor."""
    tmp = tmp_path_factory.mktemp("real-report")
    company = generate_company(seed=11, customers=24, vendors=18, bills=44, payments=12)
    with IntacctSandbox(company) as intacct, MailchimpSandbox(batch_start_delay=0.0) as mc:
        tap_cfg = intacct.tap_config(timezone=PACIFIC, page_size=25)
        cfg = kit.target_config(mc, tmp)
        singer = tap_singer_text(tap_cfg, [])
        kit.run_target(cfg, singer)
        kit.run_target(cfg, singer)
    with kit.ledger_of(cfg) as ledger:
        runs = ledger.lock.runs()
        assert len(runs) == 2
        rows = ledger.audit.rows(runs[0].run_id, actions=["rejected"])
    vendor_ids = [
        ids[0]
        for r in rows
        if r.stream == "ap_bills"
        and "vendor" in (r.detail or "")
        and (ids := r.referenced_ids().get("VENDORID"))
    ]
    assert vendor_ids, "no bill was rejected because of its vendor: the company has none"
    out = tmp / "report.html"
    assert main(["--ledger-url", cfg["ledger_url"], "--output", str(out)]) == 0
    return out, vendor_ids[0]


def test_the_report_works_in_a_real_browser(
    browser: Browser, real_report: tuple[Path, str], tmp_path: Path
) -> None:
    path, vendor_id = real_report
    opened = Opened(browser, path)
    try:
        page = opened.page
        # The script ran: the filters are shown and count the records.
        assert page.is_visible("#filters")
        total = page.eval_on_selector_all("#problems tr[data-search]", "rows => rows.length")
        assert total > 3
        assert page.text_content("#shown") == f"{total} of {total} records shown"
        # Groups: a count per reason, closed until opened, their records then shown.
        groups = page.query_selector_all("#problems details.group")
        assert len(groups) >= 2
        counted = 0
        for group in groups:
            count = int(group.eval_on_selector(".count", "e => e.textContent"))
            rows = group.eval_on_selector_all("tbody tr", "rows => rows.length")
            assert count == rows
            counted += count
            assert group.get_attribute("open") is None
        assert counted == total
        assert opened.visible_rows() == []
        first = groups[0]
        first.eval_on_selector("summary", "s => s.click()")
        assert first.get_attribute("open") is not None
        shown = opened.visible_rows()
        assert len(shown) == int(first.eval_on_selector(".count", "e => e.textContent"))
        # A record refused in both runs is listed once, with its two runs.
        assert page.eval_on_selector_all("#problems tr[data-runs='2']", "r => r.length") > 0
        opened.screenshot(tmp_path, "report-groups.png")

        # Search by a vendor id finds the bill rejected because of that vendor.
        page.fill("#q", vendor_id)
        found = opened.visible_rows()
        assert found
        assert all(vendor_id.lower() in r["search"].split() for r in found)
        assert "ap_bills" in {r["stream"] for r in found}
        assert len(found) < total
        assert page.text_content("#shown") == f"{len(found)} of {total} records shown"
        assert page.is_hidden("#no-match")
        opened.screenshot(tmp_path, "report-search.png")
        # Nothing matches: said so.
        page.fill("#q", "no-such-id-anywhere")
        assert opened.visible_rows() == []
        assert page.is_visible("#no-match")
        # The action filter hides the rejected records; clearing the search closes groups.
        page.fill("#q", "")
        page.uncheck("#filters input[value='rejected']")
        page.eval_on_selector_all("#problems details.group", "gs => gs.forEach(g => g.open = true)")
        assert all(r["action"] != "rejected" for r in opened.visible_rows())
        page.check("#filters input[value='rejected']")

        # Chart labels do not overlap.
        assert overlapping(text_boxes(page, "svg.chart text.total")) == []
        assert overlapping(text_boxes(page, "svg.chart text.run-label")) == []
        page.fill("#q", "")
        page.eval_on_selector_all(
            "#problems details.group", "gs => gs.forEach(g => g.open = false)"
        )
        shot = opened.screenshot(tmp_path, "report.png")
        assert shot.stat().st_size > 10_000
        assert opened.errors == []
        assert opened.requests == [opened.url]
    finally:
        opened.close()


def test_chart_labels_stay_readable_in_the_browser(browser: Browser, tmp_path: Path) -> None:
    """Forty runs on one day, some in the same minute, with 5-digit counts."""
    clock = Clock()
    url = f"sqlite:///{tmp_path / 'big.sqlite'}"
    with Ledger(url, clock=clock, heartbeat_interval=None) as ledger:
        for i in range(40):
            run_id = ledger.lock.start_run()
            counts = {"member": {"unchanged": 40_000 + 997 * i}, "order": {"created": 9_999}}
            ledger.lock.finish_run(run_id, counts=counts)
            clock.now += timedelta(seconds=25)
    out = tmp_path / "big.html"
    assert main(["--ledger-url", url, "--runs", "40", "--output", str(out)]) == 0
    opened = Opened(browser, out)
    try:
        page = opened.page
        totals = text_boxes(page, "svg.chart text.total")
        assert len(totals) == 40
        assert overlapping(totals) == []
        labels = text_boxes(page, "svg.chart text.run-label")
        assert len(labels) >= 10
        assert overlapping(labels) == []
        ticks = text_boxes(page, "svg.chart .y-axis text.tick")
        svg = text_boxes(page, "svg.chart")[0]
        assert all(t["x"] >= svg["x"] for t in ticks)  # the widest tick fits
        # Text is drawn at its size (the wide chart scrolls instead of shrinking).
        size = page.eval_on_selector(
            "svg.chart text.total", "e => e.getBoundingClientRect().height"
        )
        assert size >= 12
        opened.screenshot(tmp_path, "report-chart-40-runs.png")
        assert opened.errors == []
        assert opened.requests == [opened.url]
    finally:
        opened.close()
