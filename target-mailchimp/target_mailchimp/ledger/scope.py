"""Scopes: many companies' runs in one ledger database, each company's rows kept apart.

A scope is one company's sync: its Intacct company and entity and the Mailchimp audience and
store it writes to (`LedgerScope`). The target builds it from its settings
(`intacct_company_id`, `intacct_entity_id`, `list_id`, `store_id`).

Where a scope's rows live:
- The first scope to use a ledger database owns the database's own tables (the default
  PostgreSQL schema, or the SQLite file). A ledger written before scopes existed (one company
  per database) therefore keeps its rows: the first run after the upgrade claims them.
- On PostgreSQL every further scope gets its own schema in the same database
  (`tmc_<company>_<hash>`), holding the same tables. Every query of the ledger then stays
  within its scope without naming it, so no company can read or overwrite another's rows.
- A SQLite file serves one company: the same company moving to another audience or store
  keeps the file (as before scopes: run once with `full_refresh`), another Intacct company
  is refused with a clear message (one file per company, or PostgreSQL for a fleet).
- A scope registered without an Intacct company id (set before `intacct_company_id` was)
  is claimed by the first run of the same audience and store that names its company.

`ledger_scopes` (in the default schema / the SQLite file) lists them: schema name, Intacct
company, entity, audience, store and when each was first seen. It is the only table shared by
the fleet; adding it changes no existing table (schema version stays 1).

Run locks: each scope's `locks` table holds its run lock as before. On PostgreSQL a run also
holds a session advisory lock on (Intacct company, entity, audience) for its whole life, so
two runs of one company exclude each other even with different stores, while other
companies run side by side; the lock goes with the run's database session when its process
dies.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Column,
    Connection,
    MetaData,
    String,
    Table,
    UniqueConstraint,
    func,
    select,
    text,
)

from target_mailchimp.ledger.records import LedgerError
from target_mailchimp.ledger.schema import UTCDateTime

logger = logging.getLogger("target_mailchimp.ledger")

fleet_metadata = MetaData()

ledger_scopes = Table(
    "ledger_scopes",
    fleet_metadata,
    Column("schema_name", String(63), primary_key=True),
    Column("intacct_company_id", String(255), nullable=False),
    Column("intacct_entity_id", String(255), nullable=False),
    Column("list_id", String(255), nullable=False),
    Column("store_id", String(255), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    UniqueConstraint(
        "intacct_company_id", "intacct_entity_id", "list_id", "store_id", name="uq_ledger_scope"
    ),
)

#: Schema names of further scopes start with this (PostgreSQL identifiers: at most 63 bytes).
SCHEMA_PREFIX = "tmc_"


def _slug(value: str, limit: int) -> str:
    return re.sub(r"[^a-z0-9]+", "_", value.lower()).strip("_")[:limit]


def _key64(text_value: str) -> int:
    """A signed 64-bit number from text (a PostgreSQL advisory lock key)."""
    return int.from_bytes(hashlib.sha256(text_value.encode()).digest()[:8], "big", signed=True)


@dataclass(frozen=True)
class LedgerScope:
    """One company's sync: Intacct company and entity, Mailchimp audience and store."""

    intacct_company_id: str = ""
    intacct_entity_id: str = ""
    list_id: str = ""
    store_id: str = ""

    def __post_init__(self) -> None:
        for name in ("intacct_company_id", "intacct_entity_id", "list_id", "store_id"):
            value = getattr(self, name)
            if not isinstance(value, str) or len(value) > 255:
                raise ValueError(f"ledger scope: {name} must be text of at most 255 characters")
            object.__setattr__(self, name, value.strip())

    @property
    def key(self) -> str:
        """`company/entity/list/store`, as the report's `--scope` takes it."""
        return "/".join(
            (self.intacct_company_id, self.intacct_entity_id, self.list_id, self.store_id)
        )

    @classmethod
    def parse(cls, key: str) -> LedgerScope:
        parts = key.split("/")
        if len(parts) != 4:
            raise ValueError(
                f"scope {key!r} must be company/entity/list/store (empty parts allowed: "
                "ACME//a1b2c3d4e5/intacct)"
            )
        return cls(*parts)

    def describe(self) -> str:
        company = self.intacct_company_id or "(no intacct_company_id)"
        entity = f" entity {self.intacct_entity_id}" if self.intacct_entity_id else ""
        return f"Intacct company {company}{entity}, audience {self.list_id}, store {self.store_id}"

    @property
    def company_lock_key(self) -> int:
        """Advisory lock key of (Intacct company, entity, audience): one run at a time."""
        return _key64(f"run|{self.intacct_company_id}|{self.intacct_entity_id}|{self.list_id}")

    def new_schema_name(self) -> str:
        digest = hashlib.sha256(self.key.encode()).hexdigest()[:12]
        slug = _slug(self.intacct_company_id or self.list_id, 30)
        return f"{SCHEMA_PREFIX}{slug}_{digest}" if slug else f"{SCHEMA_PREFIX}{digest}"


