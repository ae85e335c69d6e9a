"""The ledger's database: the Engine, its tables and scope, short transactions, upserts.

`LedgerDatabase` opens the database (tables created or completed, the company's scope
entered) and gives the ledger's parts `tx()`, one short transaction (SQLite: BEGIN IMMEDIATE
for writes; PostgreSQL: a transaction-scoped advisory lock, so one writer at a time), and the
portable `upsert` / `insert_new` / `update_many` (no dialect-specific SQL). Keys are queried in
`chunks` so the number of bound parameters stays under every database's limit.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import quote, quote_plus

from sqlalchemy import (
    Connection,
    Engine,
    Table,
    bindparam,
    func,
    insert,
    inspect,
    select,
    update,
)
from sqlalchemy import text as sql_text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError, InterfaceError, OperationalError, ProgrammingError

from target_mailchimp.ledger import schema as t
from target_mailchimp.ledger.engine import (
    WRITE_OPTION,
    create_ledger_engine,
    display_url,
    is_sqlite,
)
from target_mailchimp.ledger.records import LedgerError
from target_mailchimp.ledger.scope import LedgerScope, resolve_scope, schema_write_lock_key

logger = logging.getLogger("target_mailchimp.ledger")

DEFAULT_LEDGER_URL = "sqlite:///.target-mailchimp/ledger.sqlite"
#: PostgreSQL advisory lock held by every write transaction (see `tx`).
WRITE_LOCK_KEY = 0x7461726765746D63  # "targetmc"


#: Keys per IN (...) clause (SQLite allows 999 bound parameters in old builds).
CHUNK = 500

K = TypeVar("K")


def utcnow() -> datetime:
    return datetime.now(UTC)


def chunks(items: Sequence[K], size: int = CHUNK) -> Iterator[Sequence[K]]:
    """`items` in slices of at most `size`, for IN (...) clauses."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


