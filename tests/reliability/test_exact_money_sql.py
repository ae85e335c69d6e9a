"""Exact money downstream: tap-intacct piped into meltanolabs-target-postgres (the Singer SDK's
PostgreSQL target) on the test PostgreSQL keeps 12345678901234567.89 and 0.10 + 0.20 exact.

The tap writes amounts as exact JSON numbers and declares them `number`; the SDK target reads
them as Decimal and stores `number` as NUMERIC, nested `lines`/`details` as arrays of JSONB
(whose numbers are NUMERIC too). pipelinewise-target-postgres is not tested: it stores every JSON
number as `double precision`, whatever the schema says (see docs/exact-money.md).
"""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from tests.sandbox.intacct import IntacctSandbox, generate_company
from tests.sandbox.postgres import PostgresServer

BIG = Decimal("12345678901234567.89")
BIN = Path(sys.executable).parent


def test_amounts_arrive_exact_in_postgres(postgres_server: PostgresServer, tmp_path: Path) -> None:
    company = generate_company(seed=3, customers=2, vendors=3, bills=4, payments=2)
    bill = next(
        b for b in company.records("APBILL", typed=True) if len(company.lines(b["RECORDNO"])) >= 2
    )
    number = bill["RECORDNO"]
    company.update(
        "APBILL",
        number,
        {"TOTALENTERED": BIG, "TRX_TOTALENTERED": BIG, "TOTALDUE": Decimal("0.30")},
    )
    first, second = company.lines(number, typed=True)[:2]
    company.update("APBILLITEM", first["RECORDNO"], {"AMOUNT": Decimal("0.10")})
    company.update("APBILLITEM", second["RECORDNO"], {"AMOUNT": Decimal("0.20")})

    url = make_url(postgres_server.url(postgres_server.create_database().rsplit("/", 1)[1]))
    target_cfg = tmp_path / "target.json"
    target_cfg.write_text(
        json.dumps(
            {
                "host": url.host,
                "port": url.port,
                "user": url.username,
                "password": url.password,
                "database": url.database,
                "default_target_schema": "intacct",
            }
        )
    )
    with IntacctSandbox(company) as sandbox:
        tap_cfg = tmp_path / "tap.json"
        config = sandbox.tap_config()
        config.pop("start_date", None)
        tap_cfg.write_text(json.dumps(config))
        singer = tmp_path / "tap.singer"
        with singer.open("wb") as out:
            subprocess.run(
                [str(BIN / "tap-intacct"), "--config", str(tap_cfg)],
                stdout=out,
                stderr=subprocess.PIPE,
                check=True,
                timeout=300,
            )
    with singer.open("rb") as lines:
        loaded = subprocess.run(
            [str(BIN / "target-postgres"), "--config", str(target_cfg)],
            stdin=lines,
            capture_output=True,
            check=False,
            timeout=300,
        )
    assert loaded.returncode == 0, loaded.stderr.decode()[-2000:]

    with psycopg.connect(
        host=url.host, port=url.port, user=url.username, password=url.password, dbname=url.database
    ) as conn:
        kinds = dict(
            conn.execute(
                "SELECT column_name, udt_name FROM information_schema.columns "
                "WHERE table_schema = 'intacct' AND table_name = 'ap_bills'"
            ).fetchall()
        )
        assert kinds["TOTALENTERED"] == "numeric", kinds
        assert kinds["lines"] == "_jsonb"  # an array of JSONB: its numbers are NUMERIC
        total, due = conn.execute(
            'SELECT "TOTALENTERED", "TOTALDUE" FROM intacct.ap_bills WHERE "RECORDNO" = %s',
            (number,),
        ).fetchone()
        assert total == BIG and str(total) == "12345678901234567.89"
        line_sum = conn.execute(
            "SELECT sum((line->>'AMOUNT')::numeric) FROM intacct.ap_bills, "
            "unnest(lines) AS line "
            "WHERE \"RECORDNO\" = %s AND (line->>'AMOUNT')::numeric IN (0.10, 0.20)",
            (number,),
        ).fetchone()[0]
        assert line_sum == Decimal("0.30") == due
        assert conn.execute("SELECT 0.10::numeric + 0.20::numeric = %s", (due,)).fetchone()[0]
