"""Fixtures shared by the reliability tests (fault storms, bad input, secrets, transport,
crash and resume, concurrent runs, the PostgreSQL ledger)."""

from tests.sandbox.postgres import pg_ledger_url, postgres_server

__all__ = ["pg_ledger_url", "postgres_server"]