class LedgerDatabase:
    """The Engine and transactions every ledger part builds on (see `Ledger`)."""

    def __init__(
        self,
        url: str = DEFAULT_LEDGER_URL,
        clock: Callable[[], datetime] = utcnow,
        busy_timeout_ms: int = 30_000,
        scope: LedgerScope | None = None,
        create_scope: bool = True,
    ) -> None:
        self.url = display_url(url)
        #: The company whose rows this object reads and writes (None: the database's own
        #: tables, as before scopes; see `target_mailchimp.ledger.scope`).
        self.scope = scope
        #: The PostgreSQL schema / SQLite database holding this scope's tables.
        self.schema_name: str | None = None
        self._create_scope = create_scope
        self._raw_url = url
        self._busy_timeout_ms = busy_timeout_ms
        self._write_lock_key = WRITE_LOCK_KEY
        self._password = make_url(url).password
        #: The ledger's clock (aware UTC); a test may pass its own.
        self.clock = clock
        self._sqlite = is_sqlite(url)
        self.postgresql = make_url(url).get_backend_name() == "postgresql"
        try:
            self.engine = create_ledger_engine(url, busy_timeout_ms=busy_timeout_ms)
        except ImportError as exc:
            raise LedgerError(
                f"cannot open the ledger {self.url}: its database driver ({exc.name}) is not "
                "installed; for PostgreSQL install target-mailchimp-intacct[postgres] (psycopg 3)"
            ) from exc
        # SQLite allows one writer; serialising this process's transactions avoids busy
        # retries between our own threads (other processes still wait on busy_timeout).
        self._mutex: threading.RLock | None = threading.RLock() if self._sqlite else None
        self._create_schema()

    # ------------------------------------------------------------------ plumbing

    def _create_schema(self) -> None:
        try:
            self._create_schema_once()
        except (OperationalError, InterfaceError) as exc:
            # Cannot connect (down, wrong password, no such database): name the ledger,
            # never its password.
            self.engine.dispose()
            reason = _scrub(str(getattr(exc, "orig", None) or exc), self._password)
            raise LedgerError(
                f"cannot open the ledger {self.url}: {reason.strip().splitlines()[0]}"
            ) from exc

    def _default_schema(self, conn: Connection) -> str:
        if self.postgresql:
            return str(conn.execute(select(func.current_schema())).scalar_one())
        return "main"

    def _enter_scope(self, scope: LedgerScope) -> None:
        """Find (or register) the scope's schema and point the Engine at it."""
        try:
            with self.tx() as conn:
                default = self._default_schema(conn)
                schema = resolve_scope(
                    conn,
                    scope,
                    default_schema=default,
                    separate_schemas=self.postgresql,
                    display=self.url,
                    create=self._create_scope,
                )
        except ProgrammingError as exc:
            # e.g. no CREATE privilege on the database for a new company's schema
            reason = _scrub(str(getattr(exc, "orig", None) or exc), self._password)
            raise LedgerError(
                f"ledger {self.url}: cannot set up the rows of {scope.describe()}: "
                f"{reason.strip().splitlines()[0]} (the ledger's database user needs the "
                "CREATE privilege on the database to add a company's schema)"
            ) from None
        if schema is None:
            raise LedgerError(f"ledger {self.url} holds no rows of {scope.describe()}")
        self.schema_name = schema
        if schema != default:
            old: Engine = self.engine
            self.engine = create_ledger_engine(
                self._raw_url, busy_timeout_ms=self._busy_timeout_ms, search_path=schema
            )
            old.dispose()
            self._write_lock_key = schema_write_lock_key(schema)

    def _create_schema_once(self) -> None:
        if self.scope is not None:
            self._enter_scope(self.scope)
        # A write transaction: on PostgreSQL two targets starting at once against a new
        # database wait for each other here instead of both CREATE-ing the same tables.
        with self.tx() as conn:
            t.metadata.create_all(conn)
            _add_missing_columns(conn)
            row = conn.execute(
                select(t.ledger_meta.c.value).where(t.ledger_meta.c.key == "schema_version")
            ).first()
            if row is None:
                conn.execute(
                    insert(t.ledger_meta).values(key="schema_version", value=str(t.SCHEMA_VERSION))
                )
            elif int(row.value) > t.SCHEMA_VERSION:
                raise LedgerError(
                    f"ledger {self.url} has schema version {row.value}, newer than this "
                    f"target-mailchimp understands ({t.SCHEMA_VERSION}); upgrade the target"
                )

    @contextlib.contextmanager
    def tx(self, *, write: bool = True) -> Iterator[Connection]:
        """One short transaction; `write=False` for reads (they never wait for writers)."""
        mutex = self._mutex if self._mutex is not None else contextlib.nullcontext()
        with mutex, self.engine.connect() as conn:
            if self._sqlite:
                conn.execution_options(**{WRITE_OPTION: write})
            with conn.begin():
                if write and self.postgresql:
                    # One writer at a time, as SQLite's BEGIN IMMEDIATE gives: several
                    # machines or threads writing overlapping batches can then never deadlock
                    # nor lose an update. Readers never wait; the lock ends with the
                    # transaction. (The run lock already keeps a second run from writing.)
                    conn.execute(select(func.pg_advisory_xact_lock(self._write_lock_key)))
                yield conn

    @staticmethod
    def upsert(
        conn: Connection,
        table: Table,
        keys: Mapping[str, Any],
        values: Mapping[str, Any],
        on_insert: Mapping[str, Any] | None = None,
    ) -> None:
        """Update the row with `keys`, or insert it: portable (no dialect-specific SQL).

        `values` may hold SQL expressions on the row (e.g. a counter + 1); `on_insert`
        replaces some of them when the row is new.
        """
        where = [table.c[k] == v for k, v in keys.items()]
        if conn.execute(update(table).where(*where).values(**values)).rowcount:
            return
        try:
            with conn.begin_nested():
                conn.execute(insert(table).values(**keys, **{**values, **(on_insert or {})}))
        except IntegrityError:
            # Another writer inserted it first (PostgreSQL): update that row.
            conn.execute(update(table).where(*where).values(**values))

    @classmethod
    def insert_new(
        cls, conn: Connection, table: Table, key_names: Sequence[str], rows: list[dict[str, Any]]
    ) -> None:
        """Insert rows that were not there when looked up; a row another writer inserted in
        the meantime (PostgreSQL, several machines) is updated instead of failing the batch."""
        if not rows:
            return
        try:
            with conn.begin_nested():
                conn.execute(insert(table), rows)
        except IntegrityError:
            for row in rows:
                keys = {k: row[k] for k in key_names}
                cls.upsert(conn, table, keys, {k: v for k, v in row.items() if k not in keys})

    def close(self) -> None:
        """Dispose of the Engine (its pooled connections close)."""
        self.engine.dispose()


def update_many(
    conn: Connection, table: Table, keys: tuple[str, ...], rows: Sequence[dict[str, Any]]
) -> None:
    """UPDATE many rows by key in one executemany per set of columns (not a statement
    compiled per row)."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for row in rows:
        columns = tuple(sorted(k for k in row if k not in keys))
        groups.setdefault(columns, []).append(row)
    for columns, items in groups.items():
        statement = (
            update(table)
            .where(*(table.c[k] == bindparam(f"key_{k}") for k in keys))
            .values({c: bindparam(f"new_{c}") for c in columns})
        )
        conn.execute(
            statement,
            [
                {**{f"key_{k}": r[k] for k in keys}, **{f"new_{c}": r[c] for c in columns}}
                for r in items
            ],
        )


def _scrub(text: str, password: str | None) -> str:
    """`text` without the password, raw or URL-quoted (drivers do not echo it; be sure)."""
    if password:
        for form in {password, quote(password, safe=""), quote_plus(password)}:
            text = text.replace(form, "***")
    return text


def _add_missing_columns(conn: Connection) -> None:
    """Add the nullable columns of `schema.ADDED_COLUMNS` that a ledger made before them
    lacks (additive: rows written before have NULL there)."""
    inspector = inspect(conn)
    quote_name = conn.dialect.identifier_preparer.quote
    for table, name in t.ADDED_COLUMNS:
        present = {c["name"] for c in inspector.get_columns(table.name)}
        if name in present:
            continue
        column = table.c[name]
        kind = column.type.compile(dialect=conn.dialect)
        conn.execute(
            sql_text(f"ALTER TABLE {quote_name(table.name)} ADD COLUMN {quote_name(name)} {kind}")
        )
