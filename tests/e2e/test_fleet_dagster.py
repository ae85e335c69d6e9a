"""The Dagster code location (orchestration/) runs the demo fleet and Mailchimp ends exact.

`fleet_all` executes in one process of the orchestration venv with the multiprocess
executor: each company's op runs its `meltano --environment sandbox run` in its own
process, the three at once on one PostgreSQL ledger and two Mailchimp accounts (ACME and
BETA share one). Each audience and store must then hold exactly its company's records, the
run must be in Dagster's PostgreSQL storage, and each op must carry its run summary and a
report of its company's ledger rows.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.e2e.expected import expected_state
from tests.reliability.test_fleet_pipeline import assert_company_state
from tests.sandbox.fleet import DAGSTER_BIN, NAMES, run_job, running_fleet


@pytest.mark.timeout(1200)
def test_the_fleet_job_syncs_every_company(meltano_installed: Path, tmp_path: Path) -> None:
    assert (DAGSTER_BIN / "python").exists(), "orchestration/.venv is missing: run `make test`"
    with running_fleet(tmp_path / "fleet") as fleet:
        proc = run_job(fleet, "fleet_all")
        assert proc.wait(timeout=900) == 0
        for name in NAMES:
            mc = fleet.mailchimp[name]
            assert mc.stats.rejected_concurrency == 0
            assert_company_state(mc, fleet.lists[name], name, expected_state(fleet.companies[name]))
        engine = create_engine(fleet.dagster_pg_url.replace("+psycopg2:", "+psycopg:"))
        try:
            with engine.connect() as conn:
                statuses = [r[0] for r in conn.execute(text("SELECT status FROM runs"))]
                events = "\n".join(r[0] for r in conn.execute(text("SELECT event FROM event_logs")))
        finally:
            engine.dispose()
    assert statuses == ["SUCCESS"]
    for name in NAMES:
        assert f"sync_{name}" in events
        reports = list((tmp_path / "fleet" / "reports" / name).glob("*.html"))
        assert len(reports) == 1, name
        assert "<html" in reports[0].read_text(encoding="utf-8").lower()
    assert "run_summary" in events and "report_url" in events
