"""The `target-mailchimp-report` command: ledger URL resolution, output, errors, exit codes."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import lxml.html
import pytest

from target_mailchimp.ledger import DEFAULT_LEDGER_URL
from target_mailchimp.report import main
from tests.target_mailchimp.test_report import GROUP_ACTIONS, RUNS, Built, build_ledger

PROG = "target-mailchimp-report"


@pytest.fixture
def built(tmp_path: Path) -> Built:
    return build_ledger(tmp_path / "ledger" / "ledger.sqlite")


def runs_shown(html: str) -> list[str]:
    tree = lxml.html.document_fromstring(html)
    return [b.get("data-run") for b in tree.xpath("//table[@class='runs']/tbody")]


def test_writes_the_page_and_says_where(
    built: Built, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out" / "report.html"
    out.parent.mkdir()
    assert main(["--ledger-url", built.url, "--output", str(out)]) == 0
    captured = capsys.readouterr()
    assert captured.out == ""
    assert str(out.resolve()) in captured.err
    assert "3 run(s)" in captured.err
    assert "5 rejected, failed or parked" in captured.err
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>")
    assert runs_shown(html) == list(reversed(built.run_ids))
    # A normal file (not private like a temp file), and no temp file left behind.
    mode = stat.S_IMODE(out.stat().st_mode)
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask
    assert [p.name for p in out.parent.iterdir()] == ["report.html"]


def test_default_output_and_default_ledger_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert DEFAULT_LEDGER_URL == "sqlite:///.target-mailchimp/ledger.sqlite"
    build_ledger(tmp_path / ".target-mailchimp" / "ledger.sqlite")
    monkeypatch.chdir(tmp_path)
    assert main([]) == 0
    out = tmp_path / "target-mailchimp-report.html"
    assert len(runs_shown(out.read_text(encoding="utf-8"))) == len(RUNS)
    assert str(out) in capsys.readouterr().err


def test_runs_limits_the_runs_shown(built: Built, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--ledger-url", built.url, "--runs", "1", "--output", "-"]) == 0
    captured = capsys.readouterr()
    assert runs_shown(captured.out) == [built.run_ids[-1]]
    assert "wrote the report of 1 run(s)" in captured.err
    assert "to stdout" in captured.err


def test_ledger_url_from_config_and_flag_wins(
    built: Built, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.json"
    config.write_text(
        json.dumps({"api_key": "0123456789abcdef0123456789abcdef-us6", "ledger_url": built.url})
    )
    assert main(["--config", str(config), "--output", "-"]) == 0
    captured = capsys.readouterr()
    assert runs_shown(captured.out) == list(reversed(built.run_ids))
    # Nothing else from the config reaches the output.
    assert "0123456789abcdef" not in captured.out + captured.err

    missing = f"sqlite:///{tmp_path / 'other.sqlite'}"
    assert main(["--config", str(config), "--ledger-url", missing, "--output", "-"]) == 1
    assert "no ledger at" in capsys.readouterr().err


def test_config_without_ledger_url_falls_back_to_the_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({"list_id": "abc"}))
    monkeypatch.chdir(tmp_path)
    assert main(["--config", str(config)]) == 1
    err = capsys.readouterr().err
    assert f"no ledger at {tmp_path / '.target-mailchimp' / 'ledger.sqlite'}" in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "config file {path} not found"),
        ("{not json", "config file {path} is not valid JSON"),
        ("[1, 2]", "config file {path} must hold a JSON object"),
        ('{"ledger_url": 5}', "ledger_url in {path} must be a database URL string"),
    ],
)
def test_bad_config_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | None, message: str
) -> None:
    path = tmp_path / "config.json"
    if content is not None:
        path.write_text(content)
    assert main(["--config", str(path), "--output", str(tmp_path / "r.html")]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"{PROG}: error: {message.format(path=path)}")
    assert "Traceback" not in err
    assert not (tmp_path / "r.html").exists()


def test_missing_ledger_is_a_clear_error_and_nothing_is_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ledger = tmp_path / "no-such-dir" / "ledger.sqlite"
    out = tmp_path / "r.html"
    assert main(["--ledger-url", f"sqlite:///{ledger}", "--output", str(out)]) == 1
    err = capsys.readouterr().err
    assert err == (
        f"{PROG}: error: no ledger at {ledger} (ledger URL sqlite:///{ledger}); run "
        "target-mailchimp first, or point --ledger-url or the ledger_url of --config at its "
        "ledger\n"
    )
    assert not ledger.parent.exists()
    assert not out.exists()


def test_ledger_without_runs_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from target_mailchimp.ledger import Ledger

    url = f"sqlite:///{tmp_path / 'l.sqlite'}"
    Ledger(url).close()
    assert main(["--ledger-url", url, "--output", str(tmp_path / "r.html")]) == 1
    assert "has no runs yet; run target-mailchimp first" in capsys.readouterr().err


def test_unwritable_output_is_a_clear_error(
    built: Built, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "missing-folder" / "r.html"
    assert main(["--ledger-url", built.url, "--output", str(out)]) == 1
    assert "folder" in capsys.readouterr().err


def test_password_never_shown(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("psycopg")
    url = "postgresql+psycopg://reporter:pa55-secret@127.0.0.1:1/ledger"
    assert main(["--ledger-url", url, "--output", str(tmp_path / "r.html")]) == 1
    err = capsys.readouterr().err
    assert "pa55-secret" not in err
    assert "reporter:***@" in err


def test_not_a_url_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--ledger-url", "user:pw at somewhere", "--output", "-"]) == 1
    err = capsys.readouterr().err
    assert "is not a database URL" in err
    assert "pw at somewhere" not in err


@pytest.mark.parametrize("value", ["0", "-3", "ten"])
def test_runs_must_be_a_positive_number(
    built: Built, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as info:
        main(["--ledger-url", built.url, "--runs", value])
    assert info.value.code == 2
    assert "--runs" in capsys.readouterr().err


def test_module_entry_point_exits_non_zero_without_traceback(tmp_path: Path) -> None:
    ledger = tmp_path / "absent.sqlite"
    proc = subprocess.run(
        [sys.executable, "-m", "target_mailchimp.report", "--ledger-url", f"sqlite:///{ledger}"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1
    assert proc.stderr.startswith(f"{PROG}: error: no ledger at {ledger}")
    assert "Traceback" not in proc.stderr
    assert not ledger.exists()
    assert not (tmp_path / "target-mailchimp-report.html").exists()


def test_the_page_groups_the_records_and_is_searchable(
    built: Built, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report.html"
    assert main(["--ledger-url", built.url, "--output", str(out)]) == 0
    assert "5 rejected, failed or parked" in capsys.readouterr().err
    tree = lxml.html.document_fromstring(out.read_text(encoding="utf-8"))
    groups = tree.xpath("//div[@id='problems']/details[@class='group']")
    assert len(groups) == 5  # every reason of the fixture differs
    assert sum(len(g.xpath(".//tbody/tr[@data-search]")) for g in groups) == 5
    assert [g.get("data-action") for g in groups] == GROUP_ACTIONS
    assert tree.xpath("//input[@id='q']/@placeholder") == [
        "email, CUSTOMERID, VENDORID or RECORDNO"
    ]
    # The latest run changed something (a store updated): its cards, no notice.
    assert tree.xpath("//section[@id='latest']//div[@class='cards']/@data-run") == [
        built.run_ids[-1]
    ]
    assert not tree.xpath("//p[@id='nothing-changed']")
