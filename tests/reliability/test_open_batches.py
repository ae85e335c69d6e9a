"""The ledger's open batches: recorded at submission, closed once finished, listed by run."""

from __future__ import annotations

from pathlib import Path

import pytest

from target_mailchimp.ledger import Ledger


def test_open_batches_round_trip(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    with Ledger(url, heartbeat_interval=None) as ledger:
        run = ledger.lock.start_run()
        ledger.writes.record_open_batch("abc123")
        ledger.writes.record_open_batch("def_%456", run_id="other-run")
        assert ledger.writes.open_batches() == {"abc123": run, "def_%456": "other-run"}
        ledger.writes.close_batch("abc123")
        assert ledger.writes.open_batches() == {"def_%456": "other-run"}
        ledger.lock.finish_run(run)
    # a new Ledger on the same file (the next run) still sees what was left open
    with Ledger(url, heartbeat_interval=None) as again:
        assert again.writes.open_batches() == {"def_%456": "other-run"}
        again.writes.close_batch("def_%456")
        assert again.writes.open_batches() == {}
        with pytest.raises(ValueError, match="longer than"):
            again.writes.record_open_batch("x" * 60)
