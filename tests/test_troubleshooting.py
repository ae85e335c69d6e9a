"""Every row of the "Errors that stop a run" table (docs/troubleshooting.md), made to happen.

Each scenario runs the real program in a subprocess (the tap, the target or the report) with
a bad setting or against a sandbox made to fail, and checks what a user sees: exit code 1,
the message the table quotes in stderr's last line, and no traceback. The sandboxes run in
this process; the programs reach them over loopback. Two rows need a little help: the
"deselect it in the catalog" one runs the tap's real command with a schema that mistypes a
field (as a company's custom field can be), and "request XML rejected" comes from a server
that answers with Sage's own fixture of that failure.
"""

from __future__ import annotations

import http.server
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from target_mailchimp.ledger import Ledger
from tests.sandbox.intacct import IntacctSandbox
from tests.sandbox.intacct.data import generate_company
from tests.sandbox.loopback import free_port
from tests.sandbox.mailchimp import MailchimpSandbox
from tests.target_mailchimp.test_target_kit import Singer, bill, customer, vendor
from tests.test_docs import DOCS, _code_literal, _subsections, _tables

REPO_ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def stopping_rows() -> list[tuple[str, str]]:
    """(message, raised by) of every row of 'Errors that stop a run'."""
    section = next(
        s
        for s in _subsections("Troubleshooting", DOCS / "troubleshooting.md")
        if s.title == "Errors that stop a run"
    )
    rows = []
    for header, body in _tables(section.body):
        by = header.index("Raised by")
        for row in body:
            message = _code_literal(row[0])
            assert message
            rows.append((message, row[by]))
    return rows


# --------------------------------------------------------------------------- running programs


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.endswith("_DEBUG")}
    env.pop("LOGLEVEL", None)
    env.update(extra)
    return env


def run_tap(
    tmp_path: Path, config: dict[str, Any], *args: str, **env: str
) -> subprocess.CompletedProcess[str]:
    cfg = tmp_path / "tap-config.json"
    cfg.write_text(json.dumps(config))
    return subprocess.run(
        [str(BIN / "tap-intacct"), "--config", str(cfg), *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=_env(**env),
        timeout=120,
        check=False,
    )


def run_target(
    tmp_path: Path, config: dict[str, Any], singer: str, **env: str
) -> subprocess.CompletedProcess[str]:
    cfg = tmp_path / "target-config.json"
    cfg.write_text(json.dumps(config))
    return subprocess.run(
        [str(BIN / "target-mailchimp"), "--config", str(cfg)],
        input=singer,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=_env(**env),
        timeout=120,
        check=False,
    )


def run_report(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(BIN / "target-mailchimp-report"), *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=_env(),
        timeout=120,
        check=False,
    )


def last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


# --------------------------------------------------------------------------- sandboxes


@pytest.fixture(scope="module")
def company() -> Any:
    return generate_company(seed=3, customers=6, vendors=4, bills=6, payments=3)


@pytest.fixture
def intacct(company: Any) -> Iterator[IntacctSandbox]:
    with IntacctSandbox(company) as sb:
        yield sb


@pytest.fixture
def mailchimp() -> Iterator[MailchimpSandbox]:
    with MailchimpSandbox(batch_start_delay=0.0) as sb:
        yield sb


def tap_cfg(sb: IntacctSandbox, **overrides: Any) -> dict[str, Any]:
    return sb.tap_config(**{"max_retries": 0, "request_timeout": 5, **overrides})


def target_cfg(sb: MailchimpSandbox, tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    base = {
        "status_if_new": "subscribed",
        "ledger_url": f"sqlite:///{tmp_path / 'ledger.sqlite'}",
        "max_retries": 0,
        "request_timeout": 5,
        "batch_poll_interval": 0.01,
    }
    return sb.target_config(**{**base, **overrides})


def contacts() -> str:
    s = Singer().record("customers", customer(1, "C1", "c1@example.com"))
    s.record("vendors", vendor(2, "V2", "v2@example.com"))
    return s.text()


def with_bill() -> str:
    s = Singer().record("vendors", vendor(2, "V2", "v2@example.com"))
    s.record("ap_bills", bill(4, "V2"))
    return s.text()


class _Redirect(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.send_response(302)
        self.send_header("Location", "https://elsewhere.example/ia/xml/xmlgw.phtml")
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        del format, args


class _Fixture(http.server.BaseHTTPRequestHandler):
    body = b""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "text/xml; charset=utf-8")
        self.send_header("Content-Length", str(len(self.body)))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, format: str, *args: Any) -> None:
        del format, args


@pytest.fixture
def fixture_server() -> Iterator[Callable[[str], str]]:
    """A gateway that answers every request with one vendored Intacct fixture."""
    servers: list[http.server.ThreadingHTTPServer] = []

    def serve(name: str) -> str:
        body = (REPO_ROOT / "tests/sandbox/reference/intacct-fixtures" / name).read_bytes()
        handler = type("Handler", (_Fixture,), {"body": body})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}/ia/xml/xmlgw.phtml"

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def redirecting_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Redirect)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/ia/xml/xmlgw.phtml"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


