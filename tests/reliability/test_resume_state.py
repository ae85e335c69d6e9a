"""Resume where it was: periodic state, and /batches jobs a dead run left behind.

- The target emits the state of what it has written after each drained batch and at least
  every `state_interval_seconds`, never ahead of what Mailchimp holds.
- A batch submitted by a run that died before reading its results is recovered by the next
  run: what succeeded is recorded from its results and not sent again.
- A batch Mailchimp no longer knows (404), found at the start of a run or while the run
  polls it, is planned again from the ledger with a warning that says so.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from target_mailchimp.api import MailchimpClient, NotFound
from target_mailchimp.mapping.orders import order_id
from tests.sandbox.mailchimp import MailchimpSandbox
from tests.target_mailchimp import test_target_kit as kit

pytestmark = pytest.mark.usefixtures("no_retry_waits")

BILLS = 12


def _input(states: bool = True) -> kit.Singer:
    s = kit.Singer()
    s.record("vendors", kit.vendor(1, "V1", "v1@example.com"))
    if states:
        s.state({"bookmarks": {"vendors": {"replication_key_value": "v"}}})
    for n in range(1, BILLS + 1):
        s.record("ap_bills", kit.bill(100 + n, "V1"))
        if states:
            s.state({"bookmarks": {"ap_bills": {"replication_key_value": f"b{n:02d}"}}})
    return s


@pytest.fixture
def batch_config(sandbox: MailchimpSandbox, tmp_path: Path) -> dict[str, Any]:
    """The sandbox's config with every write through a batch operation."""
    return kit.target_config(sandbox, tmp_path, batch_operations="always")


def test_state_follows_each_drained_batch_and_never_gets_ahead(
    sandbox: MailchimpSandbox, tmp_path: Path
) -> None:
    config = kit.target_config(sandbox, tmp_path, batch_size_rows=3, batch_operations="never")
    seen: list[tuple[str, int]] = []

    def on_state(state: dict[str, Any]) -> None:
        mark = state["bookmarks"].get("ap_bills", {}).get("replication_key_value")
        orders = set(sandbox.snapshot()["stores"].get("intacct", {}).get("orders", {}))
        if mark is not None:
            # every bill before this state is in Mailchimp when it is emitted
            written = int(mark[1:])
            assert {order_id(100 + n) for n in range(1, written + 1)} <= orders
            seen.append((mark, len(orders)))

    result = kit.run_target(config, _input(), on_state=on_state)
    assert result.error is None
    # 12 bills in drains of 3: a state after each drained batch, not only at the end
    assert len(seen) >= BILLS // 3
    assert seen[-1][0] == f"b{BILLS:02d}"
    assert len(result.states) == len({str(s) for s in result.states})  # no repeats


def test_state_is_emitted_every_interval_even_with_room_in_the_buffers(
    sandbox: MailchimpSandbox, tmp_path: Path
) -> None:
    config = kit.target_config(sandbox, tmp_path, state_interval_seconds=0.000001)
    result = kit.run_target(config, _input())
    assert result.error is None
    marks = [s["bookmarks"].get("ap_bills", {}).get("replication_key_value") for s in result.states]
    assert len([m for m in marks if m]) >= BILLS - 1  # (nearly) every state passed on at once
    # and with the default interval, a short run emits its state once, at the end
    again = kit.run_target(kit.target_config(sandbox, tmp_path / "b"), _input())
    assert len(again.states) == 1


def _kill_after_submit(
    monkeypatch: pytest.MonkeyPatch, pause_after_first: MailchimpSandbox | None = None
) -> None:
    """The run "dies" right after the POST /batches of its orders (before it reads any
    result); the batch of e-commerce customers before it is waited for as usual."""
    original = MailchimpClient.wait_for_batches
    waits: list[list[str]] = []

    def die(self: MailchimpClient, batch_ids: Iterable[str], **kw: Any) -> Iterator[Any]:
        ids = list(batch_ids)
        waits.append(ids)
        if len(waits) == 1:
            try:
                yield from original(self, ids, **kw)
            finally:
                if pause_after_first is not None:  # Mailchimp keeps the next one pending
                    pause_after_first.pause_batches()
            return
        raise KeyboardInterrupt(f"killed while waiting for batches {ids}")

    monkeypatch.setattr(MailchimpClient, "wait_for_batches", die)


