"""The companies file of the Dagster code location (orchestration/intacct_fleet/companies.py).

It only needs PyYAML, so it is tested here without Dagster; the jobs themselves run in
tests/e2e/test_fleet_dagster.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT / "orchestration"))

from intacct_fleet.companies import CompaniesError, load_companies  # noqa: E402


def _file(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "companies.yml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_demo_fleet_has_three_companies_with_their_own_state_ids() -> None:
    companies = load_companies(REPO_ROOT / "orchestration" / "companies.yml")
    assert [c.name for c in companies] == ["acme", "beta", "gamma"]
    assert len({c.state_id for c in companies}) == 3
    assert len({c.schedule for c in companies}) == 3
    lists = [c.settings["TARGET_MAILCHIMP_LIST_ID"] for c in companies]
    keys = [c.settings["TARGET_MAILCHIMP_API_KEY"] for c in companies]
    assert len(set(lists)) == 3
    assert keys[0] == keys[1] != keys[2]  # ACME and BETA share one Mailchimp account
    assert {c.settings["TARGET_MAILCHIMP_LEDGER_URL"] for c in companies} == {"${FLEET_LEDGER_URL}"}


def test_defaults_apply_and_variables_are_expanded(tmp_path: Path) -> None:
    path = _file(
        tmp_path,
        "defaults: {environment: prod, retries: 5}\n"
        "companies:\n"
        "  - name: acme\n"
        "    settings: {TARGET_MAILCHIMP_API_KEY: '${ACME_KEY}', TAP_INTACCT_COMPANY_ID: ACME}\n"
        "  - name: beta\n"
        "    environment: beta\n"
        "    retries: 1\n",
    )
    acme, beta = load_companies(path)
    assert (acme.environment, acme.retries, beta.environment, beta.retries) == (
        "prod",
        5,
        "beta",
        1,
    )
    assert acme.state_id == "prod:tap-intacct-to-target-mailchimp:acme"
    assert acme.resolved_settings({"ACME_KEY": "k-1"}) == {
        "TARGET_MAILCHIMP_API_KEY": "k-1",
        "TAP_INTACCT_COMPANY_ID": "ACME",
    }
    with pytest.raises(CompaniesError, match=r"company acme: .* ACME_KEY, which is not set"):
        acme.resolved_settings({})


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("companies:\n  - {name: acme}\n  - {name: acme}\n", "must be unique: acme"),
        ("companies:\n  - {name: 'a b'}\n", "name must be letters"),
        ("companies:\n  - {name: acme, schedule: hourly}\n", "5-field cron"),
        ("companies:\n  - {name: acme, retries: many}\n", "must be numbers"),
        ("companies: {acme: 1}\n", "'companies' a list"),
    ],
)
def test_a_bad_file_names_the_company_and_the_key(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(CompaniesError, match=message):
        load_companies(_file(tmp_path, text))