# --------------------------------------------------------------------------- scenarios

Scenario = Callable[[pytest.FixtureRequest, Path], subprocess.CompletedProcess[str]]
SCENARIOS: dict[str, Scenario] = {}


def scenario(message: str) -> Callable[[Scenario], Scenario]:
    def register(fn: Scenario) -> Scenario:
        SCENARIOS[message] = fn
        return fn

    return register


def _fx(request: pytest.FixtureRequest, name: str) -> Any:
    return request.getfixturevalue(name)


@scenario("sender credentials refused")
def _sender_refused(request: pytest.FixtureRequest, tmp: Path) -> Any:
    sb = _fx(request, "intacct")
    return run_tap(tmp, tap_cfg(sb, sender_password="not-the-password"))


@scenario("sender not authorized for this company")
def _sender_unauthorized(request: pytest.FixtureRequest, tmp: Path) -> Any:
    sb = _fx(request, "intacct")
    sb.authorized_senders.clear()
    return run_tap(tmp, tap_cfg(sb))


@scenario("login refused")
def _login_refused(request: pytest.FixtureRequest, tmp: Path) -> Any:
    sb = _fx(request, "intacct")
    return run_tap(tmp, tap_cfg(sb, user_password="not-the-password"))


@scenario("authentication refused")
def _auth_refused(request: pytest.FixtureRequest, tmp: Path) -> Any:
    sb = _fx(request, "intacct")
    return run_tap(tmp, tap_cfg(sb, entity_id="NO-SUCH-ENTITY"))


@scenario("invalid session")
def _invalid_session(request: pytest.FixtureRequest, tmp: Path) -> Any:
    sb = _fx(request, "intacct")
    sb.faults.every("invalidate_session", k=1, functions={"query"})
    return run_tap(tmp, tap_cfg(sb))


@scenario("request XML rejected")
def _xml_rejected(request: pytest.FixtureRequest, tmp: Path) -> Any:
    # Sage's own answer to a request that breaks the schema (vendored fixture), from a
    # server that answers every request with it.
    url = _fx(request, "fixture_server")("execXMLError.xml")
    return run_tap(tmp, tap_cfg(_fx(request, "intacct"), api_url=url))


@scenario("too many requests")
def _throttled(request: pytest.FixtureRequest, tmp: Path) -> Any:
    sb = _fx(request, "intacct")
    sb.faults.every("http_429", k=1)
    return run_tap(tmp, tap_cfg(sb))


@scenario("connection refused")
def _refused(request: pytest.FixtureRequest, tmp: Path) -> Any:
    sb = _fx(request, "intacct")
    url = f"http://127.0.0.1:{free_port()}/ia/xml/xmlgw.phtml"
    return run_tap(tmp, tap_cfg(sb, api_url=url))


