"""The API key never reaches a log, stdout/stderr, an exception or a repr."""

from __future__ import annotations

import base64
import json
import logging
import pickle
import socket
import traceback
from collections.abc import Iterator

import pytest

from target_mailchimp.api import (
    MailchimpClient,
    MailchimpError,
    RetryPolicy,
)
from tests.target_mailchimp.test_api_scripted_server import Reply, ScriptedServer, problem

SECRET = "5ec2e75ec2e75ec2e75ec2e75ec2e7aa"
KEY = f"{SECRET}-us6"
TOKEN = base64.b64encode(f"target-mailchimp:{KEY}".encode()).decode()
NEEDLES = (SECRET, KEY, TOKEN, TOKEN[:20])


def assert_clean(text: str) -> None:
    for needle in NEEDLES:
        assert needle not in text


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as srv:
        yield srv


def test_nothing_leaks_across_success_failure_and_retries(
    server: ScriptedServer, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)  # root: urllib3, requests and ours at DEBUG
    server.script(
        Reply(200, {"health_status": "Everything's Chimpy!"}),
        Reply(429, None),
        Reply(502, "<html>502</html>"),
        Reply(200, {"id": "x"}),
        problem(401, "API Key Invalid", f"Your API key {KEY} may be invalid"),
        problem(
            400,
            "Invalid Resource",
            "bad",
            errors=[{"field": KEY, "message": f"echo {SECRET} and {TOKEN}"}],
        ),
        Reply(500, f"<html>{KEY}</html>"),
        Reply(500, None),
        Reply(503, None),
        Reply(200, {}, delay=0.4),  # read timeouts
        Reply(200, {}, delay=0.4),
        Reply(200, {}, delay=0.4),
    )
    errors: list[MailchimpError] = []
    with MailchimpClient(
        KEY, api_url=server.api_url, retry=RetryPolicy.no_wait(max_retries=2), request_timeout=0.2
    ) as mc:
        texts = [repr(mc), str(mc), repr(mc.transport), repr(mc.transport.session.auth)]
        mc.ping()
        texts.append(repr(mc.request("GET", "/lists/L1")))
        for _ in range(4):
            try:
                mc.request("POST", "/lists/L1", json={"members": [{"email_address": "a@x.org"}]})
            except MailchimpError as err:
                errors.append(err)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with MailchimpClient(
        KEY, api_url=f"http://127.0.0.1:{port}/3.0", retry=RetryPolicy.no_wait(max_retries=1)
    ) as dead:
        try:
            dead.ping()
        except MailchimpError as err:
            errors.append(err)
    assert [type(e).__name__ for e in errors] == [
        "Unauthorized",
        "BadRequest",
        "ServerError",
        "Unreachable",
        "Unreachable",
    ]
    assert errors[0].detail == "Your API key *** may be invalid"
    for err in errors:
        texts += [
            str(err),
            repr(err),
            json.dumps(err.to_dict()),
            "".join(traceback.format_exception(err)),
            repr(err.__dict__),
        ]
    for text in texts:
        assert_clean(text)
    assert caplog.records, "the calls were logged"
    assert any("Retrying" in r.getMessage() for r in caplog.records)
    assert_clean(caplog.text)
    for record in caplog.records:
        assert_clean(record.getMessage())
        assert_clean(repr(record.args))
    out, err_out = capsys.readouterr()
    assert_clean(out)
    assert_clean(err_out)
    # The server really did receive the key (the check above is not vacuous).
    assert server.requests[0].headers["Authorization"] == f"Basic {TOKEN}"


def test_config_errors_do_not_echo_the_key() -> None:
    for bad in (SECRET, f"{SECRET}-", f"{SECRET}-evil.example.com"):
        with pytest.raises(ValueError) as info:
            MailchimpClient(bad)
        assert_clean(str(info.value))
        assert_clean("".join(traceback.format_exception(info.value)))


def test_clients_cannot_be_pickled_with_the_key() -> None:
    with MailchimpClient(KEY) as mc, pytest.raises(TypeError):
        pickle.dumps(mc.transport._key)
