"""Batch operations: wire format, polling, results archive download and parsing."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
from collections.abc import Iterator
from typing import Any

import pytest

from target_mailchimp.api import (
    BatchOperation,
    BatchResultsError,
    BatchStatus,
    BatchTimeout,
    MailchimpClient,
    RetryPolicy,
    parse_batch_archive,
)
from target_mailchimp.api.batches import BatchArchiveError
from tests.target_mailchimp.test_api_scripted_server import Reply, ScriptedServer, problem

KEY = "abcdefabcdefabcdefabcdefabcdef12-us6"


def make_archive(files: dict[str, Any], *, raw: dict[str, bytes] | None = None) -> bytes:
    """A gzipped tar whose files hold JSON arrays (``response`` as a JSON string)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        dir_info = tarfile.TarInfo("results")
        dir_info.type = tarfile.DIRTYPE
        tar.addfile(dir_info)
        entries = {name: json.dumps(doc).encode() for name, doc in files.items()}
        entries.update(raw or {})
        for name, data in entries.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def op_result(op_id: str, status: int, response: Any) -> dict[str, Any]:
    return {
        "status_code": status,
        "operation_id": op_id,
        "response": response if isinstance(response, str) else json.dumps(response),
    }


ARCHIVE = make_archive(
    {
        "results/one.json": [
            op_result("rec-1", 200, {"id": "C-1", "email_address": "a@x.org"}),
            op_result(
                "rec-2",
                400,
                {
                    "title": "Invalid Resource",
                    "status": 400,
                    "detail": "An email address is required to create a customer.",
                    "errors": [{"field": "email_address", "message": "required"}],
                },
            ),
        ],
        "results/two.json": [op_result("rec-3", 204, "")],
    }
)


def test_archive_is_read_with_a_second_parse() -> None:
    results = parse_batch_archive(io.BytesIO(ARCHIVE))
    by_id = {r.operation_id: r for r in results}
    assert set(by_id) == {"rec-1", "rec-2", "rec-3"}
    assert by_id["rec-1"].ok
    assert by_id["rec-1"].response == {"id": "C-1", "email_address": "a@x.org"}
    assert not by_id["rec-2"].ok
    assert by_id["rec-2"].status_code == 400
    assert by_id["rec-2"].title == "Invalid Resource"
    assert by_id["rec-2"].detail.startswith("An email address")
    assert by_id["rec-3"].response is None  # a 204 has an empty response string
    assert by_id["rec-3"].ok


def test_archive_tolerates_odd_entries() -> None:
    data = make_archive(
        {
            "single.json": op_result("solo", 200, {"ok": 1}),  # an object, not an array
            "decoded.json": [{"status_code": 200, "operation_id": 7, "response": {"a": 1}}],
            "badresp.json": [op_result("x", 500, "<html>oops</html>")],
        },
        raw={"empty.json": b"  "},
    )
    by_id = {r.operation_id: r for r in parse_batch_archive(io.BytesIO(data))}
    assert by_id["solo"].response == {"ok": 1}
    assert by_id["7"].response == {"a": 1}
    assert by_id["x"].response is None
    assert by_id["x"].raw_response == "<html>oops</html>"


@pytest.mark.parametrize(
    "payload",
    [
        b"definitely not a tarball",
        gzip.compress(b"gzip but not tar"),
        make_archive({}, raw={"bad.json": b"{not json"}),
        make_archive({"list.json": ["not an object"]}),
    ],
    # Fixed ids: gzip stamps the time into its header, and ids that differ between
    # collections make pytest-xdist workers disagree on the test list.
    ids=["not-gzip", "gzip-not-tar", "bad-json", "result-not-an-object"],
)
def test_broken_archives_raise_a_clear_error(payload: bytes) -> None:
    with pytest.raises(BatchArchiveError):
        parse_batch_archive(io.BytesIO(payload))


def test_operation_wire_format() -> None:
    op = BatchOperation(
        "put", "/lists/L1/members/abc", "rec-1", {"email_address": "é@x.org", "n": 1}
    )
    wire = op.to_wire()
    assert wire == {
        "method": "PUT",
        "path": "/lists/L1/members/abc",
        "operation_id": "rec-1",
        "body": '{"email_address":"é@x.org","n":1}',
    }
    assert isinstance(wire["body"], str)
    get = BatchOperation.coerce(
        {"method": "GET", "path": "/lists/L1/members", "params": {"count": 10}}
    ).to_wire()
    assert get == {"method": "GET", "path": "/lists/L1/members", "params": {"count": 10}}
    assert BatchOperation("POST", "/x", body='{"pre":"encoded"}').to_wire()["body"] == (
        '{"pre":"encoded"}'
    )
    with pytest.raises(ValueError, match="method"):
        BatchOperation("TRACE", "/x").to_wire()
    with pytest.raises(ValueError, match="relative"):
        BatchOperation("GET", "https://evil.example/x").to_wire()
    with pytest.raises(ValueError, match="unknown batch operation keys"):
        BatchOperation.coerce({"method": "GET", "path": "/x", "bogus": 1})


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as srv:
        yield srv


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> float:
        return self.now


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()