@scenario("no answer within")
def _timeout(request: pytest.FixtureRequest, tmp: Path) -> Any:
    sb = _fx(request, "intacct")
    sb.faults.every("timeout", k=1, seconds=3.0)
    return run_tap(tmp, tap_cfg(sb, request_timeout=0.5))


@scenario("the CDN timed out (524)")
def _cdn_524(request: pytest.FixtureRequest, tmp: Path) -> Any:
    sb = _fx(request, "intacct")
    sb.faults.every("http_524", k=1, functions={"query"})
    return run_tap(tmp, tap_cfg(sb))


@scenario("redirected to")
def _redirected(request: pytest.FixtureRequest, tmp: Path) -> Any:
    sb = _fx(request, "intacct")
    return run_tap(tmp, tap_cfg(sb, api_url=_fx(request, "redirecting_server")))


@scenario("the body is an HTML page, not a gateway response")
def _html(request: pytest.FixtureRequest, tmp: Path) -> Any:
    sb = _fx(request, "intacct")
    sb.faults.every("cdn_error_200", k=1)
    return run_tap(tmp, tap_cfg(sb))


@scenario("function failed")
def _function_failed(request: pytest.FixtureRequest, tmp: Path) -> Any:
    # A custom field that no longer exists in the company, still in the catalog.
    sb = _fx(request, "intacct")
    config = tap_cfg(sb, include_custom_fields=True)
    discovered = run_tap(tmp, config, "--discover")
    assert discovered.returncode == 0, discovered.stderr
    catalog = json.loads(discovered.stdout)
    for entry in catalog["streams"]:
        if entry["tap_stream_id"] == "customers":
            entry["schema"]["properties"]["GONE_FIELD"] = {"type": ["string", "null"]}
            entry["metadata"].append(
                {"breadcrumb": ["properties", "GONE_FIELD"], "metadata": {"selected": True}}
            )
    (tmp / "catalog.json").write_text(json.dumps(catalog))
    return run_tap(tmp, config, "--catalog", str(tmp / "catalog.json"))


@scenario("If the field is not needed, deselect it in the catalog.")
def _value_misfit(request: pytest.FixtureRequest, tmp: Path) -> Any:
    # The real command, with a schema that types VENDORID (text in Intacct) as a number,
    # as a company's custom field typed differently from its values would be.
    sb = _fx(request, "intacct")
    (tmp / "tap-config.json").write_text(json.dumps(tap_cfg(sb)))
    script = (
        "import tap_intacct.tap as m\n"
        "original = m.bundled_schema\n"
        "def schema(name):\n"
        "    s = original(name)\n"
        "    if name == 'vendors':\n"
        "        s['properties']['VENDORID'] = {'type': ['number', 'null']}\n"
        "    return s\n"
        "m.bundled_schema = schema\n"
        "m.TapIntacct.cli(['--config', 'tap-config.json'])\n"
    )
    return subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        cwd=tmp,
        env=_env(),
        timeout=120,
        check=False,
    )


@scenario("Unknown timezone")
def _timezone(request: pytest.FixtureRequest, tmp: Path) -> Any:
    sb = _fx(request, "intacct")
    return run_tap(tmp, tap_cfg(sb, timezone="Mars/Olympus_Mons"))


@scenario("Config validation failed")
def _config_invalid(request: pytest.FixtureRequest, tmp: Path) -> Any:
    sb = _fx(request, "intacct")
    config = tap_cfg(sb)
    del config["sender_id"]
    return run_tap(tmp, config)


@scenario("api_url uses plain http for a host that is not loopback")
def _tap_plain_http(request: pytest.FixtureRequest, tmp: Path) -> Any:
    sb = _fx(request, "intacct")
    return run_tap(tmp, tap_cfg(sb, api_url="http://api.example.com/ia/xml/xmlgw.phtml"))


# target-mailchimp


@scenario("has no data center suffix")
def _no_dc(request: pytest.FixtureRequest, tmp: Path) -> Any:
    sb = _fx(request, "mailchimp")
    return run_target(tmp, target_cfg(sb, tmp, api_key="abcdef", api_url=None), contacts())


