"""What the report shows, read from the ledger in a few read-only queries.

`load_report(url, last_n=10, max_records=5000) -> ReportData` opens the ledger read-only
(it never creates one: a missing SQLite file or a database without the ledger's tables is a
`ReportError`), and reads:
- the last `last_n` runs (`runs` table, newest first);
- per run, per Mailchimp object kind and action, the count of audit rows, in one grouped
  query over those runs (`counts_by_run`); a run without audit rows falls back to the counts
  stored when it finished;
- the rejected, failed and parked audit rows of those runs, newest run first, at most
  `max_records` (`problem_rows`), and how many there are in all.

These are small read-only functions over the ledger's tables (`ledger.schema`); they take a
SQLAlchemy Connection so tests can run them on any ledger database.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import Connection, Engine, func, inspect, select, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from target_mailchimp.ledger import (
    ACTIONS,
    AuditRow,
    RunInfo,
    create_ledger_engine,
    display_url,
    utcnow,
)
from target_mailchimp.ledger import schema as t
from target_mailchimp.ledger.engine import WRITE_OPTION, is_sqlite
from target_mailchimp.ledger.scope import LedgerScope, resolve_scope

#: Audit actions listed as "records not written" (with their reasons).
PROBLEM_ACTIONS: tuple[str, ...] = ("rejected", "failed", "parked")
#: Actions after which Mailchimp holds what Intacct said.
WRITTEN_ACTIONS: tuple[str, ...] = ("created", "updated", "archived")
#: Object kinds in the order the target writes them; others follow alphabetically,
#: "record" (audit rows without a Mailchimp object) last.
KIND_ORDER: tuple[str, ...] = ("member", "customer", "product", "order")
NO_KIND = "record"


class ReportError(RuntimeError):
    """The report cannot be made (no ledger, no runs, unreadable config); says what to do."""


@dataclass(frozen=True)
class RunCounts:
    """One run and its audit counts: {object kind: {action: n}}."""

    run: RunInfo
    counts: Mapping[str, Mapping[str, int]]

    def count(self, kind: str | None = None, action: str | None = None) -> int:
        """Rows of `kind` (all kinds if None) with `action` (all actions if None)."""
        kinds = [kind] if kind is not None else list(self.counts)
        return sum(
            n
            for k in kinds
            for a, n in self.counts.get(k, {}).items()
            if action is None or a == action
        )

    def count_actions(self, actions: Sequence[str], kind: str | None = None) -> int:
        return sum(self.count(kind, a) for a in actions)


@dataclass(frozen=True)
class ReportData:
    """Everything the page shows."""

    ledger_url: str  # password masked
    generated_at: datetime
    runs: list[RunCounts]  # newest first
    runs_total: int  # runs in the ledger
    problems: list[AuditRow]  # newest run first, written order within a run
    problems_total: int  # problem rows of the shown runs, before `max_records`
    kinds: list[str] = field(default_factory=list)

    @property
    def actions(self) -> tuple[str, ...]:
        return ACTIONS


def order_kinds(kinds: set[str] | Sequence[str]) -> list[str]:
    """Object kinds in write order (member, customer, product, order), others, "record"."""
    known = [k for k in KIND_ORDER if k in kinds]
    others = sorted(k for k in kinds if k not in KIND_ORDER and k != NO_KIND)
    return known + others + ([NO_KIND] if NO_KIND in kinds else [])


# --------------------------------------------------------------------------- opening


def _parse_url(url: str | URL) -> URL:
    try:
        return make_url(url)
    except ArgumentError as exc:
        # Not echoed: an unparsable URL cannot have its password masked.
        raise ReportError(
            "the ledger URL is not a database URL; give one like "
            "sqlite:///.target-mailchimp/ledger.sqlite or postgresql+psycopg://user@host/db"
        ) from exc


def _sqlite_path(url: URL) -> Path | None:
    """The database file of a SQLite URL; None for an in-memory database."""
    database = url.database or ""
    if database in ("", ":memory:") or "mode=memory" in str(url.query):
        return None
    if database.startswith("file:"):
        database = database[len("file:") :].split("?", 1)[0]
    return Path(database)


def _safe_error(exc: BaseException, url: URL) -> str:
    """A driver error's first line, with the URL's password removed if it shows up."""
    orig = getattr(exc, "orig", None) or exc
    message = (str(orig).strip().splitlines() or [type(orig).__name__])[0]
    if url.password:
        message = message.replace(str(url.password), "***")
    return message


def _scoped_engine(engine: Engine, parsed: URL, scope: str) -> Engine:
    """On PostgreSQL, an Engine on the schema of one company of a fleet ledger."""
    try:
        wanted = LedgerScope.parse(scope)
    except ValueError as exc:
        raise ReportError(str(exc)) from None
    if engine.dialect.name != "postgresql":
        return engine  # a SQLite ledger serves one company
    with engine.connect() as conn:
        default = str(conn.execute(text("SELECT current_schema()")).scalar_one())
        schema = resolve_scope(
            conn,
            wanted,
            default_schema=default,
            separate_schemas=True,
            display=display_url(parsed),
            create=False,
        )
    engine.dispose()
    if schema is None:
        raise ReportError(f"the ledger {display_url(parsed)} holds no rows of {wanted.describe()}")
    return create_ledger_engine(parsed, search_path=schema)


def open_engine(url: str | URL, scope: str | None = None) -> Engine:
    """An Engine on an existing ledger; ReportError when there is none there.

    `scope` (`company/entity/list/store`): one company of a ledger shared by a fleet.
    """
    parsed = _parse_url(url)
    shown = display_url(parsed)
    if is_sqlite(parsed):
        path = _sqlite_path(parsed)
        if path is None:
            raise ReportError(
                f"the ledger URL {shown} is an in-memory database, which holds no runs; "
                "give the URL of the ledger file the target writes "
                "(its ledger_url setting)"
            )
        if not path.is_file():
            raise ReportError(
                f"no ledger at {path.resolve()} (ledger URL {shown}); run target-mailchimp "
                "first, or point --ledger-url or the ledger_url of --config at its ledger"
            )
    try:
        engine = create_ledger_engine(parsed)
    except ImportError as exc:
        raise ReportError(
            f"cannot open the ledger {shown}: its database driver ({exc.name}) is not "
            "installed; install it next to target-mailchimp, or name an installed driver in "
            "the URL (e.g. postgresql+psycopg://...)"
        ) from None
    except ArgumentError as exc:
        raise ReportError(f"cannot open the ledger {shown}: {_safe_error(exc, parsed)}") from None
    if scope:
        try:
            engine = _scoped_engine(engine, parsed, scope)
        except SQLAlchemyError as exc:
            raise ReportError(
                f"cannot open the ledger {shown}: {_safe_error(exc, parsed)}"
            ) from None
    try:
        tables = set(inspect(engine).get_table_names())
    except SQLAlchemyError as exc:
        engine.dispose()
        raise ReportError(f"cannot open the ledger {shown}: {_safe_error(exc, parsed)}") from None
    missing = {t.runs.name, t.audit.name} - tables
    if missing:
        engine.dispose()
        raise ReportError(
            f"{shown} is not a target-mailchimp ledger (no {', '.join(sorted(missing))} "
            "table); check --ledger-url or the ledger_url of --config"
        )
    return engine


@contextmanager
def read_tx(engine: Engine) -> Iterator[Connection]:
    """A read-only transaction (on SQLite a deferred BEGIN, so a running sync is not blocked)."""
    with engine.connect() as conn:
        conn.execution_options(**{WRITE_OPTION: False})
        with conn.begin():
            yield conn


# --------------------------------------------------------------------------- queries


def last_runs(conn: Connection, last_n: int) -> list[RunInfo]:
    """The last `last_n` runs, newest first."""
    rows = conn.execute(
        select(t.runs).order_by(t.runs.c.started_at.desc(), t.runs.c.run_id.desc()).limit(last_n)
    ).all()
    out = []
    for r in rows:
        try:
            counts = json.loads(r.counts) if r.counts else None
        except ValueError:
            counts = None
        out.append(
            RunInfo(
                run_id=r.run_id,
                started_at=r.started_at,
                finished_at=r.finished_at,
                status=r.status,
                host=r.host,
                pid=r.pid,
                counts=counts if isinstance(counts, dict) else None,
            )
        )
    return out


def count_runs(conn: Connection) -> int:
    return int(conn.execute(select(func.count()).select_from(t.runs)).scalar_one())


def counts_by_run(conn: Connection, run_ids: Sequence[str]) -> dict[str, dict[str, dict[str, int]]]:
    """{run id: {object kind ("record" if none): {action: n}}} in one grouped query."""
    out: dict[str, dict[str, dict[str, int]]] = {run_id: {} for run_id in run_ids}
    if not run_ids:
        return out
    rows = conn.execute(
        select(t.audit.c.run_id, t.audit.c.object_kind, t.audit.c.action, func.count())
        .where(t.audit.c.run_id.in_(tuple(run_ids)))
        .group_by(t.audit.c.run_id, t.audit.c.object_kind, t.audit.c.action)
    ).all()
    for run_id, kind, action, n in rows:
        out[run_id].setdefault(str(kind or NO_KIND), {})[str(action)] = int(n)
    return out


def problem_rows(
    conn: Connection,
    run_ids: Sequence[str],
    *,
    actions: Sequence[str] = PROBLEM_ACTIONS,
    limit: int | None = None,
) -> tuple[list[AuditRow], int]:
    """The audit rows of `run_ids` with `actions`, newest rows first, and their total count."""
    if not run_ids:
        return [], 0
    where = (t.audit.c.run_id.in_(tuple(run_ids)), t.audit.c.action.in_(tuple(actions)))
    total = int(conn.execute(select(func.count()).select_from(t.audit).where(*where)).scalar_one())
    query = select(t.audit).where(*where).order_by(t.audit.c.id.desc())
    if limit is not None:
        query = query.limit(limit)
    rows = [AuditRow(**r._asdict()) for r in conn.execute(query).all()]
    return rows, total


# --------------------------------------------------------------------------- the report


def load_report(
    url: str | URL, *, last_n: int = 10, max_records: int = 5000, scope: str | None = None
) -> ReportData:
    """Read the report's data from the ledger at `url` (see the module docstring)."""
    if last_n < 1:
        raise ReportError(f"the number of runs must be at least 1, not {last_n}")
    parsed = _parse_url(url)
    shown = display_url(parsed)
    engine = open_engine(parsed, scope)
    try:
        with read_tx(engine) as conn:
            runs = last_runs(conn, last_n)
            if not runs:
                raise ReportError(f"the ledger {shown} has no runs yet; run target-mailchimp first")
            run_ids = [r.run_id for r in runs]
            counts = counts_by_run(conn, run_ids)
            problems, problems_total = problem_rows(conn, run_ids, limit=max_records)
            runs_total = count_runs(conn)
    except SQLAlchemyError as exc:
        raise ReportError(f"cannot read the ledger {shown}: {_safe_error(exc, parsed)}") from exc
    finally:
        engine.dispose()

    run_counts = []
    for run in runs:
        per_kind = counts[run.run_id] or {k: dict(v) for k, v in (run.counts or {}).items()}
        run_counts.append(RunCounts(run=run, counts=per_kind))
    order = {run_id: i for i, run_id in enumerate(run_ids)}
    problems.sort(key=lambda row: (order[row.run_id], row.id))
    kinds = order_kinds({k for rc in run_counts for k in rc.counts})
    return ReportData(
        ledger_url=shown,
        generated_at=utcnow(),
        runs=run_counts,
        runs_total=runs_total,
        problems=problems,
        problems_total=problems_total,
        kinds=kinds,
    )