@pytest.fixture
def mc(server: ScriptedServer, fake_time: FakeTime) -> Iterator[MailchimpClient]:
    policy = RetryPolicy(max_retries=3, sleep=fake_time.sleep, clock=fake_time.clock)
    with MailchimpClient(KEY, api_url=server.api_url, retry=policy) as client:
        yield client


def batch(status: str, url: str = "", done: int = 0, errored: int = 0) -> dict[str, Any]:
    return {
        "id": "b1",
        "status": status,
        "total_operations": 3,
        "finished_operations": done,
        "errored_operations": errored,
        "submitted_at": "2024-01-01T00:00:00+00:00",
        "completed_at": "",
        "response_body_url": url,
    }


def test_submit_sends_bodies_as_json_strings(server: ScriptedServer, mc: MailchimpClient) -> None:
    server.script(Reply(200, batch("pending")))
    status = mc.submit_batch(
        [
            BatchOperation("PUT", "/ecommerce/stores/s/customers/C-1", "rec-1", {"id": "C-1"}),
            {
                "method": "POST",
                "path": "/lists/L1",
                "operation_id": "rec-2",
                "body": {"members": []},
            },
        ]
    )
    assert status.id == "b1"
    assert status.status == "pending"
    assert not status.finished
    sent = server.requests[0]
    assert (sent.method, sent.path) == ("POST", "/3.0/batches")
    ops = sent.json["operations"]
    assert [json.loads(o["body"]) for o in ops] == [{"id": "C-1"}, {"members": []}]
    with pytest.raises(ValueError, match="at least one"):
        mc.submit_batch([])


def test_poll_backs_off_until_finished(
    server: ScriptedServer, mc: MailchimpClient, fake_time: FakeTime
) -> None:
    server.script(
        Reply(200, batch("pending")),
        Reply(200, batch("preprocessing")),
        Reply(200, batch("started", done=1)),
        Reply(200, batch("finalizing", done=3)),
        Reply(200, batch("finished", url="x", done=3, errored=1)),
    )
    status = mc.poll_batch("b1", initial_interval=5, max_interval=12)
    assert status.finished
    assert not status.succeeded
    assert status.errored_operations == 1
    assert fake_time.sleeps == [5, 10, 12, 12]
    assert all(r.path == "/3.0/batches/b1" for r in server.requests)


def test_poll_gives_up_at_the_deadline(
    server: ScriptedServer, mc: MailchimpClient, fake_time: FakeTime
) -> None:
    server.default = Reply(200, batch("started", done=1))
    with pytest.raises(BatchTimeout) as info:
        mc.poll_batch("b1", timeout=30, initial_interval=5, max_interval=60)
    assert info.value.batch_id == "b1"
    assert "still 'started'" in str(info.value)
    assert "1/3" in str(info.value)
    assert fake_time.now == pytest.approx(30)
    assert fake_time.sleeps == [5, 10, 15]  # the last wait is cut to the deadline


def test_fetch_results_from_another_origin_without_the_key(
    server: ScriptedServer, mc: MailchimpClient
) -> None:
    with ScriptedServer(default=Reply(200, ARCHIVE, content_type="application/x-gzip")) as store:
        url = store.origin + "/results/b1.tar.gz?X-Amz-Signature=abc"
        results = mc.fetch_batch_results(BatchStatus.from_api(batch("finished", url=url, done=3)))
    assert {r.operation_id for r in results} == {"rec-1", "rec-2", "rec-3"}
    download = store.requests[0]
    assert download.path == "/results/b1.tar.gz"
    assert "Authorization" not in download.headers
    assert server.requests == []  # no extra API call was needed


def test_fetch_results_refreshes_an_expired_link(
    server: ScriptedServer, mc: MailchimpClient
) -> None:
    with ScriptedServer() as store:
        store.script(
            Reply(403, "<Error><Code>AccessDenied</Code><Message>Request has expired</Message>"),
            Reply(200, ARCHIVE),
        )
        server.script(Reply(200, batch("finished", url=store.origin + "/fresh.tar.gz", done=3)))
        stale = BatchStatus.from_api(batch("finished", url=store.origin + "/old.tar.gz", done=3))
        results = mc.fetch_batch_results(stale)
    assert len(results) == 3
    assert [r.path for r in store.requests] == ["/old.tar.gz", "/fresh.tar.gz"]
    assert [r.path for r in server.requests] == ["/3.0/batches/b1"]


def test_fetch_results_retries_a_5xx_download(server: ScriptedServer, mc: MailchimpClient) -> None:
    with ScriptedServer() as store:
        store.script(Reply(503, None), Reply(200, ARCHIVE))
        results = mc.fetch_batch_results(
            BatchStatus.from_api(batch("finished", url=store.origin + "/r.tar.gz", done=3))
        )
    assert len(results) == 3
    assert len(store.requests) == 2