def schema_write_lock_key(schema_name: str) -> int:
    """Advisory lock key serialising one scope's write transactions (see `LedgerBase._tx`)."""
    return _key64(f"write|{schema_name}")


def _row_scope(row: Any) -> LedgerScope:
    return LedgerScope(row.intacct_company_id, row.intacct_entity_id, row.list_id, row.store_id)


def list_scopes(conn: Connection) -> dict[str, LedgerScope]:
    """{schema name: scope} of every registered scope (empty before the first)."""
    if not conn.dialect.has_table(conn, ledger_scopes.name):
        return {}
    rows = conn.execute(select(ledger_scopes).order_by(ledger_scopes.c.created_at)).all()
    return {r.schema_name: _row_scope(r) for r in rows}


def resolve_scope(
    conn: Connection,
    scope: LedgerScope,
    *,
    default_schema: str,
    separate_schemas: bool,
    display: str,
    create: bool = True,
) -> str | None:
    """The schema holding `scope`'s tables, registering the scope when new.

    Call inside a write transaction that excludes other writers of the registry. With
    `create=False` an unknown scope gives None (nothing is written).
    """
    if create:
        fleet_metadata.create_all(conn)
    elif not conn.dialect.has_table(conn, ledger_scopes.name):
        return None
    rows = conn.execute(select(ledger_scopes)).all()
    for row in rows:
        if _row_scope(row) == scope:
            return str(row.schema_name)
    if scope.intacct_company_id:
        # A scope registered before its company id was set: claimed by that company.
        for row in rows:
            if (
                not row.intacct_company_id
                and (row.list_id, row.store_id) == (scope.list_id, scope.store_id)
                and row.intacct_entity_id in ("", scope.intacct_entity_id)
            ):
                if create:
                    conn.execute(
                        ledger_scopes.update()
                        .where(ledger_scopes.c.schema_name == row.schema_name)
                        .values(
                            intacct_company_id=scope.intacct_company_id,
                            intacct_entity_id=scope.intacct_entity_id,
                        )
                    )
                return str(row.schema_name)
    if not create:
        return None
    taken = {str(r.schema_name) for r in rows}
    if default_schema not in taken:
        schema = default_schema
    elif not separate_schemas:
        owner = next(_row_scope(r) for r in rows if r.schema_name == default_schema)
        if owner.intacct_company_id in ("", scope.intacct_company_id) and (
            owner.intacct_entity_id in ("", scope.intacct_entity_id)
        ):
            # The same company moved to another audience or store (one file, one company).
            logger.warning(
                "ledger %s: %s was %s before; its rows are kept (run once with full_refresh "
                "to write everything to the new audience or store)",
                display,
                scope.describe(),
                owner.describe(),
            )
            conn.execute(
                ledger_scopes.update()
                .where(ledger_scopes.c.schema_name == default_schema)
                .values(
                    intacct_company_id=scope.intacct_company_id,
                    intacct_entity_id=scope.intacct_entity_id,
                    list_id=scope.list_id,
                    store_id=scope.store_id,
                )
            )
            return default_schema
        raise LedgerError(
            f"ledger {display} holds the rows of {owner.describe()}; a SQLite ledger serves "
            f"one company, so {scope.describe()} cannot use it: give each company its own "
            "ledger_url, or share one PostgreSQL ledger among the fleet"
        )
    else:
        schema = scope.new_schema_name()
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    conn.execute(
        ledger_scopes.insert().values(
            schema_name=schema,
            intacct_company_id=scope.intacct_company_id,
            intacct_entity_id=scope.intacct_entity_id,
            list_id=scope.list_id,
            store_id=scope.store_id,
            created_at=datetime.now(UTC),
        )
    )
    return schema


def registered_scope_schema(conn: Connection, scope: LedgerScope, *, display: str) -> str | None:
    """The schema of `scope` in a PostgreSQL ledger shared by a fleet, read only (for readers
    such as the report and a dry run's copy); None when the ledger holds no rows of it."""
    default = str(conn.execute(select(func.current_schema())).scalar_one())
    return resolve_scope(
        conn, scope, default_schema=default, separate_schemas=True, display=display, create=False
    )