@scenario("contains spaces or control characters")
def _key_spaces(request: pytest.FixtureRequest, tmp: Path) -> Any:
    sb = _fx(request, "mailchimp")
    return run_target(tmp, target_cfg(sb, tmp, api_key="abc def-us6"), contacts())


@scenario("uses plain http for a host that is not loopback")
def _target_plain_http(request: pytest.FixtureRequest, tmp: Path) -> Any:
    sb = _fx(request, "mailchimp")
    cfg = target_cfg(sb, tmp, api_url="http://us6.api.example.com/3.0")
    return run_target(tmp, cfg, contacts())


@scenario("setting 'status_if_new' is required")
def _no_consent(request: pytest.FixtureRequest, tmp: Path) -> Any:
    sb = _fx(request, "mailchimp")
    cfg = target_cfg(sb, tmp)
    cfg.pop("status_if_new", None)
    cfg.pop("vendor_status_if_new", None)
    return run_target(tmp, cfg, contacts())


@scenario("Mailchimp refused the request")
def _key_refused(request: pytest.FixtureRequest, tmp: Path) -> Any:
    sb = _fx(request, "mailchimp")
    return run_target(tmp, target_cfg(sb, tmp, api_key="0" * 32 + "-us6"), contacts())


@scenario("Mailchimp has no audience")
def _no_audience(request: pytest.FixtureRequest, tmp: Path) -> Any:
    sb = _fx(request, "mailchimp")
    return run_target(tmp, target_cfg(sb, tmp, list_id="nosuchlist"), contacts())


@scenario("a Mailchimp store is tied to one audience for good")
def _store_elsewhere(request: pytest.FixtureRequest, tmp: Path) -> Any:
    sb = _fx(request, "mailchimp")
    other = sb.add_list(name="Another Audience")
    store = {"id": "intacct", "list_id": other, "name": "Shop", "currency_code": "USD"}
    assert sb.call("POST", "/ecommerce/stores", body=store).status == 200
    return run_target(tmp, target_cfg(sb, tmp), with_bill())


@scenario("could not be made ready")
def _store_not_ready(request: pytest.FixtureRequest, tmp: Path) -> Any:
    sb = _fx(request, "mailchimp")
    sb.faults.add("400", times=None, path_prefix="/ecommerce/stores", method="POST")
    return run_target(tmp, target_cfg(sb, tmp), with_bill())


@scenario("could not be created in audience")
def _merge_field_refused(request: pytest.FixtureRequest, tmp: Path) -> Any:
    sb = _fx(request, "mailchimp")
    merge_fields = f"/lists/{sb.list_id}/merge-fields"
    sb.faults.add("400", times=None, path_prefix=merge_fields, method="POST")
    cfg = target_cfg(sb, tmp, merge_fields={"PHONE2": "DISPLAYCONTACT.PHONE2"})
    return run_target(tmp, cfg, contacts())


@scenario("poll it again later or raise the deadline")
def _batch_deadline(request: pytest.FixtureRequest, tmp: Path) -> Any:
    sb = _fx(request, "mailchimp")
    sb.pause_batches()
    try:
        cfg = target_cfg(sb, tmp, batch_operations="always", batch_timeout=0.5)
        return run_target(tmp, cfg, contacts())
    finally:
        sb.resume_batches()


@scenario("is not a valid merge tag")
def _bad_merge_tag(request: pytest.FixtureRequest, tmp: Path) -> Any:
    sb = _fx(request, "mailchimp")
    cfg = target_cfg(sb, tmp, merge_fields={"bad tag!": "DISPLAYCONTACT.PHONE2"})
    return run_target(tmp, cfg, contacts())


@scenario("Mailchimp could not be reached or kept failing after every retry")
def _mailchimp_unreachable(request: pytest.FixtureRequest, tmp: Path) -> Any:
    sb = _fx(request, "mailchimp")
    cfg = target_cfg(sb, tmp, api_url=f"http://127.0.0.1:{free_port()}/3.0")
    return run_target(tmp, cfg, contacts())


