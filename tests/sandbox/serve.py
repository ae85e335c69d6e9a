"""`make sandbox`: both sandboxes in the foreground, with ready configs, until Ctrl-C.

    python -m tests.sandbox.serve [--workdir .sandbox]

Starts the Intacct and Mailchimp sandboxes on free loopback ports (the same seeded company
and the same kept Mailchimp account as `make demo`) and writes into the work folder:

- ``tap-config.json``: a tap-intacct config for the Intacct sandbox (credentials, api_url,
  the sandbox company's time zone);
- ``target-config.json``: a target-mailchimp config for the Mailchimp sandbox (api_key,
  api_url, list_id, and the ledger the `sandbox` Meltano environment uses);
- ``meltano.env``: the same settings as TAP_INTACCT_* / TARGET_MAILCHIMP_* lines, for
  ``meltano --env-file .sandbox/meltano.env run tap-intacct target-mailchimp``.

Then it prints how to use them and waits. Ctrl-C (SIGINT) or SIGTERM stops both sandboxes
and removes the three files, whose presence means "the sandboxes are up".
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from pathlib import Path
from typing import Any

from tests.sandbox.cli import write_atomic
from tests.sandbox.launch import REPO_ROOT, SandboxStartError, plugin_env, running_sandboxes

#: The Intacct sandbox writes WHENMODIFIED in this zone (the `sandbox` environment says so too).
SANDBOX_TIMEZONE = "America/Los_Angeles"
READY_FILES = ("tap-config.json", "target-config.json", "meltano.env")


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def write_ready_files(
    workdir: Path, tap_config: dict[str, Any], target_config: dict[str, Any]
) -> None:
    """The three files of the module docstring (configs readable by their owner only)."""
    tap = {**tap_config, "timezone": SANDBOX_TIMEZONE}
    target = {
        **target_config,
        # Consent is the operator's decision (docs/consent.md); the sandbox's people agreed.
        "status_if_new": "subscribed",
        "ledger_url": f"sqlite:///{(workdir / 'ledger.sqlite').resolve()}",
    }
    lines = ["# Written by `make sandbox` while its sandboxes run; removed when they stop."]
    env = {**plugin_env("TAP_INTACCT", tap), **plugin_env("TARGET_MAILCHIMP", target)}
    # The `sandbox` environment names its own ledger (relative to the project).
    env.pop("TARGET_MAILCHIMP_LEDGER_URL")
    lines += [f"{key}={json.dumps(value)}" for key, value in env.items()]
    for name, text in (
        ("tap-config.json", json.dumps(tap, indent=2) + "\n"),
        ("target-config.json", json.dumps(target, indent=2) + "\n"),
        ("meltano.env", "\n".join(lines) + "\n"),
    ):
        write_atomic(workdir / name, text)
        (workdir / name).chmod(0o600)


def usage(workdir: Path, tap_url: str, mailchimp_url: str) -> str:
    w = _display(workdir)
    return f"""\
Sandboxes running (Ctrl-C stops both):
  Intacct gateway:  {tap_url}
  Mailchimp API:    {mailchimp_url}

Ready configs:
  {w}/tap-config.json      tap-intacct --config
  {w}/target-config.json   target-mailchimp --config (and target-mailchimp-report --config)
  {w}/meltano.env          the same settings for Meltano

In another terminal, from the repository:
  .venv/bin/meltano --env-file {w}/meltano.env run tap-intacct target-mailchimp
or the plugins on their own (README, "Using the plugins on their own"):
  .venv/bin/tap-intacct --config {w}/tap-config.json --discover > catalog.json
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.sandbox.serve", description=__doc__)
    parser.add_argument("--workdir", type=Path, default=REPO_ROOT / ".sandbox")
    args = parser.parse_args(argv)
    workdir: Path = args.workdir
    # Ctrl-C stops the sandboxes even where SIGINT came in ignored (a job started with `&`).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    print("Starting the Intacct and Mailchimp sandboxes on loopback ...", flush=True)
    try:
        with running_sandboxes(workdir) as sb:
            try:
                write_ready_files(workdir, sb.tap_config, sb.target_config)
                print(
                    usage(workdir, sb.tap_config["api_url"], sb.target_config["api_url"]),
                    flush=True,
                )
                while True:  # until SIGINT (KeyboardInterrupt) or SIGTERM (SystemExit)
                    time.sleep(1)
            finally:
                for name in READY_FILES:
                    (workdir / name).unlink(missing_ok=True)
    except SandboxStartError as exc:
        print(f"make sandbox: {exc}", file=sys.stderr, flush=True)
        return 1
    except (KeyboardInterrupt, SystemExit):
        pass  # the stop asked for
    print("Sandboxes stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
