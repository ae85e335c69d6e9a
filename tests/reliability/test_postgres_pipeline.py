"""The whole pipeline on a shared PostgreSQL ledger (the embedded server the tests start).

The first sync runs tap and target in this process; the second pipes the same Singer input
into a real target-mailchimp process. Both use `ledger_url` pointing at PostgreSQL: the
second run makes zero Mailchimp writes, and the audit trail of both runs is in the database.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from tests.e2e.expected import TAP_STREAMS
from tests.reliability.test_faults_kit import assert_matches_oracle, run_pipeline
from tests.sandbox.intacct import IntacctSandbox, generate_company
from tests.sandbox.mailchimp import MailchimpSandbox
from tests.sandbox.postgres import PostgresServer

TARGET = Path(sys.executable).with_name("target-mailchimp")


def test_two_runs_share_a_postgres_ledger(
    pg_ledger_url: str, postgres_server: PostgresServer, tmp_path: Path
) -> None:
    company = generate_company(seed=51, customers=20, vendors=16, bills=40, payments=10)
    with IntacctSandbox(company) as intacct, MailchimpSandbox(batch_start_delay=0.0) as mc:
        first = run_pipeline(intacct, mc, tmp_path, target_config={"ledger_url": pg_ledger_url})
        assert first.target.error is None
        assert_matches_oracle(mc, company)
        writes_first = mc.count(writes_only=True)
        assert writes_first > 0

        mc.reset_counters()
        config = mc.target_config(
            status_if_new="subscribed", ledger_url=pg_ledger_url, max_retries=2
        )
        (tmp_path / "target.json").write_text(json.dumps(config))
        second = subprocess.run(
            [str(TARGET), "--config", str(tmp_path / "target.json")],
            input=first.singer,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert second.returncode == 0, second.stderr[-5000:]
        assert mc.count(writes_only=True) == 0
        assert "Run summary" in second.stderr
        password = make_url(pg_ledger_url).password
        assert password and len(password) >= 8
        assert password not in second.stderr and password not in second.stdout
        assert_matches_oracle(mc, company)
        # the target passed the tap's last state through
        last_state = json.loads(second.stdout.strip().splitlines()[-1])
        assert set(last_state["bookmarks"]) == TAP_STREAMS

    engine = create_engine(pg_ledger_url)
    try:
        assert engine.dialect.name == "postgresql"
        tables = set(inspect(engine).get_table_names())
        with engine.connect() as conn:
            runs = conn.execute(text("SELECT run_id, status FROM runs ORDER BY started_at")).all()
            assert [status for _, status in runs] == ["succeeded", "succeeded"]
            first_id, second_id = (run_id for run_id, _ in runs)
            assert first_id == first.target.run_id
            counts = dict(
                conn.execute(text("SELECT run_id, count(*) FROM audit GROUP BY run_id")).all()
            )
            actions = {
                row[0]
                for row in conn.execute(
                    text("SELECT DISTINCT action FROM audit WHERE run_id = :r"), {"r": second_id}
                )
            }
    finally:
        engine.dispose()
    assert {"runs", "audit"} <= tables
    assert counts[first_id] >= writes_first // 2
    assert counts.get(second_id, 0) > 0  # the second run audits what it rejected again
    assert "created" not in actions and "updated" not in actions


def test_the_embedded_postgres_listens_on_loopback_only(postgres_server: PostgresServer) -> None:
    assert postgres_server.host == "127.0.0.1"
    assert postgres_server.admin("SHOW listen_addresses") == [("127.0.0.1",)]
    assert postgres_server.admin("SHOW unix_socket_directories") in ([("",)], [(None,)])
