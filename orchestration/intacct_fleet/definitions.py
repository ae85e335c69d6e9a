"""Jobs, schedules and retries of the fleet (see docs/fleet.md).

- `sync_<company>`: one op running the company's `meltano run`, tagged
  `intacct-fleet/company=<company>`; the instance's tag concurrency limit (dagster.yaml) lets
  one run per company run at a time, and the ledger refuses a second one anyway.
- a schedule per company from its cron line; failed ops are retried with exponential
  backoff and jitter (`retries`, `retry_delay_seconds`).
- `fleet_all`: every company's op in one job (each op in its own process with the
  multiprocess executor), for a first backfill or a test.
- each op's output carries the run summary, the Meltano state id, and the path and file URL
  of the company's HTML audit report.
"""

import os
import re
import subprocess
from pathlib import Path
from typing import Any

from dagster import (
    Backoff,
    Definitions,
    Failure,
    In,
    Jitter,
    MetadataValue,
    Nothing,
    OpDefinition,
    OpExecutionContext,
    Output,
    RetryPolicy,
    ScheduleDefinition,
    job,
    multiprocess_executor,
    op,
)

from intacct_fleet.companies import PROJECT_ROOT, CompaniesError, Company, load_companies

COMPANY_TAG = "intacct-fleet/company"
ANSI = re.compile(r"\x1b\[[0-9;]*m")
LOG_LINE = re.compile(r"^\d{4}-\d\d-\d\dT")


def _project_bin(name: str) -> str:
    folder = Path(os.environ.get("FLEET_PROJECT_VENV", PROJECT_ROOT / ".venv")) / "bin"
    return str(folder / name)


#: Folders of the project's Meltano system dir that every company shares (installed plugins).
SHARED_MELTANO_DIRS = ("extractors", "loaders", "mappers", "utilities", "transformers", "files")


def company_meltano_dir(company: Company) -> Path:
    """The company's own Meltano system dir, with the project's installed plugins linked in.

    Meltano writes each run's catalog and config under `.meltano/run/<plugin>`; two
    companies' runs in one project at once would overwrite each other's files there. Each
    company gets its own folder (`MELTANO_SYS_DIR_ROOT`): its own run files and logs, and
    its own system database (state) unless MELTANO_DATABASE_URI names a shared one.
    """
    shared = Path(os.environ.get("MELTANO_SYS_DIR_ROOT", PROJECT_ROOT / ".meltano"))
    root = Path(os.environ.get("FLEET_MELTANO_DIRS", shared / "fleet")) / company.name
    root.mkdir(parents=True, exist_ok=True)
    for name in SHARED_MELTANO_DIRS:
        link = root / name
        if (shared / name).is_dir() and not link.exists():
            link.symlink_to((shared / name).resolve(), target_is_directory=True)
    return root


def run_summary(output: str) -> str:
    """The target's run summary block from meltano's output (decorations removed)."""
    lines = [ANSI.sub("", line) for line in output.splitlines()]
    start = max((i for i, line in enumerate(lines) if "Run summary" in line), default=None)
    if start is None:
        return ""
    block: list[str] = []
    for line in lines[start + 1 : start + 40]:
        text = re.sub(r"\s+cmd_type=.*$", "", line).rstrip()
        # the block ends at the next log line, a blank line or the list of rejected records
        if LOG_LINE.match(text) or not text.strip() or text.startswith("  - "):
            break
        block.append(text)
    return "\n".join(block)


