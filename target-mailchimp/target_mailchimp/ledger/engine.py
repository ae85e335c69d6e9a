"""The ledger's SQLAlchemy Engine.

`create_ledger_engine(url, busy_timeout_ms)`:
- SQLite: creates the database file's folder (relative paths are relative to the working
  directory), turns on WAL (readers do not block the writer), sets a busy timeout, and opens
  write transactions with BEGIN IMMEDIATE so a transaction never fails half-way when it
  upgrades from reading to writing. `sqlite://` / `:memory:` share one connection.
- any other URL (PostgreSQL): a plain pooled engine with pre-ping.

`display_url(url)`: the URL with its credentials masked, whatever their form, for messages.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import StaticPool

from intacct_mailchimp_common.logsafe import mask_url

WRITE_OPTION = "ledger_write"


def display_url(url: str | URL) -> str:
    """The URL as text with its credentials masked (userinfo password, query parameters)."""
    try:
        text = make_url(url).render_as_string(hide_password=True)
    except Exception:  # not a URL SQLAlchemy reads: mask what looks like a credential
        text = str(url)
    return mask_url(text)


def is_sqlite(url: str | URL) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def _sqlite_memory(url: URL) -> bool:
    database = url.database or ""
    return database in ("", ":memory:") or "mode=memory" in str(url.query)


def create_ledger_engine(
    url: str | URL, *, busy_timeout_ms: int = 30_000, search_path: str | None = None
) -> Engine:
    """An Engine for the ledger (see module docstring).

    `search_path` (PostgreSQL): the schema every unqualified table name resolves to (a
    scope's own schema, see `target_mailchimp.ledger.scope`); it must be a plain identifier.
    """
    parsed = make_url(url)
    if not is_sqlite(parsed):
        if search_path is None:
            return create_engine(parsed, pool_pre_ping=True)
        if not search_path.replace("_", "").isalnum():
            raise ValueError(f"not a plain schema name: {search_path!r}")
        return create_engine(
            parsed, pool_pre_ping=True, connect_args={"options": f"-csearch_path={search_path}"}
        )
    memory = _sqlite_memory(parsed)
    kwargs: dict[str, Any] = {
        "connect_args": {"check_same_thread": False, "timeout": busy_timeout_ms / 1000},
    }
    if memory:
        kwargs["poolclass"] = StaticPool
    elif parsed.database and not parsed.database.startswith("file:"):
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(parsed, **kwargs)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy's "begin" event below issue BEGIN, so writes can be IMMEDIATE.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            if not memory:
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get(WRITE_OPTION, True)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")

    return engine
