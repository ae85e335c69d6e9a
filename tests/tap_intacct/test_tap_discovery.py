"""Discovery (offline from the bundled schemas, or with custom fields via lookup), the catalog's
types, the settings, and that no secret reaches stdout or a log."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from singer_sdk.exceptions import ConfigValidationError

from tap_intacct.tap import TapIntacct
from tests.sandbox.intacct import IntacctSandbox, generate_company
from tests.tap_intacct.tap_support import PACIFIC_NAME, run_tap, tap_class

STREAMS = ["customers", "vendors", "ap_bills", "ap_payments", "ar_invoices", "ar_payments"]


@pytest.fixture(scope="module")
def sandbox() -> Iterator[IntacctSandbox]:
    company = generate_company(seed=41, customers=12, vendors=12, bills=12, payments=4)
    with IntacctSandbox(company) as sb:
        yield sb


def _discover_cli(tmp_path: Path, config: dict[str, Any] | None) -> dict[str, Any]:
    args = [sys.executable, "-m", "tap_intacct", "--discover"]
    if config is not None:
        path = tmp_path / "config.json"
        path.write_text(json.dumps(config))
        args += ["--config", str(path)]
    done = subprocess.run(args, capture_output=True, text=True, timeout=120, check=True)
    catalog: dict[str, Any] = json.loads(done.stdout)
    return catalog


def _props(catalog: dict[str, Any], stream: str) -> dict[str, Any]:
    entry = next(s for s in catalog["streams"] if s["tap_stream_id"] == stream)
    properties: dict[str, Any] = entry["schema"]["properties"]
    return properties


def test_discover_is_offline_and_needs_no_login(sandbox: IntacctSandbox, tmp_path: Path) -> None:
    sandbox.reset_log()
    catalog = _discover_cli(tmp_path, sandbox.tap_config())
    assert [s["tap_stream_id"] for s in catalog["streams"]] == STREAMS
    assert sandbox.requests == []
    # No config at all works too (the bundled schemas are all it needs).
    assert _discover_cli(tmp_path, None) == catalog


def test_catalog_types_keys_and_replication() -> None:
    catalog = json.loads(json.dumps(TapIntacct(config={}, validate_config=False).catalog_dict))
    for entry in catalog["streams"]:
        schema = entry["schema"]
        jsonschema.Draft7Validator.check_schema(schema)
        root = next(m for m in entry["metadata"] if m["breadcrumb"] == [])["metadata"]
        assert root["table-key-properties"] == ["RECORDNO"]
        assert root["valid-replication-keys"] == ["WHENMODIFIED"]
        assert entry["replication_method"] == "INCREMENTAL"
        props = schema["properties"]
        assert props["RECORDNO"]["type"] == "integer"  # the key is never null
        assert props["WHENMODIFIED"] == {
            "type": ["string", "null"],
            "format": "date-time",
            "description": props["WHENMODIFIED"]["description"],
        }
        assert props["MEGAENTITYID"]["type"] == ["string", "null"]
        automatic = {
            tuple(m["breadcrumb"])
            for m in entry["metadata"]
            if m["metadata"].get("inclusion") == "automatic"
        }
        assert ("properties", "MEGAENTITYID") in automatic
        for name, prop in props.items():
            if name != "RECORDNO":
                assert "null" in prop["type"], f"{entry['tap_stream_id']}.{name} is nullable"
    bills = _props(catalog, "ap_bills")
    assert bills["TOTALDUE"]["type"] == ["number", "null"]
    assert bills["WHENDUE"]["format"] == "date"
    assert bills["lines"]["items"]["properties"]["AMOUNT"]["type"] == ["number", "null"]
    assert bills["lines"]["items"]["properties"]["RECORDKEY"]["type"] == ["integer", "null"]
    customers = _props(catalog, "customers")
    assert customers["ONHOLD"]["type"] == ["boolean", "null"]
    city = customers["DISPLAYCONTACT"]["properties"]["MAILADDRESS"]["properties"]["CITY"]
    assert city["type"] == ["string", "null"]
    payments = _props(catalog, "ap_payments")
    assert payments["details"]["items"]["properties"]["PAYMENTKEY"]["type"] == ["integer", "null"]


def test_include_custom_fields_adds_them_from_lookup(sandbox: IntacctSandbox) -> None:
    sandbox.reset_log()
    config = sandbox.tap_config(include_custom_fields=True, timezone=PACIFIC_NAME)
    config.pop("start_date")
    tap = tap_class()(config=config)
    catalog = tap.catalog_dict
    assert len(sandbox.requests_for("getAPISession")) == 1
    assert len(sandbox.requests_for("lookup")) == len(STREAMS)
    customers = _props(catalog, "customers")
    assert customers["REGION"]["type"] == ["string", "null"]
    assert customers["MARKETING_OPT_IN"]["type"] == ["boolean", "null"]
    assert customers["CUSTOMER_SINCE"] == {
        "type": ["string", "null"],
        "format": "date",
        "description": customers["CUSTOMER_SINCE"]["description"],
    }
    assert _props(catalog, "vendors")["ONBOARDED_ON"]["format"] == "date"
    # Standard fields keep their bundled types (lookup does not override them).
    assert customers["RECORDNO"]["type"] == "integer"

    # A sync with that catalog reads the custom fields without another lookup.
    sandbox.reset_log()
    run = run_tap(config, catalog=catalog)
    assert sandbox.requests_for("lookup") == []
    company = sandbox.company
    for record in run.records("customers"):
        stored = company.get("CUSTOMER", record["RECORDNO"], typed=True)
        assert record["REGION"] == stored["REGION"]
        assert record["MARKETING_OPT_IN"] == stored["MARKETING_OPT_IN"]
        since = stored["CUSTOMER_SINCE"]
        assert record["CUSTOMER_SINCE"] == (since.isoformat() if since else None)
    assert any(r["REGION"] for r in run.records("customers"))
    # Without the setting the same catalog's extra fields are not asked for.
    sandbox.reset_log()
    plain = dict(config, include_custom_fields=False)
    run = run_tap(plain, catalog=catalog)
    assert sandbox.requests_for("lookup") == []
    assert all("REGION" not in r for r in run.records("customers"))


def test_settings_are_declared_with_defaults_and_descriptions() -> None:
    props = TapIntacct.config_jsonschema["properties"]
    for name in (
        "start_date",
        "lookback_minutes",
        "timezone",
        "page_size",
        "entity_id",
        "include_custom_fields",
        "sender_id",
        "api_url",
    ):
        assert props[name].get("description"), name
    assert props["lookback_minutes"]["default"] == 10
    assert props["timezone"]["default"] == "UTC"
    assert props["page_size"]["default"] == 1000
    assert props["page_size"]["maximum"] == 2000
    assert props["start_date"]["format"] == "date-time"
    assert props["sender_password"]["secret"] is True
    assert props["user_password"]["secret"] is True
    with pytest.raises(ConfigValidationError) as info:
        TapIntacct(config={**_dummy_config(), "page_size": 5000})
    assert any("2000" in error for error in info.value.errors)


def _dummy_config() -> dict[str, Any]:
    return {
        "sender_id": "s",
        "sender_password": "p",
        "user_id": "u",
        "user_password": "p",
        "company_id": "c",
    }


def test_a_bad_timezone_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="IANA"):
        TapIntacct(config={**_dummy_config(), "timezone": "Pacific Time"})


def test_no_secret_reaches_stdout_or_logs(
    sandbox: IntacctSandbox, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    config = sandbox.tap_config(timezone=PACIFIC_NAME)
    run = run_tap(config)
    assert run.records("customers")
    assert "Beginning sync of" in caplog.text or "Reading CUSTOMER" in caplog.text
    assert "getAPISession" in caplog.text or "session" in caplog.text.lower()
    text = json.dumps(run.messages, default=str) + caplog.text
    session_ids = [s.id for s in sandbox.sessions.all()]
    assert session_ids
    for secret in (config["sender_password"], config["user_password"], *session_ids):
        assert secret not in text
    assert all(not isinstance(v, float) for r in run.records("customers") for v in r.values())
