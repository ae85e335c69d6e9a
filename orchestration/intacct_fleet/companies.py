"""The companies file (`orchestration/companies.yml`, or the file named by FLEET_COMPANIES).

    defaults:                     # optional; every key may be set per company too
      environment: prod           # the Meltano environment (default: the company's name)
      schedule: "0 * * * *"       # cron, in `timezone`
      timezone: UTC
      retries: 3                  # Dagster retries of a failed run, with exponential backoff
      retry_delay_seconds: 60
    companies:
      - name: acme                # letters, digits, _ (the job is sync_acme)
        settings:                 # environment variables of its meltano run; ${VAR} is
          TAP_INTACCT_COMPANY_ID: ACME      # replaced from Dagster's own environment
          TARGET_MAILCHIMP_INTACCT_COMPANY_ID: ACME
          TARGET_MAILCHIMP_LIST_ID: a1b2c3d4e5
          TARGET_MAILCHIMP_LEDGER_URL: ${FLEET_LEDGER_URL}

A missing ${VAR} is an error naming the company and the variable, at run time, so one
company's missing secret never hides the other companies from Dagster.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
PROJECT_ROOT = HERE.parents[1]
DEFAULT_FILE = HERE.parent / "companies.yml"
NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,62}$")
VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


class CompaniesError(ValueError):
    """The companies file is wrong; the message names the company and the key."""


@dataclass(frozen=True)
class Company:
    name: str
    environment: str
    schedule: str
    timezone: str = "UTC"
    retries: int = 3
    retry_delay_seconds: float = 60.0
    settings: dict[str, str] = field(default_factory=dict)

    def resolved_settings(self, environ: dict[str, str] | None = None) -> dict[str, str]:
        """The settings with every ${VAR} replaced from `environ` (default os.environ)."""
        env = os.environ if environ is None else environ
        out: dict[str, str] = {}
        for key, value in self.settings.items():

            def sub(match: re.Match[str], key: str = key) -> str:
                name = match.group(1)
                if name not in env:
                    raise CompaniesError(
                        f"company {self.name}: setting {key} needs the environment variable "
                        f"{name}, which is not set"
                    )
                return env[name]

            out[key] = VAR.sub(sub, value)
        return out

    @property
    def state_id(self) -> str:
        return f"{self.environment}:tap-intacct-to-target-mailchimp:{self.name}"


def _company(raw: Any, defaults: dict[str, Any], index: int) -> Company:
    if not isinstance(raw, dict):
        raise CompaniesError(f"companies[{index}] must be a mapping")
    merged = {**defaults, **raw}
    name = merged.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        raise CompaniesError(
            f"companies[{index}]: name must be letters, digits and _ (starting with a letter)"
        )
    settings = merged.get("settings") or {}
    if not isinstance(settings, dict):
        raise CompaniesError(f"company {name}: settings must be a mapping of variables")
    schedule = merged.get("schedule", "0 * * * *")
    if not isinstance(schedule, str) or len(schedule.split()) != 5:
        raise CompaniesError(f"company {name}: schedule must be a 5-field cron text")
    try:
        retries = int(merged.get("retries", 3))
        delay = float(merged.get("retry_delay_seconds", 60))
    except (TypeError, ValueError):
        raise CompaniesError(
            f"company {name}: retries / retry_delay_seconds must be numbers"
        ) from None
    return Company(
        name=name,
        environment=str(merged.get("environment") or name),
        schedule=schedule,
        timezone=str(merged.get("timezone", "UTC")),
        retries=max(0, retries),
        retry_delay_seconds=max(0.0, delay),
        settings={str(k): str(v) for k, v in settings.items()},
    )


def load_companies(path: Path | None = None) -> list[Company]:
    path = path or Path(os.environ.get("FLEET_COMPANIES", DEFAULT_FILE))
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise CompaniesError(f"cannot read the companies file {path}: {exc}") from None
    defaults = data.get("defaults") or {}
    raw = data.get("companies") or []
    if not isinstance(defaults, dict) or not isinstance(raw, list):
        raise CompaniesError(f"{path}: 'defaults' must be a mapping and 'companies' a list")
    companies = [_company(c, defaults, i) for i, c in enumerate(raw)]
    names = [c.name for c in companies]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise CompaniesError(f"{path}: company names must be unique: {', '.join(dupes)}")
    return companies
