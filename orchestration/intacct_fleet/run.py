"""Execute one of the fleet's jobs in this process (its ops in subprocesses), on the instance
of $DAGSTER_HOME: `python -m intacct_fleet.run fleet_all` or `... sync_acme_job`. Exits 0
when the run succeeded; prints the run id."""

from __future__ import annotations

import sys

from dagster import DagsterInstance, build_reconstructable_job, execute_job

from intacct_fleet import definitions


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    name = args[0] if args else "fleet_all"
    definitions.defs.get_job_def(name)  # an unknown name fails here, with the known ones
    target = build_reconstructable_job(
        "intacct_fleet.definitions", "job_named", reconstructable_args=(name,)
    )
    with DagsterInstance.get() as instance:
        result = execute_job(target, instance=instance, tags={"intacct-fleet/launched": "cli"})
    sys.stdout.write(f"run {result.run_id}: {'succeeded' if result.success else 'failed'}\n")
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main())
