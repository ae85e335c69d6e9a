"""Crash-and-resume harness: SIGKILL the tap, the target or a whole `meltano run` mid-sync.

The two sandboxes run in the test process (they outlive every killed run, and the test reads
their request counters and data directly). The tap and the target run as real subprocesses:

- piped (`run_piped`): `tap-intacct --config tap.json [--state state.json]`, its stdout into
  the target's stdin, the target's stdout into a file, as Meltano wires them; the target's
  last STATE line becomes the next run's `--state`. The target runs as
  `tests.reliability.crash_target` (the real target with a full drain, hence a STATE, every
  `drain_every` records instead of every 5 minutes) unless `frequent_state=False`.
- `meltano run tap-intacct target-mailchimp` (`run_meltano`) in its own process group; a kill
  SIGKILLs the whole group (Meltano, tap and target). Meltano keeps the state in its own
  SQLite database (`meltano state get`).

A `KillPlan` names the victim and when it dies: when a sandbox's request counter passes a
seeded N (deterministic for a given company and settings), or while a Mailchimp write is
held unanswered (`during_write`: the sandbox runs the write, then holds its answer until
after the kill, like a connection lost after Mailchimp acted).

`check_synced` then compares what the Mailchimp sandbox holds with the oracle
(tests/e2e/expected.py) exactly, and the ledger with both: every object in Mailchimp has a
created/updated audit row and a successful write in `objects`, every Intacct record has an
audit row, no run is left running, no lock is left, and SQLite's integrity_check is ok.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.e2e.expected import expected_state
from tests.sandbox.intacct import IntacctSandbox, generate_company
from tests.sandbox.intacct.data import Company
from tests.sandbox.launch import plugin_env
from tests.sandbox.mailchimp import MailchimpSandbox, subscriber_hash

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
MELTANO_STATE_ID = "sandbox:tap-intacct-to-target-mailchimp"

#: Intacct object -> (stream, field naming the record in the audit trail)
STREAMS = {
    "CUSTOMER": "customers",
    "VENDOR": "vendors",
    "APBILL": "ap_bills",
    "APPYMT": "ap_payments",
}
ORDERS_PATH = "/ecommerce/stores/intacct/orders"


@dataclass(frozen=True)
class KillPlan:
    """Who dies and when.

    victim: "tap", "target" or "meltano" (the whole process group).
    counter: "intacct" or "mailchimp": whose request counter triggers the kill;
      "mailchimp-batches": the count of answered POST /batches; "ledger-open-batches":
      batches the target has recorded in its ledger as submitted and not yet finished;
      "mailchimp-batches-open": the count of answered POST /batches while one is open (so a
      kill at N lands right after the N-th submit, before the target read its results).
    after: kill once that counter reaches this many requests.
    during_write: instead, kill while the sandbox holds the answer of an order POST (or a
      POST /batches) that it has already carried out (counter/after unused).
    """

    victim: str
    counter: str = "mailchimp"
    after: int = 1
    during_write: bool = False

    def describe(self) -> str:
        if self.during_write:
            return f"kill {self.victim} during an unanswered order or batch POST"
        return f"kill {self.victim} at {self.counter} request {self.after}"


@dataclass
class RunOutcome:
    """What one (possibly killed) run did."""

    plan: KillPlan | None
    killed: bool
    returncodes: dict[str, int | None]
    state_emitted: bool
    seconds: float
    stderr: dict[str, str] = field(default_factory=dict)

    def tail(self, n: int = 3000) -> str:
        return "\n".join(f"--- {k} ---\n{v[-n:]}" for k, v in self.stderr.items())


@dataclass
class CrashEnv:
    """Both sandboxes, the plugin configs and the files of one trial."""

    workdir: Path
    company: Company
    intacct: IntacctSandbox
    mc: MailchimpSandbox
    tap_config: dict[str, Any]
    target_config: dict[str, Any]
    drain_every: int = 50
    runs: list[RunOutcome] = field(default_factory=list)

    @property
    def ledger_path(self) -> Path:
        return self.workdir / "ledger.sqlite"

    @property
    def state_path(self) -> Path:
        return self.workdir / "state.json"

    def counter(self, name: str) -> Callable[[], int]:
        if name == "intacct":
            return lambda: len(self.intacct.requests)
        if name == "mailchimp":
            return lambda: len(self.mc.requests)
        if name == "mailchimp-batches":  # answered POST /batches
            return lambda: self.mc.count("POST", "/batches", status=200)
        if name == "ledger-open-batches":  # batches the target recorded as waited for
            return self._open_batches
        if name == "mailchimp-batches-open":  # answered POST /batches, while one is open
            batches = self.counter("mailchimp-batches")
            return lambda: batches() if self._open_batches() else 0
        raise ValueError(f"unknown counter {name!r}")

    def _open_batches(self) -> int:
        if not self.ledger_path.exists():
            return 0
        try:
            with contextlib.closing(
                sqlite3.connect(f"file:{self.ledger_path}?mode=ro", uri=True, timeout=1)
            ) as conn:
                row = conn.execute(
                    "SELECT count(*) FROM ledger_meta WHERE key LIKE 'open_batch:%'"
                ).fetchone()
        except sqlite3.Error:
            return 0
        return int(row[0])

    def meltano_env(self) -> dict[str, str]:
        """Environment of `meltano` for this trial: the sandboxes' settings, its own state
        database, and its own `.meltano` folder (the installed plugins linked in), so runs of
        parallel tests never share Meltano's run folder (its cached catalog)."""
        sys_dir = self.workdir / "meltano-sys"
        if not sys_dir.exists():
            sys_dir.mkdir()
            for kind in ("extractors", "loaders"):
                (sys_dir / kind).symlink_to(REPO_ROOT / ".meltano" / kind)
        env = dict(os.environ)
        env.update(plugin_env("TAP_INTACCT", self.tap_config))
        # meltano.yml declares the seconds settings as integers (Meltano 4.4's `decimal` kind
        # cannot be written to the plugin's config): whole seconds only
        target = {
            k: (max(1, round(v)) if isinstance(v, float) else v)
            for k, v in self.target_config.items()
        }
        env.update(plugin_env("TARGET_MAILCHIMP", target))
        env.update(
            {
                "MELTANO_DATABASE_URI": f"sqlite:///{self.workdir / 'meltano.db'}",
                "MELTANO_SYS_DIR_ROOT": str(sys_dir),
                "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
                "NO_COLOR": "1",
            }
        )
        return env


