"""The Mailchimp sandbox's batch operations: async state machine and tar.gz results."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.sandbox.mailchimp import MailchimpSandbox


def md5(email: str) -> str:
    return hashlib.md5(email.lower().encode()).hexdigest()


@pytest.fixture
def mc() -> Iterator[MailchimpSandbox]:
    with MailchimpSandbox(batch_start_delay=0.0) as sandbox:
        yield sandbox


@pytest.fixture
def http(mc: MailchimpSandbox) -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.auth = ("tests", mc.api_key)
        yield session


def put_member_op(list_id: str, email: str, op_id: str, **body: Any) -> dict[str, Any]:
    payload = {"email_address": email, "status_if_new": "subscribed", **body}
    return {
        "method": "PUT",
        "path": f"/lists/{list_id}/members/{md5(email)}",
        "operation_id": op_id,
        "body": json.dumps(payload),
    }


def wait_finished(http: requests.Session, mc: MailchimpSandbox, batch_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        batch = http.get(f"{mc.base_url}/batches/{batch_id}").json()
        if batch["status"] == "finished":
            return batch
        time.sleep(0.02)
    raise AssertionError(f"batch {batch_id} did not finish")


def read_results(url: str) -> list[dict[str, Any]]:
    resp = requests.get(url, timeout=5)
    assert resp.status_code == 200
    results: list[dict[str, Any]] = []
    with tarfile.open(fileobj=io.BytesIO(resp.content), mode="r:gz") as tar:
        for member in tar.getmembers():
            if member.isfile():
                fh = tar.extractfile(member)
                assert fh is not None
                results.extend(json.loads(fh.read()))
    return results


def test_batch_goes_pending_started_finished(mc: MailchimpSandbox, http: requests.Session) -> None:
    mc.pause_batches()
    ops = [put_member_op(mc.list_id, f"b{i}@example.org", f"op-{i}") for i in range(3)]
    resp = http.post(f"{mc.base_url}/batches", json={"operations": ops})
    assert resp.status_code == 200
    batch = resp.json()
    assert batch["status"] == "pending"
    assert (batch["total_operations"], batch["finished_operations"]) == (3, 0)
    assert batch["response_body_url"] == ""
    time.sleep(0.05)
    assert http.get(f"{mc.base_url}/batches/{batch['id']}").json()["status"] == "pending"
    mc.resume_batches()
    done = wait_finished(http, mc, batch["id"])
    assert done["finished_operations"] == 3
    assert done["errored_operations"] == 0
    assert done["completed_at"]
    assert done["response_body_url"].startswith(mc.url + "/batch-results/")
    results = read_results(done["response_body_url"])
    assert sorted(r["operation_id"] for r in results) == ["op-0", "op-1", "op-2"]
    for r in results:
        assert r["status_code"] == 200
        assert isinstance(r["response"], str)
        assert json.loads(r["response"])["status"] == "subscribed"
    members = http.get(f"{mc.base_url}/lists/{mc.list_id}/members").json()
    assert members["total_items"] == 3


def test_batch_operations_obey_every_rule(mc: MailchimpSandbox, http: requests.Session) -> None:
    mc.seed_member("gone@example.org", "unsubscribed")
    ops = [
        put_member_op(mc.list_id, "ok@example.org", "ok"),
        put_member_op(mc.list_id, "gone@example.org", "compliance", status="subscribed"),
        put_member_op(mc.list_id, "x@example.invalid", "fake"),
        {
            "method": "POST",
            "path": "/ecommerce/stores/nope/orders",
            "operation_id": "404",
            "body": "{}",
        },
        {
            "method": "PATCH",
            "path": f"/lists/{mc.list_id}/members/{md5('ok@example.org')}",
            "operation_id": "badjson",
            "body": "{not json",
        },
        {
            "method": "GET",
            "path": f"/lists/{mc.list_id}/members",
            "operation_id": "get",
            "params": {"count": 1},
        },
    ]
    batch = http.post(f"{mc.base_url}/batches", json={"operations": ops}).json()
    done = wait_finished(http, mc, batch["id"])
    assert done["finished_operations"] == 6
    assert done["errored_operations"] == 4
    results = {r["operation_id"]: r for r in read_results(done["response_body_url"])}
    assert results["ok"]["status_code"] == 200
    assert results["compliance"]["status_code"] == 400
    assert json.loads(results["compliance"]["response"])["title"] == "Member In Compliance State"
    assert "looks fake" in json.loads(results["fake"]["response"])["detail"]
    assert results["404"]["status_code"] == 404
    assert json.loads(results["badjson"]["response"])["title"] == "JSON Parse Exception"
    assert results["get"]["status_code"] == 200
    assert len(json.loads(results["get"]["response"])["members"]) == 1


def test_batch_operations_do_not_count_against_connections(
    mc: MailchimpSandbox, http: requests.Session
) -> None:
    mc.reset_counters()
    ops = [put_member_op(mc.list_id, f"n{i}@example.org", str(i)) for i in range(30)]
    batch = http.post(f"{mc.base_url}/batches", json={"operations": ops}).json()
    assert mc.wait_for_batches(10)
    assert mc.stats.batch_operations == 30
    assert mc.count() == 1
    assert mc.count("POST", "/batches") == 1
    assert mc.stats.max_in_flight == 1
    assert http.get(f"{mc.base_url}/batches/{batch['id']}").json()["status"] == "finished"


def test_results_span_several_files_and_batches_list(http: requests.Session) -> None:
    with MailchimpSandbox(batch_start_delay=0.0, batch_result_chunk=2, batch_order="fifo") as mc:
        ops = [{"method": "GET", "path": "/ping", "operation_id": str(i)} for i in range(5)]
        batch = http.post(
            f"{mc.base_url}/batches", json={"operations": ops}, auth=("u", mc.api_key)
        ).json()
        assert mc.wait_for_batches(10)
        data = mc.batch_result(batch["id"])
        assert data is not None
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
            assert len(tar.getmembers()) == 3
        listing = requests.get(f"{mc.base_url}/batches", auth=("u", mc.api_key), timeout=5)
        assert [b["id"] for b in listing.json()["batches"]] == [batch["id"]]
        assert listing.json()["total_items"] == 1


def test_batch_body_must_be_a_string_and_method_known(
    mc: MailchimpSandbox, http: requests.Session
) -> None:
    bad = {"operations": [{"method": "PUT", "path": "/ping", "body": {"a": 1}}]}
    resp = http.post(f"{mc.base_url}/batches", json=bad)
    assert resp.status_code == 400
    assert resp.json()["errors"][0]["field"] == "operations.item:0.body"
    resp = http.post(
        f"{mc.base_url}/batches", json={"operations": [{"method": "FETCH", "path": "/ping"}]}
    )
    assert resp.status_code == 400
    assert http.get(f"{mc.base_url}/batches/nope").status_code == 404


def test_unknown_result_archive_is_404(mc: MailchimpSandbox) -> None:
    assert requests.get(f"{mc.url}/batch-results/nope.tar.gz", timeout=5).status_code == 404


def test_faults_can_hit_operations_inside_a_batch(
    mc: MailchimpSandbox, http: requests.Session
) -> None:
    mc.faults.add("503", times=1, batch_ops=True, path_prefix="/lists")
    ops = [put_member_op(mc.list_id, "f@example.org", "a")]
    batch = http.post(f"{mc.base_url}/batches", json={"operations": ops}).json()
    done = wait_finished(http, mc, batch["id"])
    assert done["errored_operations"] == 1
    (result,) = read_results(done["response_body_url"])
    assert result["status_code"] == 503
    assert mc.member("f@example.org") is None
