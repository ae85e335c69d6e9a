"""The Singer SDK's standard tap tests (get_tap_test_class), run against the Intacct sandbox.

The SDK builds the test class, and a Tap for its stream parameters, when this module is
imported, so the config must exist then. It is a dict whose ``api_url`` is filled in by a
module-scoped fixture that starts the sandbox (and stops it when the module's tests end);
the runner reads the same dict object when it syncs, after that fixture ran. Discovery at
import time needs no network (the schemas are bundled).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from singer_sdk.testing import SuiteConfig, get_tap_test_class

from tests.sandbox.intacct import IntacctSandbox, generate_company
from tests.tap_intacct.tap_support import PACIFIC_NAME, tap_class

SANDBOX = IntacctSandbox(
    generate_company(
        seed=51,
        customers=12,
        vendors=10,
        bills=12,
        payments=6,
        same_timestamp_run=4,
        invoices=8,
        ar_payments=4,
    )
)
CONFIG: dict[str, Any] = {
    "sender_id": SANDBOX.sender_id,
    "sender_password": SANDBOX.sender_password,
    "user_id": SANDBOX.user_id,
    "user_password": SANDBOX.user_password,
    "company_id": SANDBOX.company_id,
    # Replaced by the live sandbox URL before any test syncs (see running_sandbox).
    "api_url": "http://127.0.0.1:9/ia/xml/xmlgw.phtml",
    "timezone": PACIFIC_NAME,
    "page_size": 5,
}


@pytest.fixture(scope="module", autouse=True)
def running_sandbox() -> Iterator[IntacctSandbox]:
    SANDBOX.start()
    CONFIG["api_url"] = SANDBOX.gateway_url
    try:
        yield SANDBOX
    finally:
        SANDBOX.stop()


TestTapIntacct = get_tap_test_class(
    tap_class(),
    config=CONFIG,
    suite_config=SuiteConfig(max_records_limit=40),
    parse_env_config=False,
)


def test_the_standard_tests_read_from_the_sandbox_with_valid_requests(
    running_sandbox: IntacctSandbox,
) -> None:
    # Runs after the class above (pytest keeps file order): the SDK tests really synced
    # against the sandbox, and every envelope they caused passed api.xsd.
    assert running_sandbox.requests_for("query")
    assert running_sandbox.invalid_requests() == []