@contextlib.contextmanager
def crash_env(
    workdir: Path,
    *,
    seed: int,
    sizes: dict[str, int],
    page_size: int = 20,
    batch_size_rows: int = 25,
    batch_operations: str = "never",
    batch_threshold: int = 10,
    drain_every: int = 50,
) -> Iterator[CrashEnv]:
    """Fresh sandboxes (a seeded company, an empty Mailchimp account) and plugin configs."""
    workdir.mkdir(parents=True, exist_ok=True)
    company = generate_company(seed=seed, **sizes)
    with (
        IntacctSandbox(company, keep_responses=False) as intacct,
        MailchimpSandbox(seed=seed, batch_start_delay=0.01) as mc,
    ):
        tap_config = intacct.tap_config(
            page_size=page_size, timezone="America/Los_Angeles", max_retries=2
        )
        target_config = mc.target_config(
            status_if_new="subscribed",
            ledger_url=f"sqlite:///{workdir / 'ledger.sqlite'}",
            batch_size_rows=batch_size_rows,
            batch_operations=batch_operations,
            batch_threshold=batch_threshold,
            batch_poll_interval=0.02,
            max_retries=2,
            request_timeout=60,
        )
        yield CrashEnv(
            workdir=workdir,
            company=company,
            intacct=intacct,
            mc=mc,
            tap_config=tap_config,
            target_config=target_config,
            drain_every=drain_every,
        )


# ---------------------------------------------------------------------------- killing


