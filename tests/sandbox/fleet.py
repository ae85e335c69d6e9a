"""The demo fleet of orchestration/companies.yml, for `make fleet-demo` and the Dagster test.

Three Intacct companies (sandboxes), two Mailchimp accounts (ACME and BETA share the first,
each with its own audience; GAMMA has the second), an embedded PostgreSQL server holding the
shared ledger database and Dagster's storage database. `running_fleet(workdir)` yields a
`Fleet` whose `env` holds the FLEET_* variables the companies file reads.

    python -m tests.sandbox.fleet      # make fleet-demo: the fleet, a Dagster webserver on
                                       # loopback and one run per company; Ctrl-C stops all
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import requests

from tests.sandbox.intacct import Company, IntacctSandbox, generate_company
from tests.sandbox.launch import stop_process
from tests.sandbox.loopback import free_port
from tests.sandbox.mailchimp import MailchimpSandbox
from tests.sandbox.postgres import embedded_postgres

REPO_ROOT = Path(__file__).resolve().parents[2]
ORCHESTRATION = REPO_ROOT / "orchestration"
DAGSTER_BIN = ORCHESTRATION / ".venv" / "bin"
NAMES = ("acme", "beta", "gamma")
SIZES = {"customers": 30, "vendors": 20, "bills": 40, "payments": 20}


@dataclass
class Fleet:
    workdir: Path
    env: dict[str, str]
    companies: dict[str, Company]
    mailchimp: dict[str, MailchimpSandbox]  # company -> its account's sandbox
    lists: dict[str, str]
    ledger_url: str
    dagster_pg_url: str
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def dagster_env(self) -> dict[str, str]:
        home = self.workdir / "dagster-home"
        home.mkdir(parents=True, exist_ok=True)
        shutil.copy(ORCHESTRATION / "dagster.yaml", home / "dagster.yaml")
        return {
            **os.environ,
            **self.env,
            "DAGSTER_HOME": str(home),
            "DAGSTER_PG_URL": self.dagster_pg_url,
            "FLEET_COMPANIES": str(ORCHESTRATION / "companies.yml"),
            "FLEET_REPORTS": str(self.workdir / "reports"),
            "FLEET_MELTANO_DIRS": str(self.workdir / "meltano"),
            "PYTHONPATH": str(ORCHESTRATION),
        }


@contextlib.contextmanager
def running_fleet(workdir: Path) -> Iterator[Fleet]:
    workdir.mkdir(parents=True, exist_ok=True)
    companies = {n: generate_company(seed=101 + i, **SIZES) for i, n in enumerate(NAMES)}
    with contextlib.ExitStack() as stack:
        intacct = {n: stack.enter_context(IntacctSandbox(c)) for n, c in companies.items()}
        first = stack.enter_context(MailchimpSandbox(batch_start_delay=0.0, latency=0.02))
        second = stack.enter_context(MailchimpSandbox(batch_start_delay=0.0, latency=0.02))
        lists = {
            "acme": first.list_id,
            "beta": first.add_list(name="Beta"),
            "gamma": second.list_id,
        }
        pg = stack.enter_context(embedded_postgres())
        ledger_url = pg.create_database("fleet_ledger")
        dagster_url = pg.create_database("fleet_dagster").replace(
            "postgresql+psycopg:", "postgresql+psycopg2:"
        )
        tap = intacct["acme"].tap_config()
        env = {
            "FLEET_LEDGER_URL": ledger_url,
            "FLEET_DEMO_DIR": str(workdir),
            "FLEET_DEMO_SENDER_ID": tap["sender_id"],
            "FLEET_DEMO_SENDER_PASSWORD": tap["sender_password"],
            "FLEET_DEMO_USER_ID": tap["user_id"],
            "FLEET_DEMO_USER_PASSWORD": tap["user_password"],
            "FLEET_DEMO_COMPANY_ID": tap["company_id"],
            "FLEET_DEMO_MAILCHIMP1_URL": first.base_url,
            "FLEET_DEMO_MAILCHIMP1_KEY": first.api_key,
            "FLEET_DEMO_MAILCHIMP2_URL": second.base_url,
            "FLEET_DEMO_MAILCHIMP2_KEY": second.api_key,
        }
        for name in NAMES:
            env[f"FLEET_DEMO_{name.upper()}_INTACCT_URL"] = intacct[name].tap_config()["api_url"]
            env[f"FLEET_DEMO_{name.upper()}_LIST"] = lists[name]
        yield Fleet(
            workdir=workdir,
            env=env,
            companies=companies,
            mailchimp={"acme": first, "beta": first, "gamma": second},
            lists=lists,
            ledger_url=ledger_url,
            dagster_pg_url=dagster_url,
        )


def run_job(fleet: Fleet, job: str) -> subprocess.Popen[bytes]:
    """`python -m intacct_fleet.run <job>` in the orchestration venv (recorded by Dagster)."""
    return subprocess.Popen(
        [str(DAGSTER_BIN / "python"), "-m", "intacct_fleet.run", job],
        cwd=ORCHESTRATION,
        env=fleet.dagster_env(),
    )


def main() -> int:
    if not (DAGSTER_BIN / "dagster-webserver").exists():
        sys.stderr.write("orchestration/.venv is missing: run `make fleet-demo`\n")
        return 1
    # SIGTERM stops the demo like Ctrl-C: every server it started is stopped on the way out.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    workdir = REPO_ROOT / ".sandbox" / "fleet"
    shutil.rmtree(workdir, ignore_errors=True)
    sys.stdout.write("Starting 3 Intacct and 2 Mailchimp sandboxes and PostgreSQL ...\n")
    with running_fleet(workdir) as fleet:
        port = free_port()
        env = fleet.dagster_env()
        web = subprocess.Popen(
            [
                str(DAGSTER_BIN / "dagster-webserver"),
                "-h",
                "127.0.0.1",
                "-p",
                str(port),
                "-w",
                str(ORCHESTRATION / "workspace.yaml"),
            ],
            cwd=ORCHESTRATION,
            env=env,
        )
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 180
            while time.monotonic() < deadline:
                with contextlib.suppress(requests.RequestException):
                    if requests.get(f"{url}/server_info", timeout=2).ok:
                        break
                time.sleep(0.5)
            sys.stdout.write(f"Dagster UI: {url}/runs\n")
            sys.stdout.write("Running one sync per company (acme, beta, gamma) at once ...\n")
            sys.stdout.flush()
            runs = [run_job(fleet, f"sync_{name}_job") for name in NAMES]
            try:
                codes = [r.wait() for r in runs]
            finally:
                for r in runs:
                    stop_process(r)
            for name, code in zip(NAMES, codes, strict=True):
                sys.stdout.write(f"  {name}: {'succeeded' if code == 0 else 'FAILED'}\n")
            sys.stdout.write(f"\nDagster UI: {url}/runs  (Ctrl-C stops the demo)\n")
            sys.stdout.flush()
            web.wait()
        except KeyboardInterrupt:
            pass
        finally:
            stop_process(web, grace=20)
    sys.stdout.write("Fleet demo stopped.\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