@scenario("Two runs must not write to one ledger at the same time")
def _ledger_busy(request: pytest.FixtureRequest, tmp: Path) -> Any:
    sb = _fx(request, "mailchimp")
    cfg = target_cfg(sb, tmp)
    ledger = Ledger(cfg["ledger_url"], heartbeat_interval=None)
    ledger.lock.start_run()
    try:
        return run_target(tmp, cfg, contacts())
    finally:
        ledger.close()


@scenario("lost its lock")
def _lock_lost(request: pytest.FixtureRequest, tmp: Path) -> Any:
    # The run waits for input; meanwhile another run takes the ledger's lock over (as after
    # a stall of more than 10 minutes); the run's next write finds it gone.
    sb = _fx(request, "mailchimp")
    cfg = target_cfg(sb, tmp)
    (tmp / "target-config.json").write_text(json.dumps(cfg))
    proc = subprocess.Popen(
        [str(BIN / "target-mailchimp"), "--config", str(tmp / "target-config.json")],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp,
        env=_env(),
    )
    assert proc.stdin is not None
    first, _, rest = contacts().partition("\n")
    proc.stdin.write(first + "\n")
    proc.stdin.flush()
    engine = sa.create_engine(cfg["ledger_url"])
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.communicate()[1]
            assert time.monotonic() < deadline, "the run never took the lock"
            with engine.begin() as conn:
                tables = sa.inspect(conn).get_table_names()
                lock_table = next((t for t in tables if "lock" in t), None)
                taken = (
                    lock_table
                    and conn.execute(
                        sa.text(f"UPDATE {lock_table} SET run_id = 'another-run'")
                    ).rowcount
                )
            if taken:
                break
            time.sleep(0.05)
    finally:
        engine.dispose()
    out, err = proc.communicate(rest, timeout=120)
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


@scenario("its database driver")
def _no_driver(request: pytest.FixtureRequest, tmp: Path) -> Any:
    sb = _fx(request, "mailchimp")
    url = "mysql+mysqldb://sync:secret@127.0.0.1/ledger"
    return run_target(tmp, target_cfg(sb, tmp, ledger_url=url), contacts())


@scenario("cannot open the ledger")
def _ledger_unreachable(request: pytest.FixtureRequest, tmp: Path) -> Any:
    sb = _fx(request, "mailchimp")
    url = f"postgresql+psycopg://sync:secret@127.0.0.1:{free_port()}/ledger"
    return run_target(tmp, target_cfg(sb, tmp, ledger_url=url), contacts())


@scenario("the ledger at ledger_url cannot be opened")
def _ledger_bad_url(request: pytest.FixtureRequest, tmp: Path) -> Any:
    sb = _fx(request, "mailchimp")
    return run_target(tmp, target_cfg(sb, tmp, ledger_url="not a url"), contacts())


@scenario("newer than this target-mailchimp understands")
def _ledger_newer(request: pytest.FixtureRequest, tmp: Path) -> Any:
    sb = _fx(request, "mailchimp")
    cfg = target_cfg(sb, tmp)
    Ledger(cfg["ledger_url"], heartbeat_interval=None).close()
    engine = sa.create_engine(cfg["ledger_url"])
    with engine.begin() as conn:
        tables = sa.inspect(conn).get_table_names()
        meta = next(t for t in tables if "meta" in t)
        conn.execute(sa.text(f"UPDATE {meta} SET value = '999'"))
    engine.dispose()
    return run_target(tmp, cfg, contacts())


@scenario("more than max_rejected_records")
def _too_many_rejected(request: pytest.FixtureRequest, tmp: Path) -> Any:
    sb = _fx(request, "mailchimp")
    s = Singer().record("customers", customer(1, "C1", "not-an-email"))
    return run_target(tmp, target_cfg(sb, tmp, max_rejected_records=0), s.text())


@scenario("is not a Singer message")
def _bad_json(request: pytest.FixtureRequest, tmp: Path) -> Any:
    sb = _fx(request, "mailchimp")
    return run_target(tmp, target_cfg(sb, tmp), contacts() + "this is not json\n")


