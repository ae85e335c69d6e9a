"""Fixtures shared by the target-mailchimp tests."""

from tests.sandbox.postgres import pg_ledger_url, postgres_server

__all__ = ["pg_ledger_url", "postgres_server"]
