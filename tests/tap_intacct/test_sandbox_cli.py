"""`python -m tests.sandbox.intacct` starts the sandbox, writes its URL and a tap config,
serves, and stops cleanly on SIGTERM."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

from tests.sandbox.intacct import envelope as env

REPO = Path(__file__).resolve().parents[2]


def test_cli_serves_until_sigterm(tmp_path: Path) -> None:
    url_file = tmp_path / "out" / "intacct.url"
    config_file = tmp_path / "out" / "tap-intacct.json"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.sandbox.intacct",
            "--port",
            "0",
            "--seed",
            "2",
            "--customers",
            "20",
            "--vendors",
            "16",
            "--bills",
            "40",
            "--payments",
            "10",
            "--url-file",
            str(url_file),
            "--config-file",
            str(config_file),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not (config_file.exists() and url_file.exists()):
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            assert time.monotonic() < deadline, "the sandbox did not start"
            time.sleep(0.05)
        url = url_file.read_text().strip()
        config = json.loads(config_file.read_text())
        assert url.startswith("http://127.0.0.1:") and url.endswith("/ia/xml/xmlgw.phtml")
        assert config["api_url"] == url
        creds = SimpleNamespace(
            **{
                k: config[k]
                for k in ("sender_id", "sender_password", "user_id", "user_password", "company_id")
            }
        )
        query = env.query_xml("APBILL", ["RECORDNO"], showprivate=True)
        body = env.request(creds, [("s", "<getAPISession/>"), ("q", query)])
        root = env.post(url, body)
        assert [r.findtext("status") for r in root.iterfind("operation/result")] == [
            "success",
            "success",
        ]
        assert root.find("operation/result/data/api/endpoint").text != url
        assert root.findall("operation/result")[1].find("data").get("totalcount") == "40"
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=20)
    assert proc.returncode == 0, err
    assert "listening on " + url in out
    assert "stopping after 1 requests" in err
