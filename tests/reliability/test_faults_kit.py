"""Helpers of the reliability tests: the whole sync in one process, and checks against the oracle.

`run_pipeline(intacct, mc, tmp_path)` runs tap-intacct against the Intacct sandbox, pipes its
Singer output into target-mailchimp against the Mailchimp sandbox (both in this process, with
no real retry waits), and returns what both wrote: the Singer text, the target's run report,
and every log line (the tap logs each retry, the target's summary counts its retries).
`assert_matches_oracle(mc, company)` compares what Mailchimp holds with tests/e2e/expected.py.
The tests in this file check the helpers.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from tap_intacct.gateway.session import SessionCache
from tap_intacct.tap import TapIntacct
from target_mailchimp.api import RetryPolicy
from target_mailchimp.target import TargetMailchimp
from tests.e2e.expected import expected_state
from tests.e2e.test_meltano_run import _assert_mailchimp_matches
from tests.sandbox.intacct import Company, IntacctSandbox, generate_company
from tests.sandbox.mailchimp import MailchimpSandbox
from tests.tap_intacct.tap_support import SingerStdout
from tests.target_mailchimp.test_target_kit import RunResult, run_target

PACIFIC = "America/Los_Angeles"


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextlib.contextmanager
def collect_logs() -> Iterator[_Collect]:
    """Every log record of both plugins (and the SDK) while the block runs."""
    handler = _Collect()
    names = ("", "tap_intacct", "target_mailchimp", "tap-intacct", "target-mailchimp")
    loggers = [logging.getLogger(n) for n in names]
    old = [(lg, lg.level) for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        for lg, level in old:
            lg.removeHandler(handler)
            lg.setLevel(level)


@dataclass
class PipelineRun:
    """What one in-process `tap | target` run produced."""

    singer: str
    target: RunResult
    logs: list[logging.LogRecord] = field(default_factory=list)
    tap_sleeps: list[float] = field(default_factory=list)
    target_sleeps: list[float] = field(default_factory=list)

    def messages(self, logger_prefix: str = "") -> list[str]:
        """Formatted log lines, deduplicated (a record reaches several of our handlers)."""
        seen: set[int] = set()
        out: list[str] = []
        for rec in self.logs:
            if id(rec) in seen or not rec.name.startswith(logger_prefix):
                continue
            seen.add(id(rec))
            out.append(rec.getMessage())
        return out

    @property
    def text(self) -> str:
        return "\n".join(self.messages())


def tap_singer_text(
    config: dict[str, Any], sleeps: list[float], state: dict[str, Any] | None = None
) -> str:
    """Run the tap in-process; its stdout (Singer messages) as text. Retry waits are recorded,
    not slept."""

    class QuickTap(TapIntacct):
        gateway_options: ClassVar[dict[str, Any]] = {
            "sleep": sleeps.append,
            "session_cache": SessionCache(),
        }

    tap = QuickTap(config=dict(config), state=state)
    out = SingerStdout()
    with contextlib.redirect_stdout(out):
        tap.sync_all()
    return out.getvalue()


def run_pipeline(
    intacct: IntacctSandbox,
    mc: MailchimpSandbox,
    tmp_path: Path,
    *,
    tap_config: dict[str, Any] | None = None,
    target_config: dict[str, Any] | None = None,
    max_retries: int = 5,
    raise_errors: bool = True,
) -> PipelineRun:
    """`tap-intacct | target-mailchimp` in this process (see the module docstring)."""
    tap_cfg = intacct.tap_config(timezone=PACIFIC, page_size=25, max_retries=max_retries)
    tap_cfg.update(tap_config or {})
    tgt_cfg = mc.target_config(
        status_if_new="subscribed",
        ledger_url=f"sqlite:///{tmp_path / 'ledger.sqlite'}",
        max_retries=max_retries,
        request_timeout=5,
        batch_poll_interval=0.01,
        batch_timeout=30,
    )
    tgt_cfg.update(target_config or {})
    tap_sleeps: list[float] = []
    target_sleeps: list[float] = []
    retry = RetryPolicy(max_retries=max_retries, sleep=target_sleeps.append)
    old_options = TargetMailchimp.client_options
    TargetMailchimp.client_options = {"retry": retry}
    try:
        with collect_logs() as logs:
            singer = tap_singer_text(tap_cfg, tap_sleeps)
            result = run_target(tgt_cfg, singer, raise_errors=raise_errors)
    finally:
        TargetMailchimp.client_options = old_options
    return PipelineRun(singer, result, logs.records, tap_sleeps, target_sleeps)


def assert_matches_oracle(mc: MailchimpSandbox, company: Company) -> None:
    """What Mailchimp holds equals the independent oracle exactly (tests/e2e/expected.py)."""
    exp = expected_state(company)
    assert exp.members and exp.orders, "the oracle expects nothing: a vacuous check"
    _assert_mailchimp_matches(mc, exp)


# ----------------------------------------------------------------------------- self-tests


def test_calm_pipeline_matches_the_oracle_without_retries(tmp_path: Path) -> None:
    company = generate_company(seed=5, customers=8, vendors=6, bills=12, payments=6)
    with IntacctSandbox(company) as intacct, MailchimpSandbox(batch_start_delay=0.0) as mc:
        run = run_pipeline(intacct, mc, tmp_path)
        intacct.assert_all_valid()
        assert_matches_oracle(mc, company)
    assert run.target.report.stats is not None
    assert run.target.report.stats.retries == 0
    assert run.tap_sleeps == [] and run.target_sleeps == []
    assert any("Run summary" in m and "0 retries" in m for m in run.messages())
