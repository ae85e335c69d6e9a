"""No credential reaches any output of a whole run, error paths included.

`meltano run tap-intacct target-mailchimp` against both sandboxes, with faults on the way (a
5xx, a killed session, an HTTP-200 "try again later", truncated XML, 429s and a 500 from
Mailchimp), then the failing paths: the tap with a wrong password, the target with a key
Mailchimp refuses, the target with a ledger whose passwords are query parameters
(`?password=...&sslpassword=...`). Every output is then scanned for the Intacct sender and
user passwords (also XML-escaped), every session id the Intacct sandbox issued, the ledger's
passwords and the Mailchimp key (also its secret part and its Basic-auth form), whole or as
any 12-character piece:
stdout and stderr of every process, Meltano's logs, run directory and system database (its
state included), the ledger database (every column of every table, and its raw file), the
audit trail, the HTML report, `--about` of both plugins, the run summary and the catalog.
"""

from __future__ import annotations

import base64
import html
import json
import os
import secrets
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from target_mailchimp.api.credentials import AUTH_USERNAME
from tests.e2e.conftest import REPO_ROOT, meltano_home, meltano_installed
from tests.sandbox.intacct import IntacctSandbox, generate_company
from tests.sandbox.launch import plugin_env
from tests.sandbox.loopback import free_port
from tests.sandbox.mailchimp import MailchimpSandbox

__all__ = ["meltano_home", "meltano_installed"]

pytestmark = pytest.mark.slow

STATE_ID = "sandbox:tap-intacct-to-target-mailchimp"
TAP_BIN = REPO_ROOT / ".meltano" / "extractors" / "tap-intacct" / "venv" / "bin" / "tap-intacct"
TARGET_VENV = REPO_ROOT / ".meltano" / "loaders" / "target-mailchimp" / "venv" / "bin"

SENDER_PASSWORD = f"SndrPw-{secrets.token_hex(10)}&<x>"
USER_PASSWORD = f"UsrPw-{secrets.token_hex(10)}'\"q"
WRONG_PASSWORD = f"WrongPw-{secrets.token_hex(10)}"
API_KEY = f"{secrets.token_hex(16)}-us6"
REFUSED_KEY = f"{secrets.token_hex(16)}-us6"
LEDGER_PASSWORD = f"LdgrPw-{secrets.token_hex(10)}"
SSL_PASSWORD = f"SslPw-{secrets.token_hex(10)}"


def _needles(secret: str) -> set[str]:
    """The secret, its XML-escaped form, and every 12-character piece of it."""
    out = {secret, html.escape(secret), html.escape(secret, quote=False)}
    out |= {secret[i : i + 12] for i in range(max(1, len(secret) - 11))}
    return {n for n in out if len(n) >= 12}


def _key_needles(key: str) -> set[str]:
    token = base64.b64encode(f"{AUTH_USERNAME}:{key}".encode()).decode()
    bare = base64.b64encode(key.encode()).decode()
    return _needles(key) | _needles(key.split("-", maxsplit=1)[0]) | {token, bare, f"Basic {token}"}


def _scan(outputs: dict[str, str | bytes], needles: dict[str, set[str]]) -> list[str]:
    leaks = []
    for where, text in outputs.items():
        data = text if isinstance(text, bytes) else text.encode("utf-8", "surrogateescape")
        for name, pieces in needles.items():
            for piece in pieces:
                if piece.encode() in data:
                    leaks.append(f"{name} (piece {piece[:4]}...) in {where}")
                    break
    return leaks


def _run(cmd: list[str], env: dict[str, str], **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        cmd, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=300, check=False, **kw
    )


def _database_dump(url: str) -> str:
    """Every column of every row of every table, as text."""
    engine = sa.create_engine(url)
    meta = sa.MetaData()
    meta.reflect(engine)
    parts = []
    with engine.connect() as conn:
        for table in meta.sorted_tables:
            for row in conn.execute(sa.select(table)):
                parts.append(f"{table.name}: {tuple(row)!r}")
    engine.dispose()
    assert parts, f"{url}: nothing in the database"
    return "\n".join(parts)


def _files_since(root: Path, started: float) -> dict[str, bytes]:
    out: dict[str, bytes] = {}
    if not root.exists():
        return out
    for path in root.rglob("*"):
        if path.is_file() and path.stat().st_mtime >= started - 1 and "venv" not in path.parts:
            out[str(path.relative_to(REPO_ROOT))] = path.read_bytes()
    return out


