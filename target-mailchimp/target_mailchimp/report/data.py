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

import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Column, Connection, Engine, Table, func, inspect, select
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
from target_mailchimp.ledger.scope import LedgerScope, registered_scope_schema

#: Audit actions listed as "records not written" (with their reasons).
PROBLEM_ACTIONS: tuple[str, ...] = ("rejected", "failed", "parked")
#: Actions after which Mailchimp holds what Intacct said.
WRITTEN_ACTIONS: tuple[str, ...] = ("created", "updated", "archived")
#: A run with none of these changed nothing in Mailchimp (its records were unchanged,
#: skipped, or not written: rejected, failed, parked).
CHANGE_ACTIONS: tuple[str, ...] = WRITTEN_ACTIONS
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

    @property
    def did_something(self) -> bool:
        """True when the run changed something in Mailchimp (created, updated or archived
        an object), not only unchanged, skipped, rejected, failed or parked records."""
        return self.count_actions(CHANGE_ACTIONS) > 0


@dataclass(frozen=True)
class ProblemRecord:
    """One record (and Mailchimp object) with a problem, shown once however many of the
    shown runs had it: its latest audit row, and the runs it appears in."""

    latest: AuditRow  # the newest row
    run_ids: tuple[str, ...]  # newest first
    first_run: RunInfo
    last_run: RunInfo

    @property
    def run_count(self) -> int:
        return len(self.run_ids)

    @property
    def refs(self) -> dict[str, list[str]]:
        return self.latest.referenced_ids()

    def search_text(self) -> str:
        """What the search box matches: its own ids, email, object id and every id it
        refers to (VENDORID, CUSTOMERID, bill RECORDNO), lower case."""
        row = self.latest
        values = [row.email, row.source_id, row.source_key, row.object_id]
        values += [v for ids in self.refs.values() for v in ids]
        return " ".join(str(v).lower() for v in values if v not in (None, ""))


