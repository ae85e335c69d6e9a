"""The Mailchimp sandbox runs on its own: ``python -m tests.sandbox.mailchimp``."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import requests

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_cli_serves_writes_files_and_stops_on_sigterm(tmp_path: Path) -> None:
    url_file = tmp_path / "url.txt"
    config_file = tmp_path / "config.json"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.sandbox.mailchimp",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--latency-ms",
            "1",
            "--list-id",
            "cli0000001",
            "--url-file",
            str(url_file),
            "--config-file",
            str(config_file),
        ],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 20
        while not url_file.exists():
            assert proc.poll() is None, proc.communicate()
            assert time.monotonic() < deadline, "sandbox did not start"
            time.sleep(0.05)
        base_url = url_file.read_text().strip()
        config = json.loads(config_file.read_text())
        assert config["api_url"] == base_url
        assert config["list_id"] == "cli0000001"
        resp = requests.get(base_url + "/ping", auth=("u", config["api_key"]), timeout=5)
        assert resp.json() == {"health_status": "Everything's Chimpy!"}
        lists = requests.get(base_url + "/lists", auth=("u", config["api_key"]), timeout=5)
        assert lists.json()["lists"][0]["id"] == "cli0000001"
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
        assert proc.returncode == 0, err
        assert out.strip() == base_url
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