def test_a_batch_left_by_a_killed_run_is_recovered_from_its_results(
    sandbox: MailchimpSandbox, batch_config: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as m:
        _kill_after_submit(m)
        with pytest.raises(KeyboardInterrupt):
            kit.run_target(batch_config, _input(states=False))
    assert sandbox.wait_for_batches(timeout=10)  # Mailchimp ran it anyway
    assert len(kit.ledger_of(batch_config).writes.open_batches()) >= 1
    orders_before = set(sandbox.snapshot()["stores"]["intacct"]["orders"])
    assert orders_before == {order_id(100 + n) for n in range(1, BILLS + 1)}
    sandbox.reset_counters()
    resumed = kit.run_target(batch_config, _input(states=False))
    assert resumed.error is None and resumed.report.status == "succeeded"
    # nothing the batch wrote is sent again: no order POST, PATCH or new batch of orders
    assert sandbox.count("POST", "/ecommerce/stores/intacct/orders") == 0
    assert sandbox.count("PATCH", "/ecommerce/stores/intacct/orders") == 0
    assert sandbox.count("POST", "/batches") <= 1  # at most the customers' batch
    ledger = kit.ledger_of(batch_config)
    assert ledger.writes.open_batches() == {}
    rows = ledger.audit.rows(resumed.run_id)
    recovered = {r.object_id for r in rows if r.stream == "mailchimp_batch"}
    assert {order_id(100 + n) for n in range(1, BILLS + 1)} <= recovered
    assert all(r.action == "unchanged" for r in rows if r.stream == "ap_bills")


def test_a_batch_mailchimp_lost_is_planned_again_with_a_warning(
    sandbox: MailchimpSandbox,
    batch_config: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    with monkeypatch.context() as m:
        _kill_after_submit(m, pause_after_first=sandbox)
        with pytest.raises(KeyboardInterrupt):
            kit.run_target(batch_config, _input(states=False))
    lost = sorted(kit.ledger_of(batch_config).writes.open_batches())
    assert lost
    for batch_id in lost:  # Mailchimp forgets them (a restart)
        sandbox.call("DELETE", f"/batches/{batch_id}")
    sandbox.resume_batches()
    caplog.set_level(logging.WARNING)
    resumed = kit.run_target(batch_config, _input(states=False))
    assert resumed.error is None and resumed.report.status == "succeeded"
    assert "no longer known to Mailchimp" in caplog.text
    assert "planned again from the ledger" in caplog.text
    assert set(sandbox.snapshot()["stores"]["intacct"]["orders"]) == {
        order_id(100 + n) for n in range(1, BILLS + 1)
    }


def test_a_batch_lost_while_the_run_polls_it_is_written_one_by_one(
    sandbox: MailchimpSandbox,
    batch_config: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    sandbox.pause_batches()

    original = MailchimpClient.wait_for_batches
    waits: list[list[str]] = []

    def gone(self: MailchimpClient, batch_ids: Iterable[str], **kw: Any) -> Iterator[Any]:
        ids = list(batch_ids)
        waits.append(ids)
        if len(waits) == 1:  # the customers' batch runs
            sandbox.resume_batches()
            try:
                yield from original(self, ids, **kw)
            finally:
                sandbox.pause_batches()
            return
        for batch_id in ids:  # Mailchimp loses the orders' batch while the run polls it
            sandbox.call("DELETE", f"/batches/{batch_id}")
        raise NotFound("Resource Not Found", status=404, method="GET", path="/batches")

    monkeypatch.setattr(MailchimpClient, "wait_for_batches", gone)
    caplog.set_level(logging.WARNING)
    result = kit.run_target(batch_config, _input(states=False))
    sandbox.resume_batches()
    assert result.error is None and result.report.status == "succeeded"
    assert "no longer known to Mailchimp" in caplog.text
    assert set(sandbox.snapshot()["stores"]["intacct"]["orders"]) == {
        order_id(100 + n) for n in range(1, BILLS + 1)
    }
    assert kit.ledger_of(batch_config).writes.open_batches() == {}
