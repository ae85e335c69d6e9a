"""Fixtures shared by the target-mailchimp tests."""

from pathlib import Path
from typing import Any

import pytest

from tests.sandbox.mailchimp import MailchimpSandbox
from tests.sandbox.postgres import pg_ledger_url, postgres_server
from tests.target_mailchimp.test_target_kit import no_retry_waits, sandbox, target_config

__all__ = ["no_retry_waits", "pg_ledger_url", "postgres_server", "sandbox"]


@pytest.fixture
def cfg(sandbox: MailchimpSandbox, tmp_path: Path) -> dict[str, Any]:
    """The target's config for the test's sandbox, with the test's own ledger."""
    return target_config(sandbox, tmp_path)
