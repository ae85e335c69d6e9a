"""Start both sandboxes as background processes, for `make demo` and end-to-end tests.

    with running_sandboxes(Path(".sandbox")) as sb:
        env = sb.meltano_env()
        subprocess.run([".venv/bin/meltano", "run", "tap-intacct", "target-mailchimp"], env=env)

Each sandbox runs as `python -m tests.sandbox.<name>` on a free loopback port and writes its
URL and a ready plugin config into the work folder. The Mailchimp sandbox keeps its account in
a state file there, so a second demo run sees what the first one wrote. Whatever happens in
the `with` block (an error, Ctrl-C, SIGTERM), both processes are stopped on the way out.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]

# The demo company: big enough to show paging and every mapping rule, small enough for seconds.
DEMO_SIZES: dict[str, int] = {
    "customers": 200,
    "vendors": 100,
    "bills": 500,
    "payments": 300,
    "invoices": 300,
    "ar-payments": 200,
}


@dataclass
class RunningSandboxes:
    """URLs and configs of the two sandboxes while they run."""

    workdir: Path
    tap_config: dict[str, Any]
    target_config: dict[str, Any]
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def meltano_env(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        """Environment for `meltano run` whose plugin settings point at the sandboxes."""
        env = dict(os.environ)
        env.update(plugin_env("TAP_INTACCT", self.tap_config))
        env.update(plugin_env("TARGET_MAILCHIMP", self.target_config))
        env.update(extra or {})
        return env


def plugin_env(prefix: str, config: Mapping[str, Any]) -> dict[str, str]:
    """Meltano reads a plugin's settings from <PLUGIN>_<SETTING> variables."""
    out: dict[str, str] = {}
    for key, value in config.items():
        if value is None:
            continue
        if isinstance(value, bool):
            text = "true" if value else "false"
        elif isinstance(value, dict | list):
            text = json.dumps(value)
        else:
            text = str(value)
        out[f"{prefix}_{key.upper()}"] = text
    return out


class SandboxStartError(RuntimeError):
    """A sandbox did not start; the message is one line ending with the sandbox's own error."""


def _last_line(log: Path) -> str:
    try:
        lines = [line.strip() for line in log.read_text("utf-8", "replace").splitlines()]
    except OSError:
        return ""
    return next((line for line in reversed(lines) if line), "")


def wait_for_file(
    path: Path, proc: subprocess.Popen[bytes], timeout: float, name: str, log: Path
) -> None:
    """Wait until ``proc`` (the ``name`` sandbox, its stderr in ``log``) writes ``path``."""
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None:
            error = _last_line(log) or f"it exited with code {proc.returncode}"
            raise SandboxStartError(f"the {name} sandbox did not start: {error} (log: {log})")
        if time.monotonic() > deadline:
            raise SandboxStartError(
                f"the {name} sandbox did not start within {timeout:.0f} s (log: {log})"
            )
        time.sleep(0.05)


def stop_process(proc: subprocess.Popen[bytes], grace: float = 15.0) -> None:
    """SIGTERM, then SIGKILL if ``proc`` has not ended within ``grace`` seconds."""
    if proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


def _demo_api_key(workdir: Path) -> str:
    """One key per work folder, so the restarted Mailchimp sandbox accepts the same key."""
    path = workdir / "mailchimp.key"
    if not path.exists():
        path.write_text(f"{secrets.token_hex(16)}-us6\n", encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


@contextlib.contextmanager
def _terminate_on_sigterm() -> Iterator[None]:
    """Turn SIGTERM into SystemExit so `finally` blocks run and sandboxes stop."""

    def handler(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def running_sandboxes(
    workdir: Path,
    *,
    seed: int = 1,
    sizes: Mapping[str, int] | None = None,
    intacct_latency_ms: float = 0.0,
    mailchimp_latency_ms: float = 0.0,
    keep_mailchimp_state: bool = True,
    startup_timeout: float = 120.0,
    python: str = sys.executable,
    intacct_args: Sequence[str] = (),
) -> Iterator[RunningSandboxes]:
    """Run both sandboxes in the background for the duration of the block."""
    workdir.mkdir(parents=True, exist_ok=True)
    counts = {**DEMO_SIZES, **(sizes or {})}
    for name in ("intacct.url", "tap-intacct.json", "mailchimp.url", "target-mailchimp.json"):
        (workdir / name).unlink(missing_ok=True)
    intacct_cmd = [
        python,
        "-m",
        "tests.sandbox.intacct",
        "--seed",
        str(seed),
        *(arg for key, n in counts.items() for arg in (f"--{key}", str(n))),
        "--latency-ms",
        str(intacct_latency_ms),
        "--url-file",
        str(workdir / "intacct.url"),
        "--config-file",
        str(workdir / "tap-intacct.json"),
        *intacct_args,
    ]
    mailchimp_cmd = [
        python,
        "-m",
        "tests.sandbox.mailchimp",
        "--api-key",
        _demo_api_key(workdir),
        "--latency-ms",
        str(mailchimp_latency_ms),
        "--url-file",
        str(workdir / "mailchimp.url"),
        "--config-file",
        str(workdir / "target-mailchimp.json"),
    ]
    if keep_mailchimp_state:
        mailchimp_cmd += ["--state-file", str(workdir / "mailchimp.state")]
    procs: list[subprocess.Popen[bytes]] = []
    logs = {name: workdir / f"{name.lower()}.log" for name in ("Intacct", "Mailchimp")}
    with _terminate_on_sigterm():
        try:
            # A sandbox's stderr goes to its log, so a failed start is reported by its own
            # last line (SandboxStartError), not a traceback among the launcher's.
            for cmd, log in zip((intacct_cmd, mailchimp_cmd), logs.values(), strict=True):
                with log.open("wb") as err:
                    procs.append(
                        subprocess.Popen(cmd, cwd=REPO_ROOT, stdout=subprocess.DEVNULL, stderr=err)
                    )
            wait_for_file(
                workdir / "tap-intacct.json", procs[0], startup_timeout, "Intacct", logs["Intacct"]
            )
            wait_for_file(
                workdir / "target-mailchimp.json",
                procs[1],
                startup_timeout,
                "Mailchimp",
                logs["Mailchimp"],
            )
            yield RunningSandboxes(
                workdir=workdir,
                tap_config=json.loads((workdir / "tap-intacct.json").read_text("utf-8")),
                target_config=json.loads((workdir / "target-mailchimp.json").read_text("utf-8")),
                processes=procs,
            )
        finally:
            for proc in procs:
                stop_process(proc)
