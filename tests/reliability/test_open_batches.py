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


def test_open_mark_and_plan_are_one_transaction(tmp_path: Path) -> None:
    # A target killed between two commits left a batch open with no plan: the next run then
    # recovered none of its operations and sent them all again. Mark and plan commit together.
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    with Ledger(url, heartbeat_interval=None) as ledger:
        run = ledger.lock.start_run()
        writes = ledger.writes
        plan = {"bill-1": ("h1", "created"), "bill-2": ("h2", "updated")}
        writes.record_open_batch("b1", kind="order", plan=plan)
        assert writes.open_batches() == {"b1": run}
        assert {
            (p.kind, p.object_id, p.payload_hash, p.action) for p in writes.batch_plan("b1")
        } == {
            ("order", "bill-1", "h1", "created"),
            ("order", "bill-2", "h2", "updated"),
        }
        # a plan that cannot be written takes the open mark with it (nothing half-recorded)
        broken = {"bill-3": ("h3", "created"), "bill-4": None}
        with pytest.raises(TypeError):
            writes.record_open_batch("b2", kind="order", plan=broken)  # type: ignore[arg-type]
        assert writes.open_batches() == {"b1": run}
        assert writes.batch_plan("b2") == []
        writes.close_batch("b1")
        assert writes.open_batches() == {} and writes.batch_plan("b1") == []
        ledger.lock.finish_run(run)


def test_a_plan_of_many_operations_and_an_object_planned_again(tmp_path: Path) -> None:
    # A backfill plans thousands of operations per batch (more than one lookup chunk). An
    # object still planned in a batch a dead run left takes the newer batch's hash, action
    # and batch id when it is planned again (one plan row per object and kind).
    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    with Ledger(url, heartbeat_interval=None) as ledger:
        run = ledger.lock.start_run()
        writes = ledger.writes
        first = {f"bill-{i}": (f"h{i}", "created") for i in range(1200)}
        writes.record_open_batch("old", kind="order", plan=first)
        again = {"bill-7": ("h7-new", "updated"), "bill-new": ("hn", "created")}
        writes.record_open_batch("new", kind="order", plan=again)
        old = {p.object_id: (p.payload_hash, p.action) for p in writes.batch_plan("old")}
        assert len(old) == 1199 and "bill-7" not in old and old["bill-1199"] == ("h1199", "created")
        assert {(p.object_id, p.payload_hash, p.action) for p in writes.batch_plan("new")} == {
            ("bill-7", "h7-new", "updated"),
            ("bill-new", "hn", "created"),
        }
        # the plan rows are the plan's only: the objects written so far are untouched
        assert writes.object_state("order", "bill-7") is None
        writes.close_batch("old")
        writes.close_batch("new")
        assert writes.batch_plan("new") == []
        ledger.lock.finish_run(run)