def test_fetch_results_of_a_broken_archive(server: ScriptedServer, mc: MailchimpClient) -> None:
    with (
        ScriptedServer(default=Reply(200, b"garbage")) as store,
        pytest.raises(BatchResultsError, match="tar"),
    ):
        mc.fetch_batch_results(
            BatchStatus.from_api(batch("finished", url=store.origin + "/r.tar.gz"))
        )


def test_fetch_results_needs_a_finished_batch(mc: MailchimpClient) -> None:
    with pytest.raises(ValueError, match="not finished"):
        mc.fetch_batch_results(BatchStatus.from_api(batch("started")))


def test_run_batch_end_to_end(server: ScriptedServer, mc: MailchimpClient) -> None:
    archive_path = "/batch-results/b1.tar.gz"

    def handler(req: Any) -> Reply:
        if req.path == archive_path:
            return Reply(200, ARCHIVE)
        return problem(404, "Resource Not Found")

    server.handler = handler
    server.script(
        Reply(200, batch("pending")),
        Reply(200, batch("started", done=1)),
        Reply(200, batch("finished", url=server.origin + archive_path, done=3, errored=1)),
    )
    run = mc.run_batch(
        [
            BatchOperation("PUT", "/ecommerce/stores/s/customers/C-1", "rec-1", {"id": "C-1"}),
            BatchOperation("PUT", "/ecommerce/stores/s/customers/C-2", "rec-2", {"id": "C-2"}),
            BatchOperation("DELETE", "/lists/L1/members/abc", "rec-3"),
        ]
    )
    assert run.status.finished
    assert [r.operation_id for r in run.failed] == ["rec-2"]
    assert run.by_operation_id()["rec-1"].response["id"] == "C-1"
    assert [r.method for r in server.requests] == ["POST", "GET", "GET", "GET"]
    # The archive is on the API's origin here, so the key goes with it.
    assert "Authorization" in server.requests[-1].headers


# --- adaptive polling of several batches (wait_for_batches) -------------------------------------


def _named(batch_id: str, status: str, done: int = 0, total: int = 3) -> dict[str, Any]:
    return {
        **batch(status, url="x" if status == "finished" else "", done=done),
        "id": batch_id,
        "total_operations": total,
    }


def test_polling_starts_soon_and_follows_the_reported_progress(
    server: ScriptedServer, mc: MailchimpClient, fake_time: FakeTime
) -> None:
    server.script(
        Reply(200, _named("b1", "started", done=10, total=40)),
        Reply(200, _named("b1", "started", done=20, total=40)),  # 10 ops in 0.5 s: 20/s
        Reply(200, _named("b1", "finished", done=40, total=40)),
    )
    finished = list(mc.wait_for_batches(["b1"], max_interval=5))
    assert [s.id for s in finished] == ["b1"] and finished[0].finished
    # A quarter second after submitting; then no rate yet, so twice that; then the 20
    # operations left at 20/s: polled when it should be done, one second later.
    assert fake_time.sleeps == [0.25, 0.5, 1.0]


def test_a_batch_without_progress_backs_off_to_the_poll_interval(
    server: ScriptedServer, mc: MailchimpClient, fake_time: FakeTime
) -> None:
    server.script(*[Reply(200, _named("b1", "pending")) for _ in range(5)])
    server.default = Reply(200, _named("b1", "finished", done=3))
    list(mc.wait_for_batches(["b1"], max_interval=2))
    assert fake_time.sleeps == [0.25, 0.5, 1.0, 2.0, 2.0, 2.0]
    assert len(server.requests) == 6


def test_batches_are_read_as_they_finish_and_a_queued_one_is_polled_again_soon(
    server: ScriptedServer, mc: MailchimpClient, fake_time: FakeTime
) -> None:
    server.script(
        Reply(200, _named("b1", "started", done=1)),  # t=0.25
        Reply(200, _named("b2", "pending")),  # t=0.25
        Reply(200, _named("b1", "finished", done=3)),  # t=0.75
        Reply(200, _named("b2", "started", done=1)),  # t=0.75: polled again at once
        Reply(200, _named("b2", "finished", done=3)),
    )
    order = [s.id for s in mc.wait_for_batches(["b1", "b2"], max_interval=5)]
    assert order == ["b1", "b2"]
    paths = [r.path for r in server.requests]
    assert (
        paths == ["/3.0/batches/b1", "/3.0/batches/b2", "/3.0/batches/b1"] + ["/3.0/batches/b2"] * 2
    )
    assert fake_time.now <= 1.5


def test_waiting_for_batches_gives_up_at_the_deadline(
    server: ScriptedServer, mc: MailchimpClient, fake_time: FakeTime
) -> None:
    server.default = Reply(200, _named("b1", "pending"))
    with pytest.raises(BatchTimeout) as info:
        list(mc.wait_for_batches(["b1"], timeout=10, max_interval=4))
    assert info.value.batch_id == "b1"
    assert fake_time.now == pytest.approx(10)