class _Killer:
    """Watches a counter (or a held write) from a thread and SIGKILLs the victim."""

    def __init__(self, env: CrashEnv, plan: KillPlan, kill: Callable[[], None]) -> None:
        self.env = env
        self.plan = plan
        self._kill = kill
        self.killed = threading.Event()
        self._stop = threading.Event()
        self._held = []
        if plan.during_write:
            # The sandbox carries the first order POST (or /batches POST, when the target
            # batches) out, then holds its answer; the client waits for it until killed.
            self._held = [
                env.mc.faults.add("timeout", times=1, path_prefix=p, method="POST", seconds=3.0)
                for p in (ORDERS_PATH, "/batches")
            ]
        self._thread = threading.Thread(target=self._watch, name="crash-killer", daemon=True)
        self._thread.start()

    def _ready(self) -> bool:
        if self.plan.during_write:
            return self.env.mc.faults.count("timeout") > 0
        return self.env.counter(self.plan.counter)() >= self.plan.after

    def _watch(self) -> None:
        while not self._stop.is_set():
            if self._ready():
                if self.plan.during_write:
                    time.sleep(0.3)  # the held write has been carried out by now
                self._kill()
                self.killed.set()
                return
            time.sleep(0.002)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        if self._held:
            self.env.mc.faults.clear()


