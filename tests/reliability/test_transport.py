"""TLS verification stays on, every request has a timeout, plain http only to loopback, and the
sandboxes listen on loopback only.

Every HTTP request both plugins make during a small sync (batch operations and their result
download included) is recorded at the transport adapter, where requests hands over the final
`timeout` and `verify` values, whatever the session or the environment set.
"""

from __future__ import annotations

import socket
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from requests.adapters import HTTPAdapter

from tap_intacct.gateway import Filter, GatewayConfig, IntacctGateway, SessionCache
from target_mailchimp.api import MailchimpClient, MailchimpConfigError
from tests.reliability.test_faults_kit import assert_matches_oracle, run_pipeline
from tests.run_support import run_captured
from tests.sandbox.intacct import IntacctSandbox, generate_company
from tests.sandbox.mailchimp import MailchimpSandbox

REPO_ROOT = Path(__file__).resolve().parents[2]
KEY = "0123456789abcdef0123456789abcdef-us6"


@pytest.fixture
def adapter_calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[dict[str, Any]]]:
    calls: list[dict[str, Any]] = []
    original = HTTPAdapter.send

    def send(self: HTTPAdapter, request: requests.PreparedRequest, **kwargs: Any) -> Any:
        calls.append({"url": request.url, **kwargs})
        return original(self, request, **kwargs)

    monkeypatch.setattr(HTTPAdapter, "send", send)
    yield calls


def _finite_timeout(timeout: Any) -> bool:
    parts = timeout if isinstance(timeout, tuple) else (timeout,)
    return all(isinstance(p, int | float) and 0 < p < 3600 for p in parts)


def test_every_request_of_a_sync_has_a_timeout_and_verifies_tls(
    adapter_calls: list[dict[str, Any]], tmp_path: Path
) -> None:
    company = generate_company(seed=41, customers=6, vendors=4, bills=8, payments=4)
    with IntacctSandbox(company) as intacct, MailchimpSandbox(batch_start_delay=0.0) as mc:
        run_pipeline(
            intacct,
            mc,
            tmp_path,
            target_config={"batch_operations": "always", "request_timeout": 30},
            tap_config={"request_timeout": 40},
        )
        assert_matches_oracle(mc, company)
        intacct_url, mc_url = intacct.base_url, mc.url
    seen = {"/".join(c["url"].split("/", 3)[:3]) for c in adapter_calls}
    assert {intacct_url, mc_url} <= seen, seen
    assert any("/batch-results/" in c["url"] for c in adapter_calls), "no batch download seen"
    assert any("/batches" in c["url"] for c in adapter_calls)
    for call in adapter_calls:
        assert _finite_timeout(call.get("timeout")), call
        assert call.get("verify") is True or (
            isinstance(call.get("verify"), str) and call["verify"]
        ), call
    intacct_timeouts = {c["timeout"] for c in adapter_calls if c["url"].startswith(intacct_url)}
    assert intacct_timeouts == {40} or all(
        isinstance(t, tuple) and t[-1] == 40 for t in intacct_timeouts
    ), intacct_timeouts
    mc_reads = {
        c["timeout"][-1] if isinstance(c["timeout"], tuple) else c["timeout"]
        for c in adapter_calls
        if c["url"].startswith(mc_url)
    }
    assert mc_reads == {30}, mc_reads


def test_the_gateway_refuses_a_session_without_tls_verification() -> None:
    config = GatewayConfig.from_mapping(
        {
            "sender_id": "s",
            "sender_password": "p",
            "user_id": "u",
            "user_password": "p",
            "company_id": "c",
        }
    )
    insecure = requests.Session()
    insecure.verify = False
    with pytest.raises(ValueError, match="TLS"):
        IntacctGateway(config, session=insecure)
    with IntacctGateway(config) as gw:
        assert gw._http.verify is True


def test_the_mailchimp_client_keeps_tls_verification_on() -> None:
    client = MailchimpClient(KEY)
    try:
        assert client.transport.session.verify is True
        assert client.base_url == "https://us6.api.mailchimp.com/3.0"
    finally:
        client.close()


_CREDENTIALS = {
    "sender_id": "s",
    "sender_password": "p",
    "user_id": "u",
    "user_password": "p",
    "company_id": "c",
}


