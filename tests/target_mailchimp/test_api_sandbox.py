"""The API client against the Mailchimp sandbox over real loopback HTTP, faults included."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from target_mailchimp.api import (
    BadRequest,
    BatchOperation,
    MailchimpClient,
    NotFound,
    RetryPolicy,
    ServerError,
    TooManyRequests,
    Unauthorized,
    subscriber_hash,
)
from tests.sandbox.mailchimp import MailchimpSandbox


@pytest.fixture
def sandbox() -> Iterator[MailchimpSandbox]:
    with MailchimpSandbox(batch_start_delay=0.01) as sb:
        yield sb


def client(sb: MailchimpSandbox, **kw: object) -> MailchimpClient:
    kw.setdefault("retry", RetryPolicy.no_wait())
    kw.setdefault("request_timeout", 5)
    return MailchimpClient(sb.api_key, api_url=sb.base_url, **kw)  # type: ignore[arg-type]


@pytest.fixture
def mc(sandbox: MailchimpSandbox) -> Iterator[MailchimpClient]:
    with client(sandbox) as c:
        yield c


STORE = {"id": "intacct-ap", "name": "Intacct AP", "currency_code": "USD"}
PRODUCT = {
    "id": "GL-6000",
    "title": "Office supplies",
    "variants": [{"id": "GL-6000", "title": "Office supplies"}],
}


def order(order_id: str = "BILL-1", **extra: object) -> dict[str, object]:
    return {
        "id": order_id,
        "customer": {"id": "V-1"},
        "currency_code": "USD",
        "order_total": 120.5,
        "financial_status": "pending",
        "lines": [
            {
                "id": "L1",
                "product_id": "GL-6000",
                "product_variant_id": "GL-6000",
                "quantity": 1,
                "price": 120.5,
            }
        ],
        **extra,
    }


def shop(mc: MailchimpClient, sb: MailchimpSandbox) -> str:
    """A store with one customer and one product, ready for orders."""
    mc.ensure_store({**STORE, "list_id": sb.list_id})
    mc.upsert_customer(
        STORE["id"], {"id": "V-1", "email_address": "vendor@acme.org", "opt_in_status": False}
    )
    mc.create_or_update_product(STORE["id"], PRODUCT)
    return STORE["id"]


# -- basics -----------------------------------------------------------------------------------


def test_ping_list_and_merge_fields(sandbox: MailchimpSandbox, mc: MailchimpClient) -> None:
    assert mc.ping() == "Everything's Chimpy!"
    assert mc.get_list(sandbox.list_id)["id"] == sandbox.list_id
    tags = {f["tag"] for f in mc.get_merge_fields(sandbox.list_id)}
    assert {"FNAME", "LNAME", "ADDRESS", "PHONE"} <= tags
    created = mc.create_merge_field(sandbox.list_id, tag="COMPANY", name="Company", type="text")
    again = mc.create_merge_field(sandbox.list_id, tag="COMPANY", name="Company", type="text")
    assert (created.action, again.action) == ("created", "unchanged")
    assert again.data["merge_id"] == created.data["merge_id"]
    assert [f["tag"] for f in mc.get_merge_fields(sandbox.list_id)].count("COMPANY") == 1


def test_wrong_key_is_unauthorized_and_not_retried(sandbox: MailchimpSandbox) -> None:
    with (
        MailchimpClient(
            "0" * 32 + "-us6", api_url=sandbox.base_url, retry=RetryPolicy.no_wait()
        ) as bad,
        pytest.raises(Unauthorized) as info,
    ):
        bad.ping()
    assert info.value.attempts == 1
    assert info.value.request_id
    assert sandbox.count(path_prefix="/ping") == 1  # no second attempt


def test_schema_violations_come_back_as_bad_request_with_errors(
    sandbox: MailchimpSandbox, mc: MailchimpClient
) -> None:
    path = f"/lists/{sandbox.list_id}/members/{subscriber_hash('q@acme.org')}"
    with pytest.raises(BadRequest) as info:
        mc.request("PUT", path, json={"email_address": 5, "status_if_new": "bogus"})
    err = info.value
    assert err.is_invalid_resource
    assert err.attempts == 1
    assert {"email_address", "status_if_new"} <= set(err.field_errors)
    assert err.request_id
    assert sandbox.member("q@acme.org") is None


# -- members ----------------------------------------------------------------------------------


def test_batch_subscribe_reports_each_member(
    sandbox: MailchimpSandbox, mc: MailchimpClient
) -> None:
    sandbox.seed_member("left@acme.org", status="unsubscribed")
    sandbox.seed_member("known@acme.org", status="subscribed")
    sandbox.forget("erased@acme.org")
    members = [
        {"email_address": "new@acme.org", "status_if_new": "subscribed", "tags": ["Vendor"]},
        {"email_address": "Known@Acme.org", "status_if_new": "subscribed"},
        {"email_address": "fake@example.invalid", "status_if_new": "subscribed"},
        {"email_address": "left@acme.org", "status": "subscribed"},
        {"email_address": "erased@acme.org", "status_if_new": "subscribed"},
        {
            "email_address": "addr@acme.org",
            "status_if_new": "subscribed",
            "merge_fields": {"ADDRESS": {"addr1": "1 Main St"}},
        },
    ]
    res = mc.batch_subscribe(sandbox.list_id, members)
    assert (res.total_created, res.total_updated, res.error_count) == (1, 1, 4)
    errors = res.errors_by_email()
    assert errors["fake@example.invalid"].is_fake_or_invalid
    assert errors["left@acme.org"].is_compliance_state
    assert errors["erased@acme.org"].is_forgotten
    assert errors["addr@acme.org"].field == "ADDRESS"
    assert res.request_id
    assert sandbox.member("new@acme.org")["status"] == "subscribed"
    assert sandbox.member("left@acme.org")["status"] == "unsubscribed"  # never re-subscribed
    with pytest.raises(ValueError, match="at most 500"):
        mc.batch_subscribe(
            sandbox.list_id, [{"email_address": f"{i}@acme.org"} for i in range(501)]
        )


def test_batch_subscribe_all_handles_more_than_500(
    sandbox: MailchimpSandbox, mc: MailchimpClient
) -> None:
    members = [
        {"email_address": f"m{i}@acme.org", "status_if_new": "subscribed"} for i in range(1001)
    ]
    results = mc.batch_subscribe_all(sandbox.list_id, members)
    assert [r.total_created for r in results] == [500, 500, 1]
    assert sandbox.count(method="POST", path_prefix=f"/lists/{sandbox.list_id}") == 3


def test_member_upsert_tags_and_archive(sandbox: MailchimpSandbox, mc: MailchimpClient) -> None:
    sandbox.seed_member("quiet@acme.org", status="unsubscribed")
    mc.upsert_member(
        sandbox.list_id,
        "Quiet@Acme.org",
        {"status_if_new": "subscribed", "merge_fields": {"FNAME": "Q"}},
    )
    member = mc.get_member(sandbox.list_id, "quiet@acme.org")
    assert member is not None
    assert member["status"] == "unsubscribed"  # status_if_new leaves existing members alone
    assert member["merge_fields"]["FNAME"] == "Q"
    mc.update_member_tags(sandbox.list_id, "quiet@acme.org", [("Vendor", True), ("Old", False)])
    assert mc.get_member_tags(sandbox.list_id, "quiet@acme.org") == ["Vendor"]
    mc.update_member_tags(sandbox.list_id, "quiet@acme.org", {"Vendor": False})
    assert mc.get_member_tags(sandbox.list_id, "quiet@acme.org") == []
    assert mc.archive_member(sandbox.list_id, "quiet@acme.org").action == "archived"
    assert sandbox.member("quiet@acme.org")["status"] == "archived"
    assert mc.archive_member(sandbox.list_id, "nobody@acme.org").action == "absent"


# -- e-commerce -------------------------------------------------------------------------------


def test_store_customer_product(sandbox: MailchimpSandbox, mc: MailchimpClient) -> None:
    store = {**STORE, "list_id": sandbox.list_id}
    assert mc.ensure_store(store).action == "created"
    assert mc.ensure_store(store).action == "unchanged"
    assert mc.set_store_syncing(STORE["id"], True).data["is_syncing"] is True
    assert mc.ensure_store({**store, "is_syncing": False}).action == "updated"
    other = sandbox.add_list()
    with pytest.raises(ValueError, match="tied to one audience"):
        mc.ensure_store({**STORE, "list_id": other})
    customer = {"id": "V-1", "email_address": "vendor@acme.org", "opt_in_status": False}
    mc.upsert_customer(STORE["id"], customer)
    assert mc.get_customer(STORE["id"], "V-1")["email_address"] == "vendor@acme.org"
    assert sandbox.member("vendor@acme.org")["status"] == "transactional"
    assert mc.create_or_update_product(STORE["id"], PRODUCT).action == "created"
    renamed = {**PRODUCT, "title": "Office supplies and paper"}
    assert mc.create_or_update_product(STORE["id"], renamed).action == "updated"
    assert mc.get_product(STORE["id"], "GL-6000")["title"] == "Office supplies and paper"
    with pytest.raises(BadRequest) as info:
        mc.create_product(STORE["id"], PRODUCT)
    assert info.value.is_already_exists
    assert mc.get_product(STORE["id"], "nope") is None


def test_order_create_or_update(sandbox: MailchimpSandbox, mc: MailchimpClient) -> None:
    store_id = shop(mc, sandbox)
    first = mc.create_or_update_order(store_id, order())
    assert (first.action, first.recovered) == ("created", False)
    paid = mc.create_or_update_order(store_id, order(financial_status="paid"))
    assert (paid.action, paid.recovered) == ("updated", False)
    assert mc.get_order(store_id, "BILL-1")["financial_status"] == "paid"
    assert (
        sandbox.count(method="PATCH", path_prefix=f"/ecommerce/stores/{store_id}/orders/BILL-1")
        == 1
    )
    with pytest.raises(NotFound):
        mc.update_order(store_id, "BILL-404", {"financial_status": "paid"})
    via_patch = mc.create_or_update_order(store_id, order("BILL-2"), prefer_update=True)
    assert via_patch.action == "created"
    bad = order("BILL-3")
    bad["lines"][0]["product_id"] = "GL-9999"  # type: ignore[index]
    with pytest.raises(BadRequest) as info:
        mc.create_or_update_order(store_id, bad)
    assert info.value.is_unknown_product
    assert mc.get_order(store_id, "BILL-3") is None


@pytest.mark.parametrize("fault", ["timeout", "500", "502_html"])
def test_lost_order_answer_is_recovered_by_patch(sandbox: MailchimpSandbox, fault: str) -> None:
    with client(sandbox, request_timeout=0.3) as mc:
        store_id = shop(mc, sandbox)
        sandbox.faults.add(
            fault,
            path_prefix=f"/ecommerce/stores/{store_id}/orders",
            method="POST",
            seconds=0.8,
            execute=True,  # the order is written, the client never sees the answer
        )
        res = mc.create_or_update_order(store_id, order(financial_status="paid"))
    assert (res.action, res.recovered) == ("updated", True)
    assert res.calls[0]["attempts"] == 2
    assert res.calls[0]["status"] == 400
    assert sandbox.faults.count(fault) == 1
    orders = sandbox.snapshot()["stores"][store_id]["orders"]
    assert list(orders) == ["BILL-1"]
    assert orders["BILL-1"]["financial_status"] == "paid"


# -- faults -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kind",
    ["429", "429_no_body", "403_no_body", "500", "502", "502_html", "503", "504", "disconnect"],
)
def test_transient_faults_are_retried(
    sandbox: MailchimpSandbox, mc: MailchimpClient, kind: str
) -> None:
    sandbox.faults.add(kind, times=2, path_prefix=f"/lists/{sandbox.list_id}")
    res = mc.batch_subscribe(
        sandbox.list_id, [{"email_address": "r@acme.org", "status_if_new": "subscribed"}]
    )
    assert res.attempts == 3
    assert len(res.response.retry_reasons) == 2
    assert sandbox.faults.count(kind) == 2
    assert sandbox.member("r@acme.org")["status"] == "subscribed"


def test_a_429_burst_longer_than_the_retries_surfaces(
    sandbox: MailchimpSandbox, mc: MailchimpClient
) -> None:
    sandbox.faults.add("429", times=None, path_prefix="/ping")
    with pytest.raises(TooManyRequests) as info:
        mc.ping()
    assert info.value.attempts == 6
    assert sandbox.count(path_prefix="/ping", status=429) == 6


def test_5xx_storm_that_never_ends_raises_server_error(sandbox: MailchimpSandbox) -> None:
    sandbox.faults.add("503", times=None)
    with (
        client(sandbox, retry=RetryPolicy.no_wait(max_retries=2)) as mc,
        pytest.raises(ServerError) as info,
    ):
        mc.get_list(sandbox.list_id)
    assert info.value.attempts == 3


def test_slow_answer_within_the_timeout_is_fine(
    sandbox: MailchimpSandbox, mc: MailchimpClient
) -> None:
    sandbox.faults.add("slow", seconds=0.2)
    resp = mc.request("GET", "/ping")
    assert resp.attempts == 1
    assert resp.elapsed >= 0.2


def test_timeout_on_an_idempotent_put_is_retried(sandbox: MailchimpSandbox) -> None:
    with client(sandbox, request_timeout=0.3) as mc:
        sandbox.faults.add("timeout", seconds=0.8, method="PUT")
        res = mc.upsert_member(sandbox.list_id, "t@acme.org", {"status_if_new": "subscribed"})
    assert res.attempts == 2
    assert "read timeout" in res.calls[0]["retry_reasons"][0]
    assert sandbox.member("t@acme.org")["status"] == "subscribed"


def test_random_storm_with_concurrency(sandbox: MailchimpSandbox) -> None:
    sandbox.faults.storm(rate_5xx=0.2, rate_429=0.1, rate_403=0.05, seed=7)
    with client(sandbox, retry=RetryPolicy.no_wait(max_retries=8), max_concurrency=8) as mc:
        emails = [f"s{i}@acme.org" for i in range(40)]
        with ThreadPoolExecutor(max_workers=12) as pool:
            list(
                pool.map(
                    lambda e: mc.upsert_member(sandbox.list_id, e, {"status_if_new": "subscribed"}),
                    emails,
                )
            )
        assert mc.transport.stats.retries > 0
    sandbox.faults.calm()
    assert all(sandbox.member(e)["status"] == "subscribed" for e in emails)
    assert sandbox.stats.max_in_flight <= 8


# -- the 10-connection limit -------------------------------------------------------------------


def test_thirty_threads_stay_under_the_account_limit(sandbox: MailchimpSandbox) -> None:
    sandbox.latency = 0.03
    with (
        client(sandbox, max_concurrency=25) as mc,  # clamped to 10
        ThreadPoolExecutor(max_workers=30) as pool,
    ):
        statuses = list(pool.map(lambda _: mc.request("GET", "/ping").status, range(30)))
    assert statuses == [200] * 30
    assert sandbox.stats.max_in_flight <= 10
    assert sandbox.stats.rejected_concurrency == 0


def test_an_eleventh_connection_gets_429_and_is_retried(sandbox: MailchimpSandbox) -> None:
    """Ten requests from elsewhere hold every slot; the client's call is refused with 429
    and succeeds once they finish (its wait is spent waiting for them)."""
    # The ten are held until released, not for a set latency: on a loaded machine a latency
    # could run out before the client's call arrives, and then nothing would refuse it.
    hold = sandbox.faults.add("slow", times=10, seconds=30, path_prefix="/ping")
    others = [
        threading.Thread(
            target=requests.get,
            args=(sandbox.base_url + "/ping",),
            kwargs={"auth": ("other-process", sandbox.api_key), "timeout": 35},
        )
        for _ in range(10)
    ]
    for t in others:
        t.start()
    deadline = time.monotonic() + 5
    while sandbox.stats.in_flight < 10 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert sandbox.stats.in_flight == 10

    def wait_for_others(_seconds: float) -> None:
        hold.release()
        for t in others:
            t.join(5)

    try:
        with client(sandbox, retry=RetryPolicy(max_retries=3, sleep=wait_for_others)) as mc:
            resp = mc.request("GET", "/lists")
    finally:
        hold.release()
        for t in others:
            t.join(5)
    assert resp.attempts == 2
    assert "429" in resp.retry_reasons[0]
    assert sandbox.stats.rejected_concurrency == 1


def test_a_stricter_sandbox_limit_is_absorbed_by_retries(sandbox: MailchimpSandbox) -> None:
    sandbox.max_connections = 3
    sandbox.latency = 0.02
    policy = RetryPolicy(max_retries=20, factor=0.01, max_wait=0.05, sleep=time.sleep)
    with client(sandbox, retry=policy, max_concurrency=6) as mc:
        with ThreadPoolExecutor(max_workers=12) as pool:
            statuses = list(pool.map(lambda _: mc.request("GET", "/ping").status, range(24)))
        retries = mc.transport.stats.retries
    assert statuses == [200] * 24
    assert sandbox.stats.rejected_concurrency > 0
    assert retries == sandbox.stats.rejected_concurrency


# -- batch operations -------------------------------------------------------------------------


def test_batch_operations_end_to_end(sandbox: MailchimpSandbox, mc: MailchimpClient) -> None:
    store_id = shop(mc, sandbox)
    ops = [
        BatchOperation(
            "PUT",
            f"/ecommerce/stores/{store_id}/customers/C-{i}",
            f"cust-{i}",
            {"id": f"C-{i}", "email_address": f"c{i}@acme.org", "opt_in_status": False},
        )
        for i in range(150)
    ]
    ops.append(
        BatchOperation(
            "PUT", f"/ecommerce/stores/{store_id}/customers/C-X", "cust-x", {"id": "C-X"}
        )
    )
    ops.append(BatchOperation("GET", f"/lists/{sandbox.list_id}", "list"))
    run = mc.run_batch(ops, initial_interval=0.02, max_interval=0.1)
    assert run.status.finished
    assert run.status.total_operations == 152
    assert run.status.errored_operations == 1
    by_id = run.by_operation_id()
    assert len(by_id) == 152  # results span several files; all were read
    assert [r.operation_id for r in run.failed] == ["cust-x"]
    assert by_id["cust-x"].status_code == 400
    assert "email address is required" in str(by_id["cust-x"].response).lower()
    assert by_id["cust-7"].response["email_address"] == "c7@acme.org"
    assert by_id["list"].response["id"] == sandbox.list_id
    assert mc.get_customer(store_id, "C-149")["email_address"] == "c149@acme.org"


def test_batch_with_faulty_operations_and_a_faulty_poll(
    sandbox: MailchimpSandbox, mc: MailchimpClient
) -> None:
    sandbox.faults.add("500", times=2, batch_ops=True, path_prefix="/lists")
    sandbox.faults.add("503", times=1, path_prefix="/batches", method="GET")
    ops = [
        BatchOperation(
            "PUT",
            f"/lists/{sandbox.list_id}/members/{subscriber_hash(f'b{i}@acme.org')}",
            f"m{i}",
            {"email_address": f"b{i}@acme.org", "status_if_new": "subscribed"},
        )
        for i in range(5)
    ]
    run = mc.run_batch(ops, initial_interval=0.02, max_interval=0.1)
    assert len(run.results) == 5
    assert sorted(r.status_code for r in run.results) == [200, 200, 200, 500, 500]
    assert run.status.errored_operations == 2
    assert sandbox.faults.count("503") == 1