def _kill_pid(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


def _last_state(path: Path) -> dict[str, Any] | None:
    state = None
    if not path.exists():
        return None
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line:
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(value, dict) and "bookmarks" in value:
            state = value
    return state


# ---------------------------------------------------------------------------- runs


class PipedRun:
    """A started `tap | target` pipeline (see `start_piped`); `finish()` waits for it."""

    def __init__(
        self, env: CrashEnv, *, frequent_state: bool = True, plan: KillPlan | None = None
    ) -> None:
        self.env = env
        self.plan = plan
        n = len(env.runs)
        self.name = f"run{n}-{os.urandom(3).hex()}"
        tap_cfg = env.workdir / "tap.json"
        target_cfg = env.workdir / "target.json"
        tap_cfg.write_text(json.dumps(env.tap_config), encoding="utf-8")
        target_cfg.write_text(json.dumps(env.target_config), encoding="utf-8")
        tap_cmd = [str(BIN / "tap-intacct"), "--config", str(tap_cfg)]
        if env.state_path.exists():
            tap_cmd += ["--state", str(env.state_path)]
        if frequent_state:
            target_cmd = [sys.executable, "-m", "tests.reliability.crash_target"]
        else:
            target_cmd = [str(BIN / "target-mailchimp")]
        target_cmd += ["--config", str(target_cfg)]
        self.out_path = env.workdir / f"{self.name}.target.out"
        self.errs = {k: env.workdir / f"{self.name}.{k}.err" for k in ("tap", "target")}
        child_env = {**os.environ, "CRASH_DRAIN_EVERY": str(env.drain_every)}
        self.started = time.monotonic()
        with (
            self.out_path.open("wb") as out,
            self.errs["tap"].open("wb") as tap_err,
            self.errs["target"].open("wb") as target_err,
        ):
            self.tap = subprocess.Popen(
                tap_cmd, cwd=env.workdir, stdout=subprocess.PIPE, stderr=tap_err, env=child_env
            )
            self.target = subprocess.Popen(
                target_cmd,
                cwd=REPO_ROOT,
                stdin=self.tap.stdout,
                stdout=out,
                stderr=target_err,
                env=child_env,
            )
        assert self.tap.stdout is not None
        self.tap.stdout.close()  # the target holds the read end; a dead target breaks the pipe
        self.killer = None
        if plan is not None:
            victim = self.tap if plan.victim == "tap" else self.target
            self.killer = _Killer(env, plan, lambda: _kill_pid(victim.pid))

    def kill(self) -> None:
        for proc in (self.tap, self.target):
            _kill_pid(proc.pid)

    def finish(self, *, timeout: float = 300.0, save_state: bool = True) -> RunOutcome:
        try:
            for proc in (self.tap, self.target):
                proc.wait(timeout=max(1.0, timeout - (time.monotonic() - self.started)))
        except subprocess.TimeoutExpired:
            self.kill()
            for proc in (self.tap, self.target):
                proc.wait()
            raise
        finally:
            if self.killer is not None:
                self.killer.stop()
        state = _last_state(self.out_path)
        if state is not None and save_state:
            self.env.state_path.write_text(json.dumps(state), encoding="utf-8")
        outcome = RunOutcome(
            plan=self.plan,
            killed=self.killer is not None and self.killer.killed.is_set(),
            returncodes={"tap": self.tap.returncode, "target": self.target.returncode},
            state_emitted=state is not None,
            seconds=time.monotonic() - self.started,
            stderr={
                k: p.read_text(encoding="utf-8", errors="replace") for k, p in self.errs.items()
            },
        )
        self.env.runs.append(outcome)
        return outcome


def start_piped(
    env: CrashEnv, plan: KillPlan | None = None, *, frequent_state: bool = True
) -> PipedRun:
    """Start tap | target in the background."""
    return PipedRun(env, frequent_state=frequent_state, plan=plan)


def run_piped(
    env: CrashEnv,
    plan: KillPlan | None = None,
    *,
    frequent_state: bool = True,
    timeout: float = 300.0,
) -> RunOutcome:
    """tap | target, as Meltano pipes them; the target's last STATE becomes the next state."""
    return PipedRun(env, frequent_state=frequent_state, plan=plan).finish(timeout=timeout)


def run_meltano(
    env: CrashEnv, plan: KillPlan | None = None, *, timeout: float = 300.0
) -> RunOutcome:
    """`meltano run tap-intacct target-mailchimp` in its own process group.

    After a killed run, Meltano still lists that run as running and refuses the next one for
    its stale timeout (5 minutes) unless given `--force`, as an operator would after a crash.
    (Two targets still never write at once: the ledger's own lock sees the dead process.)
    """
    force = ["--force"] if any(r.killed for r in env.runs) else []
    n = len(env.runs)
    err_path = env.workdir / f"run{n}.meltano.err"
    started = time.monotonic()
    with err_path.open("wb") as err:
        proc = subprocess.Popen(
            [
                str(BIN / "meltano"),
                "--environment",
                "sandbox",
                "run",
                *force,
                "tap-intacct",
                "target-mailchimp",
            ],
            cwd=REPO_ROOT,
            env=env.meltano_env(),
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
        )
        killer = None
        if plan is not None:
            killer = _Killer(env, plan, lambda: _kill_group(proc.pid))
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill_group(proc.pid)
            proc.wait()
            raise
        finally:
            if killer is not None:
                killer.stop()
            # nothing of the run may outlive it (a killed Meltano's children die with it)
            _kill_group(proc.pid)
    outcome = RunOutcome(
        plan=plan,
        killed=killer is not None and killer.killed.is_set(),
        returncodes={"meltano": proc.returncode},
        state_emitted=False,
        seconds=time.monotonic() - started,
        stderr={"meltano": err_path.read_text(encoding="utf-8", errors="replace")},
    )
    env.runs.append(outcome)
    return outcome


def meltano_state(env: CrashEnv) -> dict[str, Any] | None:
    """What `meltano state get` holds for the sandbox pipeline (None when nothing)."""
    got = subprocess.run(
        [str(BIN / "meltano"), "--environment", "sandbox", "state", "get", MELTANO_STATE_ID],
        cwd=REPO_ROOT,
        env=env.meltano_env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if got.returncode != 0 or not got.stdout.strip():
        return None
    value = json.loads(got.stdout)
    return value if isinstance(value, dict) and value else None


# ---------------------------------------------------------------------------- checks


def check_mailchimp(env: CrashEnv) -> None:
    """What the Mailchimp sandbox holds equals the oracle exactly."""
    exp = expected_state(env.company)
    snap = env.mc.snapshot()
    members = snap["lists"][env.mc.list_id]["members"]
    by_email = {m["email_address"].lower(): m for m in members.values()}
    assert len(by_email) == len(members), "two audience members share one address"
    assert set(by_email) == set(exp.members), (
        f"members differ from the oracle: missing {sorted(set(exp.members) - set(by_email))[:5]}"
        f", extra {sorted(set(by_email) - set(exp.members))[:5]}"
    )
    for email, tags in exp.members.items():
        member = by_email[email]
        got = {t["name"] if isinstance(t, dict) else str(t) for t in member.get("tags", [])}
        assert tags <= got, f"{email}: tags {got} lack {tags}"
        assert member["status"] == "subscribed", f"{email} is {member['status']}"

    store = snap["stores"]["intacct"]
    # a killed first backfill left the store syncing (no automations); the resume ends it
    assert store["is_syncing"] is False, "the store is still marked is_syncing"
    customers = store["customers"]
    assert set(customers) == set(exp.customers), (
        "e-commerce customers differ from the oracle: missing "
        f"{sorted(set(exp.customers) - set(customers))[:5]}, extra "
        f"{sorted(set(customers) - set(exp.customers))[:5]}"
    )
    for cid, email in exp.customers.items():
        assert customers[cid]["email_address"].lower() == email, cid
    assert set(store["products"]) == exp.products, "products differ from the oracle"

    orders = store["orders"]
    assert set(orders) == set(exp.orders), (
        f"orders differ from the oracle: missing {sorted(set(exp.orders) - set(orders))[:5]}, "
        f"extra {sorted(set(orders) - set(exp.orders))[:5]}"
    )
    for oid, facts in exp.orders.items():
        got = orders[oid]
        assert got["customer"]["id"] == facts["customer"], oid
        assert got["financial_status"] == facts["financial_status"], (
            f"{oid}: financial_status {got['financial_status']}, expected "
            f"{facts['financial_status']}"
        )
        # Mailchimp keeps money as a JSON number (a double): compare as doubles
        assert float(got["order_total"]) == float(facts["order_total"]), oid
        lines = got["lines"]
        assert len(lines) == facts["lines"], f"{oid}: {len(lines)} lines, expected {facts['lines']}"
        assert len({line["id"] for line in lines}) == len(lines), f"{oid}: duplicate line ids"
        assert got["currency_code"] == facts["currency_code"], oid


def _ledger(env: CrashEnv) -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{env.ledger_path}?mode=ro", uri=True, timeout=30)
    conn.row_factory = sqlite3.Row
    return conn


def check_ledger(env: CrashEnv) -> None:
    """The audit trail agrees with Mailchimp and with Intacct; the ledger is sound."""
    snap = env.mc.snapshot()
    store = snap["stores"]["intacct"]
    in_mailchimp: dict[str, set[str]] = {
        "member": {
            subscriber_hash(m["email_address"])
            for m in snap["lists"][env.mc.list_id]["members"].values()
        },
        "customer": set(store["customers"]),
        "product": set(store["products"]),
        "order": set(store["orders"]),
    }
    with contextlib.closing(_ledger(env)) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert conn.execute("SELECT count(*) FROM locks").fetchone()[0] == 0, "a lock is left"
        running = conn.execute("SELECT run_id FROM runs WHERE status = 'running'").fetchall()
        assert not running, f"runs left running: {[r[0] for r in running]}"
        for kind, ids in in_mailchimp.items():
            written = {
                r[0]
                for r in conn.execute(
                    "SELECT DISTINCT object_id FROM audit WHERE object_kind = ? "
                    "AND action IN ('created', 'updated')",
                    (kind,),
                )
            }
            missing = ids - written
            assert not missing, (
                f"{len(missing)} {kind}s in Mailchimp have no created/updated audit row, "
                f"e.g. {sorted(missing)[:3]}"
            )
            known = {
                r[0]
                for r in conn.execute(
                    "SELECT object_id FROM objects WHERE kind = ? "
                    "AND last_action IN ('created', 'updated', 'unchanged')",
                    (kind,),
                )
            }
            assert not ids - known, (
                f"{kind}s in Mailchimp that the ledger does not know as written: "
                f"{sorted(ids - known)[:3]}"
            )
        for obj, stream in STREAMS.items():
            audited = {
                r[0]
                for r in conn.execute(
                    "SELECT DISTINCT source_key FROM audit WHERE stream = ?", (stream,)
                )
            }
            records = {str(no) for no in env.company.recordnos(obj)}
            lost = records - audited
            assert not lost, (
                f"{len(lost)} Intacct {obj} records have no audit row in any run "
                f"(lost), e.g. {sorted(lost)[:5]}"
            )


def run_statuses(env: CrashEnv) -> list[str]:
    with contextlib.closing(_ledger(env)) as conn:
        return [r[0] for r in conn.execute("SELECT status FROM runs ORDER BY started_at, run_id")]


def check_synced(env: CrashEnv) -> None:
    check_mailchimp(env)
    check_ledger(env)