def _report(company: Company, env: dict[str, str], run_id: str) -> dict[str, Any]:
    url = env.get("TARGET_MAILCHIMP_LEDGER_URL")
    if not url:
        return {"report": MetadataValue.text("no TARGET_MAILCHIMP_LEDGER_URL: no report")}
    scope = "/".join(
        (
            env.get("TARGET_MAILCHIMP_INTACCT_COMPANY_ID", ""),
            env.get("TARGET_MAILCHIMP_INTACCT_ENTITY_ID", ""),
            env.get("TARGET_MAILCHIMP_LIST_ID", ""),
            env.get("TARGET_MAILCHIMP_STORE_ID", "intacct"),
        )
    )
    folder = Path(os.environ.get("FLEET_REPORTS", PROJECT_ROOT / "fleet-reports")) / company.name
    folder.mkdir(parents=True, exist_ok=True)
    page = folder / f"{run_id}.html"
    report = _project_bin("target-mailchimp-report")
    done = subprocess.run(  # noqa: S603 - the project's own report tool
        [report, "--ledger-url", url, "--scope", scope, "--output", str(page)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        return {"report": MetadataValue.text(done.stderr.strip()[-500:])}
    return {
        "report": MetadataValue.path(str(page)),
        "report_url": MetadataValue.url(page.resolve().as_uri()),
    }


def sync_op(company: Company) -> OpDefinition:
    @op(
        name=f"sync_{company.name}",
        ins={"start": In(Nothing)},
        tags={COMPANY_TAG: company.name},
        retry_policy=RetryPolicy(
            max_retries=company.retries,
            delay=company.retry_delay_seconds,
            backoff=Backoff.EXPONENTIAL,
            jitter=Jitter.PLUS_MINUS,
        ),
        description=f"meltano --environment {company.environment} run tap-intacct "
        f"target-mailchimp for {company.name}",
    )
    def sync(context: OpExecutionContext) -> Output[str]:
        try:
            settings = company.resolved_settings()
        except CompaniesError as exc:
            raise Failure(description=str(exc), allow_retries=False) from None
        env = {
            **os.environ,
            "MELTANO_SYS_DIR_ROOT": str(company_meltano_dir(company)),
            **settings,
            "NO_COLOR": "1",
        }
        command = [
            _project_bin("meltano"),
            "--environment",
            company.environment,
            "run",
            "--state-id-suffix",
            company.name,
            "tap-intacct",
            "target-mailchimp",
        ]
        context.log.info(f"{company.name}: {' '.join(command[1:])} (state id {company.state_id})")
        done = subprocess.run(  # noqa: S603 - the project's meltano, fixed arguments
            command,
            cwd=os.environ.get("FLEET_PROJECT_ROOT", str(PROJECT_ROOT)),
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        output = done.stdout + "\n" + done.stderr
        summary = run_summary(output)
        metadata: dict[str, Any] = {
            "company": company.name,
            "state_id": company.state_id,
            "meltano_exit_code": done.returncode,
            "run_summary": MetadataValue.md(f"```\n{summary or '(no summary)'}\n```"),
        }
        metadata.update(_report(company, env, context.run_id))
        if done.returncode != 0:
            tail = "\n".join(ANSI.sub("", output).strip().splitlines()[-30:])
            context.log.error(f"{company.name}: meltano run failed; its last lines:\n{tail}")
            raise Failure(
                description=f"{company.name}: meltano run failed (exit {done.returncode})",
                metadata={**metadata, "output_tail": MetadataValue.text(tail)},
            )
        context.log.info(summary or f"{company.name}: done")
        return Output(summary, metadata=metadata)

    return sync


def build_definitions(companies: list[Company]) -> Definitions:
    ops = {c.name: sync_op(c) for c in companies}
    jobs = []
    schedules = []
    for company in companies:
        sync = ops[company.name]

        @job(
            name=f"sync_{company.name}_job",
            tags={COMPANY_TAG: company.name},
            description=f"Sync {company.name} (Intacct -> Mailchimp)",
        )
        def one() -> None:
            sync()  # noqa: B023 - each job is built while its op is current

        jobs.append(one)
        schedules.append(
            ScheduleDefinition(
                name=f"sync_{company.name}_schedule",
                job=one,
                cron_schedule=company.schedule,
                execution_timezone=company.timezone,
            )
        )

    @job(name="fleet_all", executor_def=multiprocess_executor, description="Every company once")
    def fleet_all() -> None:
        for sync in ops.values():
            sync()

    return Definitions(jobs=[*jobs, fleet_all], schedules=schedules)


defs = build_definitions(load_companies())


def job_named(name: str) -> Any:
    """One of the jobs, for `build_reconstructable_job` (multiprocess execution)."""
    return defs.get_job_def(name)
