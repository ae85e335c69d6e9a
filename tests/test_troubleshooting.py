"""Every row of the "Errors that stop a run" table (docs/troubleshooting.md), made to happen.

Each scenario runs the real program in a subprocess (the tap, the target or the report) with
a bad setting or against a sandbox made to fail, and checks what a user sees: exit code 1,
the message the table quotes in stderr's last line, and no traceback. The sandboxes run in
this process; the programs reach them over loopback. Two rows need a little help: the
"deselect it in the catalog" one runs the tap's real command with a schema that mistypes a
field (as a company's custom field can be), and "request XML rejected" comes from a server
that answers with Sage's own fixture of that failure.

`SCENARIOS` is the table: each row's quoted message and how to provoke it. Most rows are a
`Run` (the program, settings over a working config, a prepared sandbox, the target's input);
the few that need more (a catalog, a held lock, a paused batch) are functions.
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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import pytest
import sqlalchemy as sa

from target_mailchimp.ledger import Ledger
from tests.run_support import run_captured
from tests.sandbox.intacct import IntacctSandbox
from tests.sandbox.intacct.data import generate_company
from tests.sandbox.loopback import free_port
from tests.sandbox.mailchimp import MailchimpSandbox
from tests.target_mailchimp.test_target_kit import Singer, bill, customer, target_config, vendor
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


def run_program(
    tmp_path: Path, command: list[str], stdin: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """`command` in `tmp_path`, without debug variables (plus `env`), its output captured."""
    return run_captured(command, cwd=tmp_path, env=_env(**env), stdin=stdin, timeout=120)


def run_tap(
    tmp_path: Path, config: dict[str, Any], *args: str, **env: str
) -> subprocess.CompletedProcess[str]:
    cfg = tmp_path / "tap-config.json"
    cfg.write_text(json.dumps(config))
    return run_program(tmp_path, [str(BIN / "tap-intacct"), "--config", str(cfg), *args], **env)


def run_target(
    tmp_path: Path, config: dict[str, Any], singer: str, **env: str
) -> subprocess.CompletedProcess[str]:
    cfg = tmp_path / "target-config.json"
    cfg.write_text(json.dumps(config))
    return run_program(
        tmp_path, [str(BIN / "target-mailchimp"), "--config", str(cfg)], singer, **env
    )


def run_report(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_program(tmp_path, [str(BIN / "target-mailchimp-report"), *args])


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
    """The kit's sandbox config, without retries and with the target's own batch timeout."""
    return target_config(sb, tmp_path, **{"max_retries": 0, "batch_timeout": 1800.0, **overrides})


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

#: A setting value that removes the setting from the config.
DROP = object()
#: A setting value computed when the row runs, from the test's fixtures.
Computed = Callable[[pytest.FixtureRequest], Any]
#: Readies the sandbox (and its ledger) before the program runs: (sandbox, config).
Prepare = Callable[[Any, dict[str, Any]], object]
#: A row that needs more than a config, a sandbox and an input: it runs the program itself.
Custom = Callable[[pytest.FixtureRequest, Path], subprocess.CompletedProcess[str]]


@dataclass(frozen=True)
class Run:
    """Run `program` against its sandbox, with `settings` over the working config."""

    program: Literal["tap", "target"]
    #: Setting -> value (a `Computed` is called with the test's request; DROP removes it).
    settings: dict[str, Any] = field(default_factory=dict)
    prepare: Prepare | None = None
    #: The target's input.
    singer: Callable[[], str] = contacts


def tap(prepare: Prepare | None = None, **settings: Any) -> Run:
    return Run("tap", settings, prepare)


def target(
    prepare: Prepare | None = None, singer: Callable[[], str] = contacts, **settings: Any
) -> Run:
    return Run("target", settings, prepare, singer)


def fault(kind: str, **options: Any) -> Prepare:
    """The Intacct sandbox answers every request (or every `functions` call) with `kind`."""
    return lambda sb, _config: sb.faults.every(kind, k=1, **options)


def refuse(path: Callable[[Any], str]) -> Prepare:
    """The Mailchimp sandbox answers every POST under `path(sandbox)` with a 400."""
    return lambda sb, _config: sb.faults.add("400", times=None, path_prefix=path(sb), method="POST")


def unused_port(path: str) -> Computed:
    """A loopback URL on which nothing listens."""
    return lambda _request: f"http://127.0.0.1:{free_port()}{path}"


def fixture(name: str, *args: Any) -> Computed:
    """The value of a fixture (called with `args` when it is a factory)."""

    def value(request: pytest.FixtureRequest) -> Any:
        found = request.getfixturevalue(name)
        return found(*args) if args else found

    return value


def provoke(how: Run | Custom, request: pytest.FixtureRequest, tmp: Path) -> Any:
    if not isinstance(how, Run):
        return how(request, tmp)
    sb = request.getfixturevalue("intacct" if how.program == "tap" else "mailchimp")
    settings = {
        key: value(request) if callable(value) else value
        for key, value in how.settings.items()
        if value is not DROP
    }
    config = tap_cfg(sb, **settings) if how.program == "tap" else target_cfg(sb, tmp, **settings)
    for key in (key for key, value in how.settings.items() if value is DROP):
        config.pop(key, None)
    if how.prepare is not None:
        how.prepare(sb, config)
    if how.program == "tap":
        return run_tap(tmp, config)
    return run_target(tmp, config, how.singer())


def _store_in_another_audience(sb: MailchimpSandbox, _config: dict[str, Any]) -> None:
    other = sb.add_list(name="Another Audience")
    store = {"id": "intacct", "list_id": other, "name": "Shop", "currency_code": "USD"}
    assert sb.call("POST", "/ecommerce/stores", body=store).status == 200


def _ledger_of_a_newer_version(_sb: MailchimpSandbox, config: dict[str, Any]) -> None:
    Ledger(config["ledger_url"], heartbeat_interval=None).close()
    engine = sa.create_engine(config["ledger_url"])
    with engine.begin() as conn:
        tables = sa.inspect(conn).get_table_names()
        meta = next(t for t in tables if "meta" in t)
        conn.execute(sa.text(f"UPDATE {meta} SET value = '999'"))
    engine.dispose()


def _one_bad_email() -> str:
    return Singer().record("customers", customer(1, "C1", "not-an-email")).text()


def _unknown_stream_input() -> str:
    schema = {"type": "object", "properties": {"id": {"type": "integer"}}}
    lines = [
        {"type": "SCHEMA", "stream": "gl_accounts", "schema": schema, "key_properties": ["id"]},
        {"type": "RECORD", "stream": "gl_accounts", "record": {"id": 1}},
    ]
    return "".join(json.dumps(line) + "\n" for line in lines)


def _function_failed(request: pytest.FixtureRequest, tmp: Path) -> Any:
    # A custom field that no longer exists in the company, still in the catalog.
    sb = request.getfixturevalue("intacct")
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


def _value_misfit(request: pytest.FixtureRequest, tmp: Path) -> Any:
    # The real command, with a schema that types VENDORID (text in Intacct) as a number,
    # as a company's custom field typed differently from its values would be.
    sb = request.getfixturevalue("intacct")
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
    return run_program(tmp, [sys.executable, "-c", script])


def _batch_deadline(request: pytest.FixtureRequest, tmp: Path) -> Any:
    sb = request.getfixturevalue("mailchimp")
    sb.pause_batches()
    try:
        cfg = target_cfg(sb, tmp, batch_operations="always", batch_timeout=0.5)
        return run_target(tmp, cfg, contacts())
    finally:
        sb.resume_batches()


def _ledger_busy(request: pytest.FixtureRequest, tmp: Path) -> Any:
    cfg = target_cfg(request.getfixturevalue("mailchimp"), tmp)
    ledger = Ledger(cfg["ledger_url"], heartbeat_interval=None)
    ledger.lock.start_run()
    try:
        return run_target(tmp, cfg, contacts())
    finally:
        ledger.close()


def _lock_lost(request: pytest.FixtureRequest, tmp: Path) -> Any:
    # The run waits for input; meanwhile another run takes the ledger's lock over (as after
    # a stall of more than 10 minutes); the run's next write finds it gone.
    cfg = target_cfg(request.getfixturevalue("mailchimp"), tmp)
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


def _batch_format(request: pytest.FixtureRequest, tmp: Path) -> Any:
    batch = {
        "type": "BATCH",
        "stream": "customers",
        "encoding": {"format": "parquet", "compression": "none"},
        "manifest": [str(tmp / "customers.parquet")],
    }
    cfg = target_cfg(request.getfixturevalue("mailchimp"), tmp)
    return run_target(tmp, cfg, contacts() + json.dumps(batch) + "\n")


def _report_no_runs(_request: pytest.FixtureRequest, tmp: Path) -> Any:
    url = f"sqlite:///{tmp / 'ledger.sqlite'}"
    Ledger(url, heartbeat_interval=None).close()
    return run_report(tmp, "--ledger-url", url, "--output", str(tmp / "r.html"))


def _report_no_ledger(_request: pytest.FixtureRequest, tmp: Path) -> Any:
    url = f"sqlite:///{tmp / 'missing.sqlite'}"
    return run_report(tmp, "--ledger-url", url, "--output", str(tmp / "r.html"))


GATEWAY = "/ia/xml/xmlgw.phtml"

#: The quoted message of every row of "Errors that stop a run" -> how to make it happen.
SCENARIOS: dict[str, Run | Custom] = {
    # tap-intacct
    "sender credentials refused": tap(sender_password="not-the-password"),
    "sender not authorized for this company": tap(lambda sb, _: sb.authorized_senders.clear()),
    "login refused": tap(user_password="not-the-password"),
    "authentication refused": tap(entity_id="NO-SUCH-ENTITY"),
    "invalid session": tap(fault("invalidate_session", functions={"query"})),
    # Sage's own answer to a request that breaks the schema (vendored fixture), from a
    # server that answers every request with it.
    "request XML rejected": tap(api_url=fixture("fixture_server", "execXMLError.xml")),
    "too many requests": tap(fault("http_429")),
    "connection refused": tap(api_url=unused_port(GATEWAY)),
    "no answer within": tap(fault("timeout", seconds=3.0), request_timeout=0.5),
    "the CDN timed out (524)": tap(fault("http_524", functions={"query"})),
    "redirected to": tap(api_url=fixture("redirecting_server")),
    "the body is an HTML page, not a gateway response": tap(fault("cdn_error_200")),
    "function failed": _function_failed,
    "If the field is not needed, deselect it in the catalog.": _value_misfit,
    "Unknown timezone": tap(timezone="Mars/Olympus_Mons"),
    "Config validation failed": tap(sender_id=DROP),
    "api_url uses plain http for a host that is not loopback": tap(
        api_url="http://api.example.com" + GATEWAY
    ),
    # target-mailchimp
    "has no data center suffix": target(api_key="abcdef", api_url=None),
    "contains spaces or control characters": target(api_key="abc def-us6"),
    "uses plain http for a host that is not loopback": target(
        api_url="http://us6.api.example.com/3.0"
    ),
    "setting 'status_if_new' is required": target(status_if_new=DROP, vendor_status_if_new=DROP),
    "Mailchimp refused the request": target(api_key="0" * 32 + "-us6"),
    "Mailchimp has no audience": target(list_id="nosuchlist"),
    "a Mailchimp store is tied to one audience for good": target(
        _store_in_another_audience, singer=with_bill
    ),
    "could not be made ready": target(refuse(lambda _: "/ecommerce/stores"), singer=with_bill),
    "could not be created in audience": target(
        refuse(lambda sb: f"/lists/{sb.list_id}/merge-fields"),
        merge_fields={"PHONE2": "DISPLAYCONTACT.PHONE2"},
    ),
    "poll it again later or raise the deadline": _batch_deadline,
    "is not a valid merge tag": target(merge_fields={"bad tag!": "DISPLAYCONTACT.PHONE2"}),
    "Mailchimp could not be reached or kept failing after every retry": target(
        api_url=unused_port("/3.0")
    ),
    "Two runs must not write to one ledger at the same time": _ledger_busy,
    "lost its lock": _lock_lost,
    "its database driver": target(ledger_url="mysql+mysqldb://sync:secret@127.0.0.1/ledger"),
    "cannot open the ledger": target(
        ledger_url=lambda _: f"postgresql+psycopg://sync:secret@127.0.0.1:{free_port()}/ledger"
    ),
    "the ledger at ledger_url cannot be opened": target(ledger_url="not a url"),
    "newer than this target-mailchimp understands": target(_ledger_of_a_newer_version),
    "more than max_rejected_records": target(singer=_one_bad_email, max_rejected_records=0),
    "is not a Singer message": target(singer=lambda: contacts() + "this is not json\n"),
    "unknown setting": target(status_if_neww="pending"),
    "BATCH message": _batch_format,
    "does not accept the stream": target(singer=_unknown_stream_input),
    # target-mailchimp-report
    "has no runs yet": _report_no_runs,
    "no ledger at": _report_no_ledger,
}


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
    proc = provoke(SCENARIOS[message], request, tmp_path)
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