@pytest.mark.parametrize(
    "url",
    [
        "http://api.intacct.com/ia/xml/xmlgw.phtml",
        "http://10.0.0.5:8080/ia/xml/xmlgw.phtml",
        "http://intacct.example.com/ia/xml/xmlgw.phtml",
    ],
)
def test_plain_http_to_a_host_other_than_loopback_is_refused(url: str) -> None:
    with pytest.raises(ValueError, match="http"):
        GatewayConfig.from_mapping({**_CREDENTIALS, "api_url": url})
    with pytest.raises(MailchimpConfigError, match="http"):
        MailchimpClient(KEY, api_url=url.replace("/ia/xml/xmlgw.phtml", "/3.0"))


@pytest.mark.parametrize(
    "url",
    [
        "https://api.intacct.com/ia/xml/xmlgw.phtml",
        "http://127.0.0.1:8080/ia/xml/xmlgw.phtml",
        "http://localhost:8080/ia/xml/xmlgw.phtml",
        "http://[::1]:8080/ia/xml/xmlgw.phtml",
    ],
)
def test_https_and_loopback_http_are_accepted(url: str) -> None:
    assert GatewayConfig.from_mapping({**_CREDENTIALS, "api_url": url}).api_url == url
    client = MailchimpClient(KEY, api_url=url.replace("/ia/xml/xmlgw.phtml", "/3.0"))
    client.close()


class _DowngradingSandbox(IntacctSandbox):
    """Answers getAPISession with a plain-http endpoint on another host."""

    @property
    def session_endpoint_url(self) -> str:
        return "http://intacct.invalid/ia/xml/xmlgw.phtml"


def test_a_plain_http_session_endpoint_on_another_host_is_never_used(
    adapter_calls: list[dict[str, Any]],
) -> None:
    company = generate_company(seed=42, customers=3, vendors=1, bills=1, payments=0)
    with _DowngradingSandbox(company) as sb:
        config = GatewayConfig.from_mapping(sb.tap_config(max_retries=0))
        with IntacctGateway(config, sleep=lambda _s: None, session_cache=SessionCache()) as gw:
            rows = list(
                gw.iter_records("CUSTOMER", ["RECORDNO"], filter=Filter.isnotnull("RECORDNO"))
            )
        assert len(rows) == 3
        assert all(c["url"].startswith(sb.base_url) for c in adapter_calls), adapter_calls


# ------------------------------------------------------------------ sandboxes on loopback


@pytest.mark.parametrize("host", ["0.0.0.0", "", "192.0.2.10", "example.com"])
def test_the_sandboxes_refuse_to_listen_beyond_loopback(host: str) -> None:
    with pytest.raises(ValueError, match="loopback"):
        IntacctSandbox(
            generate_company(seed=1, customers=1, vendors=1, bills=0, payments=0), host=host
        )
    with pytest.raises(ValueError, match="loopback"):
        MailchimpSandbox(host=host)


def _bound_address(server: Any) -> str:
    address: str = server._server.socket.getsockname()[0]
    return address


def test_the_sandboxes_bind_127_0_0_1() -> None:
    company = generate_company(seed=1, customers=1, vendors=1, bills=0, payments=0)
    with IntacctSandbox(company) as intacct, MailchimpSandbox() as mc:
        for sb in (intacct, mc):
            assert _bound_address(sb) == "127.0.0.1"
            assert sb.base_url.startswith("http://127.0.0.1:")
            # nothing answers on the machine's other addresses
            for other in _non_loopback_addresses():
                with socket.socket() as probe:
                    probe.settimeout(0.5)
                    assert probe.connect_ex((other, sb.port)) != 0, (other, sb.port)


def _non_loopback_addresses() -> list[str]:
    """This machine's IPv4 addresses other than loopback (those a 0.0.0.0 bind would serve)."""
    found: set[str] = set()
    try:
        for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET):
            found.add(str(info[4][0]))
    except OSError:
        pass
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        try:
            s.connect(("192.0.2.1", 9))  # no packet is sent: this only picks a route
            found.add(s.getsockname()[0])
        except OSError:
            pass
    return sorted(a for a in found if not a.startswith("127."))


@pytest.mark.parametrize("module", ["tests.sandbox.intacct", "tests.sandbox.mailchimp"])
def test_the_sandbox_command_lines_refuse_a_public_host(module: str, tmp_path: Path) -> None:
    done = run_captured(
        [sys.executable, "-m", module, "--host", "0.0.0.0", "--url-file", str(tmp_path / "url")],
        cwd=REPO_ROOT,
        timeout=60,
    )
    assert done.returncode != 0
    assert "loopback" in done.stderr
    assert not (tmp_path / "url").exists()
