"""A running Intacct sandbox and one session on it, for the tests of the sandbox's functions.

A test module imports the fixtures `sb` and `sid` and defines `company` (the data the
sandbox serves); `run` posts one function in that session and returns its `<result>`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from lxml import etree

from tests.sandbox.intacct import Company, IntacctSandbox
from tests.sandbox.intacct import envelope as env


@pytest.fixture(scope="module")
def sb(company: Company) -> Iterator[IntacctSandbox]:
    with IntacctSandbox(company) as box:
        yield box


@pytest.fixture(scope="module")
def sid(sb: IntacctSandbox) -> str:
    return env.session(sb)


def run(sb: IntacctSandbox, sid: str, body: str) -> etree._Element:
    root = env.post(sb.session_endpoint_url, env.request(sb, [("f", body)], session_id=sid))
    result = root.find("operation/result")
    assert result is not None, etree.tostring(root)
    return result
