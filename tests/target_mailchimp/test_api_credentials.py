"""Data-center routing, api_url overrides and key handling."""

from __future__ import annotations

import base64
import pickle

import pytest
import requests

from target_mailchimp.api import ApiKey, MailchimpClient, MailchimpConfigError, resolve_base_url
from target_mailchimp.api.credentials import ScopedBasicAuth

KEY = "0123456789abcdef0123456789abcdef-us6"


@pytest.mark.parametrize(
    ("key", "url"),
    [
        (KEY, "https://us6.api.mailchimp.com/3.0"),
        ("0123456789abcdef0123456789abcdef-eu1", "https://eu1.api.mailchimp.com/3.0"),
        ("0123456789abcdef0123456789abcdef-us21", "https://us21.api.mailchimp.com/3.0"),
        ("  0123456789abcdef0123456789abcdef-us6\n", "https://us6.api.mailchimp.com/3.0"),
        ("0123456789abcdef0123456789abcdef-US6", "https://us6.api.mailchimp.com/3.0"),
        # The data center is after the LAST dash.
        ("part-one-part-two-us19", "https://us19.api.mailchimp.com/3.0"),
    ],
)
def test_base_url_comes_from_the_data_center(key: str, url: str) -> None:
    assert resolve_base_url(ApiKey(key)) == url
    with MailchimpClient(key) as mc:
        assert mc.base_url == url


@pytest.mark.parametrize(
    "key",
    [
        "0123456789abcdef0123456789abcdef",  # no suffix at all
        "0123456789abcdef0123456789abcdef-",  # empty suffix
        "0123456789abcdef-evil.example.com",  # a host name, not a data center
        "0123456789abcdef-us6/..",  # path characters
        "0123456789abcdef-6us",  # wrong shape
    ],
)
def test_key_without_a_usable_data_center_is_refused(key: str) -> None:
    with pytest.raises(MailchimpConfigError, match="data center") as info:
        MailchimpClient(key)
    assert "api_url" in str(info.value)
    assert key.split("-", maxsplit=1)[0] not in str(info.value)


@pytest.mark.parametrize("key", ["", "   ", "abc def-us6", "abc\tdef-us6", "abc\x00-us6"])
def test_empty_or_garbled_key_is_refused(key: str) -> None:
    with pytest.raises(MailchimpConfigError, match="API key"):
        MailchimpClient(key)


def test_non_string_key_is_refused() -> None:
    with pytest.raises(MailchimpConfigError):
        ApiKey(12345)  # type: ignore[arg-type]


def test_api_url_lets_a_key_without_data_center_through() -> None:
    with MailchimpClient("sandbox-key", api_url="http://127.0.0.1:8080/3.0/") as mc:
        assert mc.base_url == "http://127.0.0.1:8080/3.0"
    with MailchimpClient("no_dash_at_all", api_url="http://localhost:1/3.0") as mc:
        assert mc.base_url == "http://localhost:1/3.0"


def test_api_url_wins_over_the_data_center() -> None:
    with MailchimpClient(KEY, api_url="https://api.mailchimp.com/3.0") as mc:
        assert mc.base_url == "https://api.mailchimp.com/3.0"


@pytest.mark.parametrize(
    ("api_url", "match"),
    [
        ("http://mailchimp.example.com/3.0", "plain http"),
        ("http://10.0.0.5/3.0", "plain http"),
        ("ftp://127.0.0.1/3.0", "absolute http"),
        ("127.0.0.1:8080/3.0", "absolute http"),
        ("https://user:pw@us6.api.mailchimp.com/3.0", "credentials"),
        ("https://us6.api.mailchimp.com/3.0?x=1", "query"),
    ],
)
def test_bad_api_url_is_refused(api_url: str, match: str) -> None:
    with pytest.raises(MailchimpConfigError, match=match):
        MailchimpClient(KEY, api_url=api_url)


def test_from_config_reads_the_target_settings() -> None:
    mc = MailchimpClient.from_config(
        {
            "api_key": KEY,
            "max_concurrency": 4,
            "request_timeout": 30,
            "max_retries": 2,
        }
    )
    with mc:
        assert mc.base_url == "https://us6.api.mailchimp.com/3.0"
        assert mc.max_concurrency == 4
        assert mc.transport.request_timeout == 30.0
        assert mc.transport.retry.max_retries == 2
    with pytest.raises(MailchimpConfigError, match="api_key"):
        MailchimpClient.from_config({})


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "8"])
def test_max_concurrency_must_be_a_small_positive_int(bad: object) -> None:
    with pytest.raises(MailchimpConfigError, match="max_concurrency"):
        MailchimpClient(KEY, max_concurrency=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [0, -5])
def test_request_timeout_must_be_positive(bad: float) -> None:
    with pytest.raises(MailchimpConfigError, match="request_timeout"):
        MailchimpClient(KEY, request_timeout=bad)


def test_key_object_never_shows_the_key() -> None:
    key = ApiKey(KEY)
    for text in (repr(key), str(key), f"{key}", repr([key])):
        assert "0123456789abcdef" not in text
        assert "ApiKey(key-" in text
    assert key.fingerprint == ApiKey(KEY).fingerprint
    assert key.fingerprint != ApiKey(KEY.replace("0", "1")).fingerprint
    with pytest.raises(TypeError):
        pickle.dumps(key)


def test_redact_removes_key_its_secret_part_and_the_basic_token() -> None:
    key = ApiKey(KEY)
    token = base64.b64encode(f"target-mailchimp:{KEY}".encode()).decode()
    text = f"a {KEY} b 0123456789abcdef0123456789abcdef c {token} d"
    out = key.redact(text)
    assert "0123456789abcdef" not in out
    assert token not in out
    assert out.count("***") == 3


def test_client_repr_and_session_do_not_show_the_key() -> None:
    with MailchimpClient(KEY) as mc:
        for text in (repr(mc), str(mc), repr(mc.transport), repr(mc.transport.session.auth)):
            assert "0123456789abcdef" not in text
        assert mc.transport.session.verify is True


def test_auth_is_sent_only_to_the_api_origin() -> None:
    auth = ScopedBasicAuth(ApiKey(KEY), "https://us6.api.mailchimp.com/3.0")
    expected = "Basic " + base64.b64encode(f"target-mailchimp:{KEY}".encode()).decode()

    def prepared(url: str) -> requests.PreparedRequest:
        return auth(requests.Request("GET", url).prepare())

    assert prepared("https://us6.api.mailchimp.com/3.0/ping").headers["Authorization"] == expected
    assert prepared("https://us6.api.mailchimp.com:443/3.0/x").headers["Authorization"] == expected
    for other in (
        "https://mailchimp-api-batch.s3.amazonaws.com/abc.tar.gz",
        "http://us6.api.mailchimp.com/3.0/ping",  # same host, other scheme
        "https://us6.api.mailchimp.com:8443/3.0/ping",  # other port
        "https://us6.api.mailchimp.com.evil.example/3.0/ping",
    ):
        assert "Authorization" not in prepared(other).headers
