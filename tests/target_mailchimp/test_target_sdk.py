"""The Singer SDK's standard target tests that apply to target-mailchimp.

Included: `cli_prints` (--version, --about), `record_before_schema` (a RECORD before its
SCHEMA stops the run) and `invalid_schema` (a SCHEMA that is not valid JSON Schema stops
it).

Left out, on purpose:
- the data tests (array_data, camelcase, duplicate_records, encoded_string_data,
  no_primary_keys, optional_attributes, schema_no_properties, schema_updates, pk_updates,
  special_chars_in_attributes, record_missing_fields, record_missing_required_property,
  camelcase_complex_schema): their streams are generic (`test_*`), and this target writes
  only the streams it knows, stopping with a clear error on any other (tested in
  test_target_runs.py). The real streams get the same coverage in the sink tests.
- record_missing_key_property: it expects the run to stop on a record without its key
  property; this target rejects such a record into the audit trail (with a reason) and goes
  on with the others, as the project's rules require (tested in test_sinks_contacts.py).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from singer_sdk.testing import SuiteConfig, get_target_test_class
from singer_sdk.testing.suites import SingerTestSuite
from singer_sdk.testing.target_tests import (
    TargetCliPrintsTest,
    TargetInvalidSchemaTest,
    TargetRecordBeforeSchemaTest,
)

from target_mailchimp.target import TargetMailchimp

_LEDGER_DIR = Path(tempfile.mkdtemp(prefix="target-mailchimp-sdk-tests-"))

CONFIG = {
    "api_key": "0123456789abcdef0123456789abcdef-us6",
    # Nothing may be sent: none of these tests gets as far as a write.
    "api_url": "http://127.0.0.1:9/3.0",
    "list_id": "a1b2c3d4e5",
    "status_if_new": "pending",
    "ledger_url": f"sqlite:///{_LEDGER_DIR / 'ledger.sqlite'}",
    "max_retries": 0,
}

TestTargetMailchimpStandard = get_target_test_class(
    TargetMailchimp,
    config=CONFIG,
    include_target_tests=False,
    custom_suites=[
        SingerTestSuite(
            kind="target",
            tests=[TargetCliPrintsTest, TargetRecordBeforeSchemaTest, TargetInvalidSchemaTest],
        )
    ],
    suite_config=SuiteConfig(),
)
