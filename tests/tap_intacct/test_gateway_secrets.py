"""Passwords and session ids never reach logs, stdout, exceptions or repr()."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest

from tap_intacct.gateway import (
    ApiSession,
    GatewayConfig,
    IntacctError,
    IntacctGateway,
    LoginCredentials,
    SessionCache,
    SessionCredentials,
    create_function,
)
from tests.tap_intacct.gateway_support import (
    COMPANY_ID,
    SENDER_ID,
    SENDER_PASSWORD,
    USER_ID,
    USER_PASSWORD,
    FakeClock,
    FakeGateway,
    Recorded,
    Reply,
    ResultSpec,
    api_schema,
    auth_failure,
    passthrough,
    serve,
    success_response,
)

__all__ = ["api_schema"]


@pytest.fixture
def fake(api_schema: Any) -> Iterator[FakeGateway]:
    gateway = FakeGateway(api_schema)
    gateway.records["VENDOR"] = [{"RECORDNO": "1", "NAME": "A"}]
    with serve(gateway):
        yield gateway


def config(fake: FakeGateway, **overrides: Any) -> GatewayConfig:
    values: dict[str, Any] = {
        "sender_id": SENDER_ID,
        "sender_password": SENDER_PASSWORD,
        "user_id": USER_ID,
        "user_password": USER_PASSWORD,
        "company_id": COMPANY_ID,
        "api_url": fake.url,
        "max_retries": 2,
    }
    values.update(overrides)
    return GatewayConfig(**values)


def test_no_secret_in_logs_stdout_exceptions_or_repr(
    fake: FakeGateway, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    texts: list[str] = []
    cache = SessionCache()

    def echo_secrets(req: Recorded) -> Reply:
        # A gateway that echoes the credentials and the session back in an error text.
        return Reply(
            body=success_response(
                req.control_id or "",
                [
                    ResultSpec(
                        "failure",
                        req.function or "",
                        req.function_control_id or "",
                        None,
                        [
                            (
                                "BL01001973",
                                f"bad value {USER_PASSWORD}",
                                f"session {req.session_id} sender {SENDER_PASSWORD}",
                                "",
                            )
                        ],
                    )
                ],
            )
        )

    def invalid(req: Recorded) -> Reply:
        return Reply(
            body=auth_failure(
                req.control_id or "",
                [("XL03000006", "", f"Invalid session {req.session_id}", "")],
                user_id="",
                company_id="",
            )
        )

    with caplog.at_level(logging.DEBUG):
        client = IntacctGateway(
            config(fake), clock=FakeClock(), sleep=lambda _: None, session_cache=cache
        )
        texts.append(repr(client))
        client.query("VENDOR", ["RECORDNO", "NAME"])
        session = cache.get(client.session_key)
        assert session is not None
        texts += [repr(session), repr(cache)]
        # retries, a re-login after an invalid session, a write
        fake.fail_next(Reply(status=503), invalid, passthrough, passthrough)
        client.query("VENDOR", ["RECORDNO"])
        client.execute(create_function("CUSTOMER", {"CUSTOMERID": "C1"}), write=True)
        # failures whose texts carry secrets
        failures: list[IntacctError] = []
        fake.fail_next(echo_secrets)
        with pytest.raises(IntacctError) as caught:
            client.lookup("VENDOR")
        failures.append(caught.value)
        fake.fail_next(invalid, passthrough, invalid)
        with pytest.raises(IntacctError) as caught:
            client.lookup("CUSTOMER")
        failures.append(caught.value)
        fake.fail_next(*[Reply(status=502)] * 3)
        with pytest.raises(IntacctError) as caught:
            client.lookup("APBILL")
        failures.append(caught.value)
        bad = IntacctGateway(
            config(fake, user_password="not-" + USER_PASSWORD, company_id="OTHER"),
            sleep=lambda _: None,
            session_cache=cache,
        )
        with pytest.raises(IntacctError) as caught:
            bad.lookup("VENDOR")
        failures.append(caught.value)
        for failure in failures:
            texts += [str(failure), repr(failure), *(repr(e) for e in failure.errors)]
            texts += [str(a) for a in failure.args]
        texts += [repr(client.config), repr(cache), repr(bad)]
        client.close()
        bad.close()

    secrets = [SENDER_PASSWORD, USER_PASSWORD, "not-" + USER_PASSWORD, *fake.issued_sessions]
    assert len(fake.issued_sessions) >= 3
    captured = capsys.readouterr()
    texts += [captured.out, captured.err, caplog.text]
    texts += [r.getMessage() for r in caplog.records]
    joined = "\n".join(texts)
    assert "Invalid session" in joined  # the failures were really produced and logged
    assert "retry 1 of 2" in joined
    for secret in secrets:
        assert secret not in joined, f"a secret leaked: {secret[:4]}..."


def test_reprs_hide_passwords_and_session_ids() -> None:
    cfg = GatewayConfig(
        sender_id="s", sender_password="sp-123", user_id="u", user_password="up-456", company_id="c"
    )
    assert "sp-123" not in repr(cfg)
    assert "up-456" not in repr(cfg)
    assert "up-456" not in repr(LoginCredentials("u", "c", "up-456"))
    assert "sid-789" not in repr(SessionCredentials("sid-789"))
    client = IntacctGateway(cfg)
    assert "sp-123" not in repr(client)
    assert "up-456" not in repr(client)
    client.close()
    import datetime as dt

    session = ApiSession("sid-789", "https://x", "", dt.datetime.now(dt.UTC))
    assert "sid-789" not in repr(session)
