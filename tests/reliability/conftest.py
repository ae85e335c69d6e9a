"""Fixtures shared by the reliability tests (fault storms, bad input, secrets, transport,
crash and resume, concurrent runs, the PostgreSQL ledger)."""

from tests.sandbox.postgres import pg_ledger_url, postgres_server
from tests.target_mailchimp.test_target_kit import no_retry_waits, sandbox

__all__ = ["no_retry_waits", "pg_ledger_url", "postgres_server", "sandbox"]
