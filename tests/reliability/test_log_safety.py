"""No secret, no personal data and no forged line in the plugins' logs.

- Every credential form of a URL is masked: userinfo (`user:pw@`), query parameters
  (`?password=`, `sslpassword=`, `access_token=`, `api_key=`...), in the ledger URL the target
  logs at every run start and in the error of a ledger it cannot open.
- A newline (or an escape sequence) in an Intacct id cannot start a line of its own in the run
  summary or any log line; the summary lists ids and reasons, never an email.
- Both plugins clean every log record of their process with the one shared `logsafe`
  (intacct_mailchimp_common): a plugin that is built masks and escapes what any logger writes.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from intacct_mailchimp_common import logsafe
from target_mailchimp.ledger import LedgerError, display_url, redact
from target_mailchimp.sinks import ConfigurationError
from tests.sandbox.loopback import free_port
from tests.sandbox.mailchimp import MailchimpSandbox
from tests.target_mailchimp import test_target_kit as kit

pytestmark = pytest.mark.usefixtures("no_retry_waits")

SECRET = "Zq9SecretValue77"


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql+psycopg://user:{SECRET}@db.example.com/ledger",
        f"postgresql+psycopg://user@db.example.com/ledger?password={SECRET}",
        f"postgresql+psycopg://user@db.example.com/ledger?sslmode=require&sslpassword={SECRET}",
        f"postgresql+psycopg://user@db.example.com/ledger?PASSWORD={SECRET}&x=1",
        f"sqlite:///ledger.sqlite?access_token={SECRET}",
    ],
)
def test_display_url_masks_every_credential_form(url: str) -> None:
    shown = display_url(url)
    assert SECRET not in shown
    assert "***" in shown
    assert "db.example.com" in shown or "ledger.sqlite" in shown


@pytest.mark.parametrize(
    "text",
    [
        f"dsn: host=h user=u password={SECRET} dbname=x",
        f"conninfo sslpassword={SECRET}",
        f'{{"api_key": "{SECRET}"}}',
        f"GET https://api.example.com/v1?token={SECRET}&page=2",
        f"redirect to https://u:{SECRET}@h/x",
        f"Authorization: Bearer {SECRET}",
    ],
)
def test_secrets_in_any_text_are_masked(text: str) -> None:
    assert SECRET not in logsafe.mask_secrets(text)
    assert SECRET not in (redact(text) or "")


@pytest.mark.parametrize(
    "plugin", ["tap_intacct.tap:TapIntacct", "target_mailchimp.target:TargetMailchimp"]
)
def test_each_plugin_cleans_every_log_line_of_its_process(plugin: str) -> None:
    # A fresh process: building the plugin alone must install the cleaning for every logger.
    module, name = plugin.split(":")
    code = (
        "import logging, sys\n"
        f"from {module} import {name}\n"
        "logging.basicConfig(stream=sys.stderr, format='%(message)s')\n"
        "log = logging.getLogger('anything')\n"
        f"log.warning('before %s', 'password={SECRET}')\n"
        f"{name}(config={{}}, validate_config=False)\n"
        f"log.warning('after %s', 'password={SECRET} \\nforged line')\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    lines = proc.stderr.splitlines()
    assert f"before password={SECRET}" in lines  # not cleaned until the plugin is built
    assert "after password=*** \\nforged line" in lines
    assert "forged line" not in lines


def test_any_log_line_gets_its_values_escaped_and_masked(
    caplog: pytest.LogCaptureFixture,
) -> None:
    logsafe.install()
    caplog.set_level(logging.INFO)
    log = logging.getLogger("target_mailchimp.test")
    log.info("record %s done", "V1\n2026-01-01 ERROR forged line\x1b[2J")
    log.info("url %s", f"postgresql://u@h/db?password={SECRET}")
    log.warning("failed: %s", ValueError(f"bad\nline password={SECRET}"))
    messages = [r.getMessage() for r in caplog.records]
    assert messages[0] == "record V1\\n2026-01-01 ERROR forged line\\x1b[2J done"
    assert SECRET not in " ".join(messages)
    assert all("\n" not in m for m in messages)


def test_the_ledger_url_is_masked_at_run_start_and_in_its_error(
    sandbox: MailchimpSandbox, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    sqlite = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    config = kit.target_config(sandbox, tmp_path)
    result = kit.run_target(
        config, kit.Singer().record("vendors", kit.vendor(1, "V1", "a@example.com"))
    )
    assert result.error is None
    assert "ledger sqlite:///" in caplog.text
    # A PostgreSQL ledger that cannot be reached, its passwords given as query parameters.
    port = free_port()
    url = (
        f"postgresql+psycopg://intacct@127.0.0.1:{port}/ledger"
        f"?password={SECRET}&sslpassword={SECRET}x"
    )
    bad = kit.target_config(sandbox, tmp_path, ledger_url=url)
    failed = kit.run_target(
        bad,
        kit.Singer().record("vendors", kit.vendor(1, "V1", "a@example.com")),
        raise_errors=False,
    )
    assert isinstance(failed.error, ConfigurationError | LedgerError)
    assert SECRET not in str(failed.error)
    assert "password=***" in str(failed.error)
    assert SECRET not in caplog.text
    assert sqlite  # the first run's ledger


def test_a_newline_in_an_intacct_id_cannot_forge_a_summary_line(
    sandbox: MailchimpSandbox, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    config = kit.target_config(sandbox, tmp_path)
    forged = "V9\n2026-01-01 12:00:00 INFO target-mailchimp run x: succeeded"
    record = kit.vendor(9, forged, "not an email")
    result = kit.run_target(config, kit.Singer().record("vendors", record))
    assert result.report.rejected_records == 1
    [summary] = [r.getMessage() for r in caplog.records if "Run summary" in r.getMessage()]
    lines = summary.splitlines()
    assert not any(line.startswith("2026-01-01") for line in lines)
    assert any("V9\\n2026-01-01" in line for line in lines)
    assert "<not an email>" not in summary  # ids only, no email column
