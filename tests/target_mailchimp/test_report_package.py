"""The report's templates are package data: a wheel (a non-editable install) carries them
and renders the page from them."""

from __future__ import annotations

import os
import subprocess
import sys
import zipfile
from pathlib import Path

from hatchling.builders.wheel import WheelBuilder

from tests.target_mailchimp.test_report import build_ledger

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = {"report.html.j2", "chart.svg.j2", "report.css", "report.js"}


def test_the_wheel_carries_the_templates_and_renders_from_them(tmp_path: Path) -> None:
    builder = WheelBuilder(str(ROOT / "target-mailchimp"))
    (wheel,) = builder.build(directory=str(tmp_path / "dist"), versions=["standard"])
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        shipped = {
            n.rsplit("/", 1)[1] for n in names if n.startswith("target_mailchimp/report/templates/")
        }
        assert shipped == TEMPLATES
        archive.extractall(tmp_path / "site")
    built = build_ledger(tmp_path / "ledger.sqlite")
    out = tmp_path / "report.html"
    code = (
        "import sys, target_mailchimp.report as r;"
        f"assert r.__file__.startswith({str(tmp_path / 'site')!r}), r.__file__;"
        f"sys.exit(r.main(['--ledger-url', {built.url!r}, '--output', {str(out)!r}]))"
    )
    env = {**os.environ, "PYTHONPATH": str(tmp_path / "site")}
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    page = out.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>")
    assert '<details class="group"' in page
    assert "<svg" in page
