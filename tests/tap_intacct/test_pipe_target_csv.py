"""The tap's output is valid input for a Singer target that is not ours.

target-jsonl from PyPI does not install cleanly here: it pins singer-python 5.8, which would
downgrade jsonschema to 2.6 and bring the old `backoff` distribution. MeltanoLabs'
target-csv (meltanolabs-target-csv, built on the same SDK) installs cleanly, validates every
record against the stream's schema before writing it, and flattens nested objects, so it is
the target used here: `tap-intacct | target-csv`, both as real processes over a pipe.
"""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.sandbox.intacct import IntacctSandbox, generate_company
from tests.tap_intacct.tap_support import PACIFIC_NAME, STREAM_OBJECTS

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def piped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    target = BIN / "target-csv"
    if not target.exists():  # pragma: no cover - a broken dev environment, not a skip
        pytest.fail("target-csv is missing: pip install -r requirements-dev.txt")
    tmp = tmp_path_factory.mktemp("pipe")
    out = tmp / "csv"
    company = generate_company(seed=61, customers=10, vendors=8, bills=50, payments=6)
    with IntacctSandbox(company) as sandbox:
        config = sandbox.tap_config(timezone=PACIFIC_NAME, page_size=20)
        (tmp / "tap.json").write_text(json.dumps(config))
        (tmp / "target.json").write_text(
            json.dumps(
                {"output_path": str(out), "flattening_enabled": True, "flattening_max_depth": 3}
            )
        )
        command = (
            f"'{BIN / 'tap-intacct'}' --config '{tmp / 'tap.json'}' | tee '{tmp / 'tap.jsonl'}'"
            f" | '{target}' --config '{tmp / 'target.json'}' > '{tmp / 'state.jsonl'}'"
        )
        done = subprocess.run(
            ["bash", "-o", "pipefail", "-c", command],
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-8000:]
        yield {
            "company": company,
            "out": out,
            "tap": (tmp / "tap.jsonl").read_text().splitlines(),
            "state": (tmp / "state.jsonl").read_text().splitlines(),
            "stderr": done.stderr,
            "requests": list(sandbox.requests),
        }
    shutil.rmtree(tmp, ignore_errors=True)


def _rows(piped: dict[str, Any], stream: str) -> list[dict[str, str]]:
    with (piped["out"] / f"{stream}.csv").open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def test_every_record_arrives_in_the_target(piped: dict[str, Any]) -> None:
    company = piped["company"]
    for stream, obj in STREAM_OBJECTS.items():
        rows = _rows(piped, stream)
        assert sorted(int(r["RECORDNO"]) for r in rows) == sorted(company.recordnos(obj))


def test_nested_fields_arrive_flattened_by_the_target(piped: dict[str, Any]) -> None:
    company = piped["company"]
    for row in _rows(piped, "customers"):
        stored = company.get("CUSTOMER", int(row["RECORDNO"]))
        assert row["DISPLAYCONTACT__MAILADDRESS__CITY"] == stored["DISPLAYCONTACT.MAILADDRESS.CITY"]
        assert row["DISPLAYCONTACT__EMAIL1"] == stored["DISPLAYCONTACT.EMAIL1"]


def test_money_arrives_exact(piped: dict[str, Any]) -> None:
    special = piped["company"].special
    huge = str(special["huge_money_bill"])
    bills = {r["RECORDNO"]: r for r in _rows(piped, "ap_bills")}
    assert bills[huge]["TOTALENTERED"] == "12345678901234567.89"
    lines = json.loads(bills[str(special["small_money_bill"])]["lines"], parse_float=Decimal)
    assert sorted(line["AMOUNT"] for line in lines) == [Decimal("0.10"), Decimal("0.20")]
    # The tap wrote the digits themselves, not a float's approximation.
    assert any('"TOTALENTERED":12345678901234567.89' in line for line in piped["tap"])


def test_the_target_emits_the_taps_final_state(piped: dict[str, Any]) -> None:
    tap_states = [json.loads(line) for line in piped["tap"] if '"type":"STATE"' in line]
    assert json.loads(piped["state"][-1]) == tap_states[-1]["value"]


def test_the_cli_run_sent_only_valid_requests_and_logged_no_secret(piped: dict[str, Any]) -> None:
    assert piped["requests"]
    assert all(r.valid for r in piped["requests"])
    assert "sandbox-user-pw" not in piped["stderr"]
    assert "sandbox-sender-pw" not in piped["stderr"]