@dataclass(frozen=True)
class ProblemGroup:
    """Records not written for the same reason (`reason_pattern`), newest first."""

    action: str
    reason: str
    records: list[ProblemRecord]

    @property
    def streams(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for record in self.records:
            out[record.latest.stream] = out.get(record.latest.stream, 0) + 1
        return out

    @property
    def row_count(self) -> int:
        """Audit rows behind the group (a record counts once per run it appears in)."""
        return sum(r.run_count for r in self.records)


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

    @property
    def latest_active(self) -> RunCounts | None:
        """The newest shown run that changed something (`RunCounts.did_something`)."""
        return next((rc for rc in self.runs if rc.did_something), None)

    @property
    def groups(self) -> list[ProblemGroup]:
        """The problem rows as records grouped by action and reason (`group_problems`)."""
        return group_problems(self.problems, [rc.run for rc in self.runs])


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
        schema = registered_scope_schema(conn, wanted, display=display_url(parsed))
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


def present_columns(conn: Connection, table: Table) -> list[Column[Any]]:
    """The columns of `table` the ledger has: one written by an older target lacks those
    added since (`schema.ADDED_COLUMNS`), and the report never changes a ledger."""
    present = {c["name"] for c in inspect(conn).get_columns(table.name)}
    return [c for c in table.c if c.name in present]


def last_runs(conn: Connection, last_n: int) -> list[RunInfo]:
    """The last `last_n` runs, newest first."""
    columns = present_columns(conn, t.runs)
    rows = conn.execute(
        select(*columns).order_by(t.runs.c.started_at.desc(), t.runs.c.run_id.desc()).limit(last_n)
    ).all()
    return [RunInfo.from_row(r) for r in rows]


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
    query = select(*present_columns(conn, t.audit)).where(*where).order_by(t.audit.c.id.desc())
    if limit is not None:
        query = query.limit(limit)
    rows = [AuditRow(**r._asdict()) for r in conn.execute(query).all()]
    return rows, total


# --------------------------------------------------------------------------- grouping

#: The record label a reason starts with, after its stream (see `mapping.record_label`).
_LABEL_TAIL = (
    r"(?: RECORDNO \S+)?(?: \((?:CUSTOMERID|VENDORID|RECORDID) [^)]*\))?"
    r"(?: (?:email_address|id) '[^']*')?(?=[: ]|$)"
)
_QUOTED = re.compile(r"'[^'\n]*'|\"[^\"\n]*\"")
_NUMBER = re.compile(r"(?<![\w.])(?<!HTTP )(?<!Mailchimp )(?<!status )\d+(?:[.,]\d+)*(?![\w.])")
_SPACES = re.compile(r"\s+")


_KEYWORD = re.compile(r"['\"][a-z_]{3,}['\"]")


def _quoted(match: re.Match[str]) -> str:
    """A quoted value in a reason as '…', except a lower-case keyword such as a setting's
    value ("inactive_records is 'ignore'"), which says what to do."""
    value = match.group()
    return value if _KEYWORD.fullmatch(value) else "'…'"


def _number(match: re.Match[str]) -> str:
    """A number in a reason as "…", except an HTTP status ("503 Service Unavailable")."""
    value = match.group()
    tail = match.string[match.end() : match.end() + 2]
    if len(value) == 3 and value[0] in "12345" and tail[:1] == " " and tail[1:].isupper():
        return value
    return "…"


def reason_pattern(row: AuditRow) -> str:
    """The reason of an audit row without what is particular to its record, so records
    refused for the same reason share it: the record label it starts with, its own ids,
    email and the ids it refers to, quoted values (except lower-case keywords) and numbers
    (except HTTP statuses) are replaced by "…"."""
    text = (row.detail or "").strip()
    if not text:
        return "no reason recorded"
    text = re.sub("^" + re.escape(row.stream) + _LABEL_TAIL, "", text, count=1).lstrip(" :")
    own = [row.email, row.source_id, row.source_key, row.object_id]
    own += [v for ids in row.referenced_ids().values() for v in ids]
    for value in sorted({str(v) for v in own if v and len(str(v)) > 1}, key=len, reverse=True):
        text = text.replace(value, "…")
    text = _QUOTED.sub(_quoted, text)
    text = _NUMBER.sub(_number, text)
    return _SPACES.sub(" ", text).strip() or "no reason recorded"


def _record_key(row: AuditRow) -> tuple[str, ...]:
    who = row.source_key or row.source_id or row.email or f"#{row.id}"
    return (row.stream, who, row.object_kind or "", row.object_id or "")


def group_problems(rows: Sequence[AuditRow], runs: Sequence[RunInfo]) -> list[ProblemGroup]:
    """Rows (newest run first) as records grouped by action and `reason_pattern`: a record
    that had the same problem in several runs is one record with those runs. Groups are
    ordered by action (rejected, failed, parked), then most records first."""
    by_id = {run.run_id: run for run in runs}
    order = {run.run_id: i for i, run in enumerate(runs)}
    grouped: dict[tuple[str, str], dict[tuple[str, ...], list[AuditRow]]] = {}
    for row in rows:
        key = (row.action, reason_pattern(row))
        grouped.setdefault(key, {}).setdefault(_record_key(row), []).append(row)
    groups = []
    for (action, reason), records in grouped.items():
        items = []
        for record_rows in records.values():
            record_rows.sort(key=lambda r: (order.get(r.run_id, len(order)), -r.id))
            run_ids = tuple(dict.fromkeys(r.run_id for r in record_rows))
            items.append(
                ProblemRecord(
                    latest=record_rows[0],
                    run_ids=run_ids,
                    first_run=by_id[run_ids[-1]],
                    last_run=by_id[run_ids[0]],
                )
            )
        items.sort(key=lambda r: (order.get(r.last_run.run_id, 0), -r.latest.id))
        groups.append(ProblemGroup(action, reason, items))
    rank = {a: i for i, a in enumerate(PROBLEM_ACTIONS)}
    groups.sort(key=lambda g: (rank.get(g.action, len(rank)), -len(g.records), g.reason))
    return groups


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