def test_no_secret_reaches_any_output(
    meltano_installed: Path, meltano_home: dict[str, str], tmp_path: Path
) -> None:
    started = time.time()
    company = generate_company(seed=31, customers=20, vendors=16, bills=40, payments=10)
    outputs: dict[str, str | bytes] = {}
    with (
        IntacctSandbox(
            company, sender_password=SENDER_PASSWORD, user_password=USER_PASSWORD
        ) as intacct,
        MailchimpSandbox(api_key=API_KEY, batch_start_delay=0.0) as mc,
    ):
        no_login = {"getAPISession"}
        intacct.faults.add("http_503", after=2, except_functions=no_login)
        intacct.faults.add("invalidate_session", after=4, except_functions=no_login)
        intacct.faults.add("try_again_later", after=6, except_functions=no_login)
        intacct.faults.add("truncated", after=8, except_functions=no_login)
        mc.faults.add("429", times=2)
        mc.faults.add("500", path_prefix="/ecommerce")

        tap_config = intacct.tap_config(max_retries=8)
        target_config = mc.target_config(status_if_new="subscribed", max_retries=8)
        env = {
            **os.environ,
            **plugin_env("TAP_INTACCT", tap_config),
            **plugin_env("TARGET_MAILCHIMP", target_config),
            **meltano_home,
        }
        meltano = [str(meltano_installed), "--environment", "sandbox"]
        run = _run([*meltano, "run", "tap-intacct", "target-mailchimp"], env)
        assert run.returncode == 0, run.stderr[-5000:]
        outputs["meltano run stdout"] = run.stdout
        outputs["meltano run stderr"] = run.stderr
        # the error paths really ran
        assert "retry" in run.stderr.lower()
        assert "logging in again" in run.stderr
        assert "Run summary" in run.stderr
        assert mc.member("shared@example.com") is not None or mc.count(writes_only=True) > 0

        state = _run([*meltano, "state", "get", STATE_ID], env)
        assert state.returncode == 0, state.stderr
        assert "bookmarks" in state.stdout
        outputs["meltano state get"] = state.stdout + state.stderr

        # the plugins on their own: discovery (the catalog), --about, and the failing paths
        (tmp_path / "tap.json").write_text(json.dumps(tap_config))
        (tmp_path / "target.json").write_text(json.dumps(target_config))
        plain = {k: v for k, v in os.environ.items() if not k.startswith(("TAP_", "TARGET_"))}
        catalog = _run([str(TAP_BIN), "--config", str(tmp_path / "tap.json"), "--discover"], plain)
        assert catalog.returncode == 0, catalog.stderr
        assert '"streams"' in catalog.stdout
        outputs["tap --discover"] = catalog.stdout + catalog.stderr
        for name, binary, cfg in (
            ("tap", TAP_BIN, "tap.json"),
            ("target", TARGET_VENV / "target-mailchimp", "target.json"),
        ):
            about = _run(
                [str(binary), "--about", "--format", "json", "--config", str(tmp_path / cfg)],
                plain,
            )
            assert about.returncode == 0, about.stderr
            assert '"settings"' in about.stdout
            outputs[f"{name} --about"] = about.stdout + about.stderr

        wrong = dict(tap_config, user_password=WRONG_PASSWORD, max_retries=1)
        (tmp_path / "wrong.json").write_text(json.dumps(wrong))
        failed_tap = _run([str(TAP_BIN), "--config", str(tmp_path / "wrong.json")], plain)
        assert failed_tap.returncode != 0
        assert "Sign-in" in failed_tap.stderr or "password" in failed_tap.stderr.lower()
        outputs["tap with a wrong password"] = failed_tap.stdout + failed_tap.stderr

        refused = dict(
            target_config,
            api_key=REFUSED_KEY,
            ledger_url=f"sqlite:///{tmp_path / 'refused.sqlite'}",
            max_retries=1,
        )
        failed_target = _target_alone(tmp_path / "refused.json", refused, plain)
        assert failed_target.returncode != 0
        assert "key" in failed_target.stderr.lower()
        outputs["target with a refused key"] = failed_target.stdout + failed_target.stderr

        # A ledger password given as query parameters (password=, sslpassword=), not userinfo:
        # masked at run start and in the error of a ledger that cannot be opened.
        query_form = dict(
            target_config,
            ledger_url=(
                f"postgresql+psycopg://intacct@127.0.0.1:{free_port()}/ledger"
                f"?password={LEDGER_PASSWORD}&sslpassword={SSL_PASSWORD}"
            ),
            max_retries=1,
        )
        failed_ledger = _target_alone(tmp_path / "query.json", query_form, plain)
        assert failed_ledger.returncode != 0
        assert "ledger" in failed_ledger.stderr.lower()
        outputs["target with query-string ledger passwords"] = (
            failed_ledger.stdout + failed_ledger.stderr
        )

        session_ids = {s.id for s in intacct.sessions.all()}
        assert len(session_ids) >= 2, "the killed session was not replaced"

    ledger_url = meltano_home["TARGET_MAILCHIMP_LEDGER_URL"]
    outputs["ledger (all tables, all columns)"] = _database_dump(ledger_url)
    outputs["ledger file"] = Path(ledger_url.removeprefix("sqlite:///")).read_bytes()
    outputs["refused run's ledger"] = (tmp_path / "refused.sqlite").read_bytes()
    meltano_db = meltano_home["MELTANO_DATABASE_URI"]
    outputs["meltano system database"] = _database_dump(meltano_db)
    outputs["meltano database file"] = Path(meltano_db.removeprefix("sqlite:///")).read_bytes()

    report = tmp_path / "report.html"
    rendered = _run(
        [
            str(TARGET_VENV / "target-mailchimp-report"),
            "--ledger-url",
            ledger_url,
            "--output",
            str(report),
        ],
        dict(os.environ),
    )
    assert rendered.returncode == 0, rendered.stderr
    outputs["report html"] = report.read_text("utf-8")
    outputs["report cli"] = rendered.stdout + rendered.stderr
    assert "rejected" in outputs["report html"].lower()  # type: ignore[union-attr]

    for name, data in _files_since(REPO_ROOT / ".meltano" / "logs", started).items():
        outputs[name] = data
    for name, data in _files_since(REPO_ROOT / ".meltano" / "run", started).items():
        if name.endswith(".config.json"):
            continue  # the plugin's input, written by Meltano with the settings it needs
        outputs[name] = data

    needles = {
        "Intacct sender password": _needles(SENDER_PASSWORD),
        "Intacct user password": _needles(USER_PASSWORD),
        "the wrong user password": _needles(WRONG_PASSWORD),
        "Mailchimp API key": _key_needles(API_KEY),
        "the refused Mailchimp key": _key_needles(REFUSED_KEY),
        "ledger password (query form)": _needles(LEDGER_PASSWORD),
        "ledger sslpassword (query form)": _needles(SSL_PASSWORD),
        **{f"Intacct session {sid[:4]}...": _needles(sid) for sid in session_ids},
    }
    assert _scan(outputs, needles) == []
    # the scan itself works: it finds what it looks for
    planted = {"planted": f"log line with {API_KEY[5:20]} in it"}
    assert _scan(planted, {"key": _key_needles(API_KEY)}) != []


def _target_alone(
    config_path: Path, config: dict[str, Any], env: dict[str, str]
) -> subprocess.CompletedProcess[str]:
    """The target's command on `config` (written to `config_path`) and a one-customer input."""
    config_path.write_text(json.dumps(config))
    return _run(
        [str(TARGET_VENV / "target-mailchimp"), "--config", str(config_path)],
        env,
        input=catalog_free_input(),
    )


def catalog_free_input() -> str:
    """A small Singer input for the target: one customer."""
    schema = {
        "type": "SCHEMA",
        "stream": "customers",
        "key_properties": ["RECORDNO"],
        "schema": json.loads(
            (REPO_ROOT / "tap-intacct" / "tap_intacct" / "schemas" / "customers.json").read_text()
        ),
    }
    record = {
        "type": "RECORD",
        "stream": "customers",
        "record": {
            "RECORDNO": 1,
            "CUSTOMERID": "C1",
            "NAME": "One",
            "STATUS": "active",
            "DISPLAYCONTACT": {"EMAIL1": "one@example.com"},
            "WHENMODIFIED": "2024-03-01T10:00:00+00:00",
        },
    }
    return json.dumps(schema) + "\n" + json.dumps(record) + "\n"
