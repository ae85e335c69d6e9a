"""`make sandbox` (python -m tests.sandbox.serve) and the README's standalone commands.

- The program starts both sandboxes, writes ready tap and target configs and a Meltano dotenv
  into its work folder; the tap and target run with those configs; SIGINT stops both
  sandboxes (their ports refuse connections, no process is left) and removes the files.
- The README's "Using the plugins on their own" commands run verbatim (bash, from a folder
  laid out like the repository: `.venv`, `.sandbox`) twice: the first time without a state
  file, the second with the state the first left, which makes it incremental.
- `meltano --env-file .sandbox/meltano.env run tap-intacct target-mailchimp` in the `sandbox`
  environment finds the sandboxes with no variable set by hand.
- A sandbox that cannot start ends the launcher with the sandbox's own one-line error.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import REPO_ROOT, output_of_success, run_in_repo
from tests.sandbox.launch import SandboxStartError, running_sandboxes
from tests.test_docs import _section, fenced_blocks

pytestmark = pytest.mark.slow
BIN = Path(sys.executable).parent
READY = ("tap-config.json", "target-config.json", "meltano.env")


class Served:
    def __init__(self, proc: subprocess.Popen[str], workdir: Path) -> None:
        self.proc = proc
        self.workdir = workdir

    def config(self, name: str) -> dict[str, object]:
        loaded: dict[str, object] = json.loads((self.workdir / name).read_text("utf-8"))
        return loaded

    def ports(self) -> list[int]:
        urls = [str(self.config(n)["api_url"]) for n in ("tap-config.json", "target-config.json")]
        return [int(urlsplit(u).port or 0) for u in urls]

    def stop(self) -> tuple[str, str]:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        out, err = self.proc.communicate(timeout=60)
        return out, err


def _serve(workdir: Path) -> Iterator[Served]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.sandbox.serve", "--workdir", str(workdir)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its sandboxes share its process group (cleanup below)
    )
    served = Served(proc, workdir)
    try:
        deadline = time.monotonic() + 120
        while not all((workdir / name).exists() for name in READY):
            assert proc.poll() is None, proc.communicate()[1][-3000:]
            assert time.monotonic() < deadline, "make sandbox wrote no configs within 120 s"
            time.sleep(0.1)
        yield served
    finally:
        # A test that failed before stop(): ask it to stop its sandboxes as Ctrl-C would,
        # then end whatever of its process group is left, so no sandbox outlives the test.
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.communicate(timeout=30)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        if proc.poll() is None:
            proc.wait(timeout=30)


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    yield from _serve(tmp_path / ".sandbox")


def _refuses(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return False
    except OSError:
        return True


def _sandbox_processes(workdir: Path) -> list[str]:
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True, check=True)
    return [
        line for line in ps.stdout.splitlines() if "tests.sandbox." in line and str(workdir) in line
    ]


def test_make_sandbox_serves_ready_configs_until_sigint(served: Served, tmp_path: Path) -> None:
    tap = subprocess.run(
        [str(BIN / "tap-intacct"), "--config", str(served.workdir / "tap-config.json")],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert tap.returncode == 0, tap.stderr[-3000:]
    assert tap.stdout.count('"type":"RECORD"') > 500
    target = subprocess.run(
        [str(BIN / "target-mailchimp"), "--config", str(served.workdir / "target-config.json")],
        input=tap.stdout,
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=300,
        check=False,
    )
    assert target.returncode == 0, target.stderr[-3000:]
    assert ": succeeded" in target.stderr
    assert json.loads(target.stdout.splitlines()[-1])["bookmarks"]
    assert (served.workdir / "ledger.sqlite").exists()  # the config's ledger, not the default

    env_lines = (served.workdir / "meltano.env").read_text("utf-8").splitlines()
    names = {line.split("=", 1)[0] for line in env_lines if "=" in line}
    assert {"TAP_INTACCT_API_URL", "TARGET_MAILCHIMP_API_KEY", "TARGET_MAILCHIMP_LIST_ID"} <= names

    ports = served.ports()
    out, _ = served.stop()
    assert served.proc.returncode == 0
    assert "Ctrl-C stops both" in out and "Sandboxes stopped." in out
    assert all(_refuses(port) for port in ports), "a sandbox still listens after SIGINT"
    assert not _sandbox_processes(served.workdir)
    assert not any((served.workdir / name).exists() for name in READY)


def readme_standalone_commands() -> str:
    blocks = [body for lang, body in fenced_blocks(_section("Using the plugins on their own").body)]
    assert blocks, "the README's standalone section has no command block"
    return blocks[0]


def test_readme_standalone_commands_run_verbatim_twice(tmp_path: Path) -> None:
    commands = readme_standalone_commands()
    assert "--state state.json" in commands
    (tmp_path / ".venv").symlink_to(BIN.parent)
    for served in _serve(tmp_path / ".sandbox"):
        runs = []
        for attempt in (1, 2):
            assert (tmp_path / "state.json").exists() == (attempt == 2)
            done = subprocess.run(
                ["bash", "-e", "-o", "pipefail", "-c", commands],
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            assert done.returncode == 0, f"run {attempt}:\n{done.stderr[-4000:]}"
            assert "Traceback" not in done.stderr
            state = json.loads((tmp_path / "state.json").read_text("utf-8"))
            assert set(state["bookmarks"]) >= {"customers", "vendors", "ap_bills", "ap_payments"}
            messages = (tmp_path / "messages.jsonl").read_text("utf-8")
            runs.append(messages.count('"type":"RECORD"'))
        assert runs[0] > 500
        assert runs[1] < runs[0], "the second run did not continue from the first one's state"
        served.stop()
        assert served.proc.returncode == 0


def test_meltano_finds_the_sandboxes_through_the_env_file(
    served: Served, meltano_installed: Path, meltano_home: dict[str, str]
) -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("TAP_INTACCT_", "TARGET_MAILCHIMP_"))
    }
    env.update(meltano_home)
    run = run_in_repo(
        [
            str(meltano_installed),
            "--env-file",
            str(served.workdir / "meltano.env"),
            "--environment",
            "sandbox",
            "run",
            "tap-intacct",
            "target-mailchimp",
        ],
        env,
    )
    out = output_of_success(run)
    assert re.search(r"target-mailchimp run \S+: succeeded", out), out[-3000:]
    assert re.search(r"^member\s+\d+", out, re.M)
    served.stop()


def _corrupt_mailchimp_state(workdir: Path) -> None:
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "mailchimp.state").write_text("not a saved account{\n", "utf-8")


def test_a_sandbox_that_cannot_start_reports_its_own_error(tmp_path: Path) -> None:
    _corrupt_mailchimp_state(tmp_path)
    with (
        pytest.raises(SandboxStartError) as info,
        running_sandboxes(tmp_path, sizes={"customers": 5}),
    ):
        pass
    message = str(info.value)
    assert "\n" not in message and "Traceback" not in message
    assert message.startswith("the Mailchimp sandbox did not start: Mailchimp sandbox error: ")
    assert "mailchimp.state cannot be read" in message and "delete it" in message
    assert not _sandbox_processes(tmp_path)


def test_make_demo_prints_the_sandbox_error_not_a_traceback(tmp_path: Path) -> None:
    _corrupt_mailchimp_state(tmp_path)
    run = run_in_repo(
        [sys.executable, "-m", "tests.sandbox.demo", "--workdir", str(tmp_path)], timeout=300
    )
    assert run.returncode == 1
    assert "Traceback" not in run.stdout + run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("make demo: the Mailchimp sandbox did not start: Mailchimp sandbox")
    assert "mailchimp.state cannot be read" in lines[0]
    assert not _sandbox_processes(tmp_path)