@scenario("unknown setting")
def _target_unknown_setting(request: pytest.FixtureRequest, tmp: Path) -> Any:
    sb = _fx(request, "mailchimp")
    return run_target(tmp, target_cfg(sb, tmp, status_if_neww="pending"), contacts())


@scenario("BATCH message")
def _batch_format(request: pytest.FixtureRequest, tmp: Path) -> Any:
    sb = _fx(request, "mailchimp")
    batch = {
        "type": "BATCH",
        "stream": "customers",
        "encoding": {"format": "parquet", "compression": "none"},
        "manifest": [str(tmp / "customers.parquet")],
    }
    return run_target(tmp, target_cfg(sb, tmp), contacts() + json.dumps(batch) + "\n")


@scenario("does not accept the stream")
def _unknown_stream(request: pytest.FixtureRequest, tmp: Path) -> Any:
    sb = _fx(request, "mailchimp")
    schema = {"type": "object", "properties": {"id": {"type": "integer"}}}
    lines = [
        {"type": "SCHEMA", "stream": "gl_accounts", "schema": schema, "key_properties": ["id"]},
        {"type": "RECORD", "stream": "gl_accounts", "record": {"id": 1}},
    ]
    text = "".join(json.dumps(line) + "\n" for line in lines)
    return run_target(tmp, target_cfg(sb, tmp), text)


@scenario("has no runs yet")
def _report_no_runs(request: pytest.FixtureRequest, tmp: Path) -> Any:
    url = f"sqlite:///{tmp / 'ledger.sqlite'}"
    Ledger(url, heartbeat_interval=None).close()
    return run_report(tmp, "--ledger-url", url, "--output", str(tmp / "r.html"))


@scenario("no ledger at")
def _report_no_ledger(request: pytest.FixtureRequest, tmp: Path) -> Any:
    url = f"sqlite:///{tmp / 'missing.sqlite'}"
    return run_report(tmp, "--ledger-url", url, "--output", str(tmp / "r.html"))


# --------------------------------------------------------------------------- the tests


def test_every_row_has_a_scenario() -> None:
    rows = {message for message, _ in stopping_rows()}
    missing = sorted(rows - set(SCENARIOS))
    assert not missing, f"troubleshooting rows without a scenario here: {missing}"
    stale = sorted(set(SCENARIOS) - rows)
    assert not stale, f"scenarios for messages the table no longer quotes: {stale}"


@pytest.mark.parametrize(("message", "raised_by"), stopping_rows())
def test_row_ends_the_run_with_its_message(
    message: str, raised_by: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    proc = SCENARIOS[message](request, tmp_path)
    err = proc.stderr
    assert proc.returncode == 1, f"exit {proc.returncode}\n{err[-3000:]}"
    assert "Traceback" not in err, err[-3000:]
    last = last_line(err)
    assert message in last, f"last line: {last!r}\n{err[-3000:]}"
    if raised_by in ("tap-intacct", "target-mailchimp"):
        assert f"| {raised_by} stopped: " in last


def test_debug_variable_brings_the_traceback_back(
    intacct: IntacctSandbox, mailchimp: MailchimpSandbox, tmp_path: Path
) -> None:
    tap = run_tap(tmp_path, tap_cfg(intacct, user_password="wrong"), TAP_INTACCT_DEBUG="1")
    assert tap.returncode != 0
    assert "Traceback" in tap.stderr and "LoginError" in tap.stderr
    target = run_target(
        tmp_path, target_cfg(mailchimp, tmp_path), "not json\n", TARGET_MAILCHIMP_DEBUG="1"
    )
    assert target.returncode != 0
    assert "Traceback" in target.stderr
    known = run_target(
        tmp_path,
        target_cfg(mailchimp, tmp_path, api_key="abcdef", api_url=None),
        contacts(),
        TARGET_MAILCHIMP_DEBUG="1",
    )
    assert known.returncode != 0
    assert "Traceback" in known.stderr and "has no data center suffix" in known.stderr
