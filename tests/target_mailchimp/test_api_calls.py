"""The typed calls: paths, bodies, result parsing and the create-or-update recipes."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest

from target_mailchimp.api import (
    MAX_BATCH_SUBSCRIBE,
    BadRequest,
    MailchimpClient,
    MailchimpConfigError,
    NotFound,
    RetryPolicy,
    chunked,
    subscriber_hash,
)
from tests.target_mailchimp.test_api_scripted_server import Reply, ScriptedServer, problem

KEY = "00112233445566778899aabbccddeeff-us6"
ALREADY_ORDER = (
    "We were unable to process the request. An order with the provided ID already exists in "
    "the account."
)
ALREADY_PRODUCT = (
    "We were unable to process the request. A product with the provided ID already exists in "
    "the account."
)


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    with ScriptedServer() as srv:
        yield srv


@pytest.fixture
def mc(server: ScriptedServer) -> Iterator[MailchimpClient]:
    with MailchimpClient(
        KEY, api_url=server.api_url, retry=RetryPolicy.no_wait(), request_timeout=5
    ) as client:
        yield client


ORDER = {
    "id": "BILL-1",
    "customer": {"id": "V-1", "email_address": "v@example.org", "opt_in_status": False},
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
}


def test_ping_sends_basic_auth_with_the_key(server: ScriptedServer, mc: MailchimpClient) -> None:
    server.script(Reply(200, {"health_status": "Everything's Chimpy!"}))
    assert mc.ping() == "Everything's Chimpy!"
    req = server.requests[0]
    assert (req.method, req.path) == ("GET", "/3.0/ping")
    scheme, token = req.headers["Authorization"].split(" ", 1)
    assert scheme == "Basic"
    user, password = base64.b64decode(token).decode().split(":", 1)
    assert user and password == KEY
    assert req.headers["User-Agent"].startswith("target-mailchimp")


def test_ids_are_percent_encoded_in_paths(server: ScriptedServer, mc: MailchimpClient) -> None:
    server.script(Reply(200, {"id": "x"}), Reply(200, {}))
    mc.get_list("a/b c")
    mc.get_order("store 1", "BILL/7?x")
    assert server.requests[0].path == "/3.0/lists/a%2Fb%20c"
    assert server.requests[1].path == "/3.0/ecommerce/stores/store%201/orders/BILL%2F7%3Fx"
    with pytest.raises(ValueError, match="non-empty"):
        mc.get_list("")
    for dots in (".", ".."):
        with pytest.raises(ValueError, match="cannot be used as an id"):
            mc.get_order("s", dots)


def test_request_refuses_absolute_urls(mc: MailchimpClient) -> None:
    for path in ("https://evil.example/3.0/ping", "//evil.example/x", "ping"):
        with pytest.raises(ValueError, match="relative"):
            mc.request("GET", path)


def test_merge_fields_are_paged_by_1000(server: ScriptedServer, mc: MailchimpClient) -> None:
    page1 = [{"tag": f"F{i}"} for i in range(1000)]
    page2 = [{"tag": f"G{i}"} for i in range(3)]
    server.script(
        Reply(200, {"merge_fields": page1, "total_items": 1003}),
        Reply(200, {"merge_fields": page2, "total_items": 1003}),
    )
    fields = mc.get_merge_fields("L1")
    assert len(fields) == 1003
    assert [r.query for r in server.requests] == [
        {"count": ["1000"], "offset": ["0"]},
        {"count": ["1000"], "offset": ["1000"]},
    ]
    assert server.requests[0].path == "/3.0/lists/L1/merge-fields"


def test_create_merge_field(server: ScriptedServer, mc: MailchimpClient) -> None:
    server.script(Reply(200, {"merge_id": 5, "tag": "COMPANY", "name": "Company", "type": "text"}))
    res = mc.create_merge_field("L1", tag="COMPANY", name="Company", type="text")
    assert res.action == "created"
    assert res.resource_id == "COMPANY"
    assert server.requests[0].json == {
        "name": "Company",
        "type": "text",
        "required": False,
        "tag": "COMPANY",
    }


def test_create_merge_field_tolerates_an_existing_tag(
    server: ScriptedServer, mc: MailchimpClient
) -> None:
    server.script(
        problem(400, "Invalid Resource", 'A Merge Field with the tag "COMPANY" already exists.'),
        Reply(
            200,
            {
                "merge_fields": [{"tag": "FNAME"}, {"tag": "COMPANY", "merge_id": 9}],
                "total_items": 2,
            },
        ),
    )
    res = mc.create_merge_field("L1", tag="company", name="Company", type="text")
    assert res.action == "unchanged"
    assert res.data == {"tag": "COMPANY", "merge_id": 9}
    assert len(res.calls) == 2
    assert res.calls[0]["status"] == 400


def test_create_merge_field_other_errors_raise(server: ScriptedServer, mc: MailchimpClient) -> None:
    server.script(
        problem(400, "Invalid Resource", "already exists"),
        Reply(200, {"merge_fields": [], "total_items": 0}),
        problem(400, "Invalid Resource", "The resource submitted could not be validated."),
    )
    with pytest.raises(BadRequest):  # "exists" but the refetch does not find it
        mc.create_merge_field("L1", tag="X", name="X", type="text")
    with pytest.raises(BadRequest):
        mc.create_merge_field("L1", tag="Y", name="Y", type="bogus")


def test_batch_subscribe_body_and_result(server: ScriptedServer, mc: MailchimpClient) -> None:
    server.script(
        Reply(
            200,
            {
                "new_members": [{"email_address": "a@example.org", "status": "subscribed"}],
                "updated_members": [{"email_address": "b@example.org"}],
                "errors": [
                    {
                        "email_address": "bad@example.com",
                        "error": (
                            "bad@example.com looks fake or invalid, "
                            "please enter a real email address."
                        ),
                        "error_code": "ERROR_GENERIC",
                        "field": "",
                        "field_message": "",
                    },
                    {
                        "email_address": "C@example.org",
                        "error": "Your merge fields were invalid.",
                        "error_code": "ERROR_GENERIC",
                        "field": "ADDRESS",
                        "field_message": "Please enter a complete address",
                    },
                    {
                        "email_address": "d@example.org",
                        "error": "exists",
                        "error_code": "ERROR_CONTACT_EXISTS",
                    },
                ],
                "total_created": 1,
                "total_updated": 1,
                "error_count": 3,
            },
            request_id="bs-1",
        )
    )
    members = [{"email_address": e, "status_if_new": "subscribed"} for e in "abcd"]
    res = mc.batch_subscribe("L1", members, skip_merge_validation=True)
    req = server.requests[0]
    assert (req.method, req.path) == ("POST", "/3.0/lists/L1")
    assert req.query == {"skip_merge_validation": ["true"]}
    assert req.json == {"members": members, "update_existing": True, "sync_tags": False}
    assert (res.total_created, res.total_updated, res.error_count) == (1, 1, 3)
    assert res.request_id == "bs-1"
    assert res.attempts == 1
    assert not res.retried
    fake, address, exists = res.errors
    assert fake.is_fake_or_invalid and not fake.is_merge_field_error
    assert address.field == "ADDRESS"
    assert address.is_merge_field_error
    assert "field ADDRESS: Please enter a complete address" in address.describe()
    assert exists.is_contact_exists
    assert set(res.errors_by_email()) == {"bad@example.com", "c@example.org", "d@example.org"}


def test_batch_subscribe_missing_counts_fall_back_to_lists(
    server: ScriptedServer, mc: MailchimpClient
) -> None:
    server.script(Reply(200, {"new_members": [{}, {}], "errors": [{"email_address": "x"}]}))
    res = mc.batch_subscribe("L1", [{"email_address": "x"}], update_existing=False, sync_tags=True)
    assert (res.total_created, res.total_updated, res.error_count) == (2, 0, 1)
    assert server.requests[0].json["update_existing"] is False
    assert server.requests[0].json["sync_tags"] is True


def test_batch_subscribe_caps_at_500(server: ScriptedServer, mc: MailchimpClient) -> None:
    with pytest.raises(ValueError, match="at most 500"):
        mc.batch_subscribe("L1", [{"email_address": f"{i}@x.org"} for i in range(501)])
    with pytest.raises(ValueError, match="at least one"):
        mc.batch_subscribe("L1", [])
    assert server.requests == []


def test_batch_subscribe_all_chunks(server: ScriptedServer, mc: MailchimpClient) -> None:
    server.default = Reply(200, {"new_members": [], "updated_members": [], "errors": []})
    members = ({"email_address": f"{i}@x.org"} for i in range(1201))
    results = mc.batch_subscribe_all("L1", members)
    assert len(results) == 3
    assert [len(r.json["members"]) for r in server.requests] == [500, 500, 201]


def test_chunked() -> None:
    assert MAX_BATCH_SUBSCRIBE == 500
    assert list(chunked(range(5), 2)) == [[0, 1], [2, 3], [4]]
    assert list(chunked([], 3)) == []
    assert [len(c) for c in chunked(range(1000))] == [500, 500]
    with pytest.raises(ValueError, match="at least 1"):
        list(chunked([1], 0))


def test_upsert_member_puts_by_hash(server: ScriptedServer, mc: MailchimpClient) -> None:
    server.script(Reply(200, {"id": subscriber_hash("Ann@Example.org"), "status": "subscribed"}))
    res = mc.upsert_member(
        "L1", " Ann@Example.org ", {"status_if_new": "subscribed"}, skip_merge_validation=True
    )
    req = server.requests[0]
    assert req.method == "PUT"
    assert req.path == f"/3.0/lists/L1/members/{subscriber_hash('ann@example.org')}"
    assert req.json == {"status_if_new": "subscribed", "email_address": "Ann@Example.org"}
    assert req.query == {"skip_merge_validation": ["true"]}
    assert res.resource_id == subscriber_hash("ann@example.org")
    with pytest.raises(ValueError, match="differs"):
        mc.upsert_member("L1", "a@x.org", {"email_address": "b@x.org"})


def test_get_member_returns_none_when_absent(server: ScriptedServer, mc: MailchimpClient) -> None:
    server.script(problem(404, "Resource Not Found"), Reply(200, {"status": "subscribed"}))
    assert mc.get_member("L1", "a@x.org") is None
    assert mc.get_member("L1", "a@x.org") == {"status": "subscribed"}


def test_update_member_patches_by_hash(server: ScriptedServer, mc: MailchimpClient) -> None:
    server.script(Reply(200, {"status": "pending"}), problem(404, "Resource Not Found"))
    res = mc.update_member("L1", "Ann@Example.org", {"status": "pending"})
    req = server.requests[0]
    assert (req.method, req.json) == ("PATCH", {"status": "pending"})
    assert req.path == f"/3.0/lists/L1/members/{subscriber_hash('ann@example.org')}"
    assert (res.action, res.resource_id) == ("updated", subscriber_hash("ann@example.org"))
    with pytest.raises(NotFound):
        mc.update_member("L1", "a@x.org", {"status": "pending"})


def test_archive_member(server: ScriptedServer, mc: MailchimpClient) -> None:
    server.script(Reply(204, None), problem(404, "Resource Not Found"))
    assert mc.archive_member("L1", "a@x.org").action == "archived"
    absent = mc.archive_member("L1", "a@x.org")
    assert absent.action == "absent"
    assert absent.calls[0]["status"] == 404
    assert [r.method for r in server.requests] == ["DELETE", "DELETE"]


def test_update_member_tags(server: ScriptedServer, mc: MailchimpClient) -> None:
    server.script(Reply(204, None), Reply(204, None))
    mc.update_member_tags("L1", "a@x.org", [("Vendor", True), ("Lapsed", False)])
    mc.update_member_tags("L1", "a@x.org", {"VIP": True}, is_syncing=True)
    first, second = server.requests
    assert first.path == f"/3.0/lists/L1/members/{subscriber_hash('a@x.org')}/tags"
    assert first.json == {
        "tags": [{"name": "Vendor", "status": "active"}, {"name": "Lapsed", "status": "inactive"}],
        "is_syncing": False,
    }
    assert second.json["is_syncing"] is True
    with pytest.raises(ValueError, match="at least one tag"):
        mc.update_member_tags("L1", "a@x.org", [])


STORE = {"id": "intacct", "list_id": "L1", "name": "Intacct AP", "currency_code": "USD"}


def test_ensure_store_creates_a_missing_store(server: ScriptedServer, mc: MailchimpClient) -> None:
    server.script(problem(404, "Resource Not Found"), Reply(200, {**STORE}, request_id="post-1"))
    res = mc.ensure_store(STORE)
    assert res.action == "created"
    assert [(r.method, r.path) for r in server.requests] == [
        ("GET", "/3.0/ecommerce/stores/intacct"),
        ("POST", "/3.0/ecommerce/stores"),
    ]
    assert res.request_id == "post-1"
    assert len(res.calls) == 2


def test_ensure_store_leaves_an_equal_store_alone(
    server: ScriptedServer, mc: MailchimpClient
) -> None:
    server.script(Reply(200, {**STORE, "platform": "", "_links": []}))
    assert mc.ensure_store(STORE).action == "unchanged"
    assert len(server.requests) == 1


def test_ensure_store_patches_what_differs(server: ScriptedServer, mc: MailchimpClient) -> None:
    server.script(Reply(200, {**STORE, "name": "Old"}), Reply(200, {**STORE, "is_syncing": True}))
    res = mc.ensure_store({**STORE, "is_syncing": True})
    assert res.action == "updated"
    patch = server.requests[1]
    assert (patch.method, patch.path) == ("PATCH", "/3.0/ecommerce/stores/intacct")
    assert patch.json == {"name": "Intacct AP", "is_syncing": True}


def test_ensure_store_compares_nested_objects_by_the_keys_sent(
    server: ScriptedServer, mc: MailchimpClient
) -> None:
    address = {"address1": "1 Main St", "city": "Austin", "country_code": "US"}
    stored = {**address, "longitude": 0, "latitude": 0, "province": ""}
    server.script(
        Reply(200, {**STORE, "address": stored}),
        Reply(200, {**STORE, "address": {**stored, "city": "Dallas"}}),
        Reply(200, {**STORE}),
    )
    assert mc.ensure_store({**STORE, "address": address}).action == "unchanged"
    assert mc.ensure_store({**STORE, "address": address}).action == "updated"
    assert server.requests[-1].json == {"address": address}


def test_ensure_store_refuses_a_store_on_another_list(
    server: ScriptedServer, mc: MailchimpClient
) -> None:
    server.script(Reply(200, {**STORE, "list_id": "OTHER"}))
    with pytest.raises(MailchimpConfigError, match="tied to one audience"):
        mc.ensure_store(STORE)


def test_ensure_store_handles_a_create_race(server: ScriptedServer, mc: MailchimpClient) -> None:
    server.script(
        problem(404, "Resource Not Found"),
        problem(400, "Bad Request", "A store with the provided ID already exists in the account."),
        Reply(200, {**STORE}),
    )
    assert mc.ensure_store(STORE).action == "unchanged"
    assert [r.method for r in server.requests] == ["GET", "POST", "GET"]


def test_create_store_after_a_lost_answer_fetches_it(
    server: ScriptedServer, mc: MailchimpClient
) -> None:
    server.script(
        Reply(502, "<html>502</html>"),
        problem(400, "Bad Request", "A store with the provided ID already exists in the account."),
        Reply(200, {**STORE}),
    )
    res = mc.create_store(STORE)
    assert res.recovered
    assert res.action == "created"
    assert [r.method for r in server.requests] == ["POST", "POST", "GET"]


def test_set_store_syncing(server: ScriptedServer, mc: MailchimpClient) -> None:
    server.script(Reply(200, {**STORE, "is_syncing": False}))
    mc.set_store_syncing("intacct", False)
    assert server.requests[0].json == {"is_syncing": False}
    assert server.requests[0].method == "PATCH"


def test_upsert_customer_puts(server: ScriptedServer, mc: MailchimpClient) -> None:
    customer = {"id": "C-1", "email_address": "c@x.org", "opt_in_status": False}
    server.script(Reply(200, {**customer, "orders_count": 0}))
    res = mc.upsert_customer("intacct", customer)
    assert res.data["orders_count"] == 0
    req = server.requests[0]
    assert (req.method, req.path) == ("PUT", "/3.0/ecommerce/stores/intacct/customers/C-1")
    assert req.json == customer
    with pytest.raises(ValueError, match="'id'"):
        mc.upsert_customer("intacct", {"email_address": "c@x.org"})


PRODUCT = {
    "id": "GL-6000",
    "title": "Office supplies",
    "variants": [{"id": "GL-6000", "title": "Office supplies"}],
}


def test_create_or_update_product(server: ScriptedServer, mc: MailchimpClient) -> None:
    server.script(
        Reply(200, PRODUCT),
        problem(400, "Bad Request", ALREADY_PRODUCT),
        Reply(200, PRODUCT, request_id="patch-1"),
    )
    assert mc.create_or_update_product("intacct", PRODUCT).action == "created"
    res = mc.create_or_update_product("intacct", PRODUCT)
    assert res.action == "updated"
    assert not res.recovered
    patch = server.requests[2]
    assert (patch.method, patch.path) == ("PATCH", "/3.0/ecommerce/stores/intacct/products/GL-6000")
    assert "id" not in patch.json
    assert patch.json["variants"] == PRODUCT["variants"]
    assert res.request_id == "patch-1"


def test_create_product_duplicate_raises(server: ScriptedServer, mc: MailchimpClient) -> None:
    server.script(problem(400, "Bad Request", ALREADY_PRODUCT))
    with pytest.raises(BadRequest) as info:
        mc.create_product("intacct", PRODUCT)
    assert info.value.is_already_exists
    assert len(server.requests) == 1


def test_update_product_unknown_is_not_found(server: ScriptedServer, mc: MailchimpClient) -> None:
    server.script(problem(404, "Resource Not Found"))
    with pytest.raises(NotFound):
        mc.update_product("intacct", "nope", {"title": "x"})


def test_order_post_timeout_then_already_exists_is_patched(server: ScriptedServer) -> None:
    """A POST whose answer was lost to a timeout is retried, meets "already exists",
    and is finished with a PATCH: reported as updated and recovered."""
    server.script(
        Reply(200, ORDER, delay=0.5),  # applied, but the answer comes too late
        problem(400, "Bad Request", ALREADY_ORDER, request_id="dup-1"),
        Reply(200, {**ORDER, "store_id": "intacct"}, request_id="patch-1"),
    )
    with MailchimpClient(
        KEY, api_url=server.api_url, retry=RetryPolicy.no_wait(), request_timeout=0.2
    ) as mc:
        res = mc.create_order("intacct", ORDER)
    assert res.action == "updated"
    assert res.recovered
    assert res.resource_id == "BILL-1"
    assert [(r.method, r.path) for r in server.requests] == [
        ("POST", "/3.0/ecommerce/stores/intacct/orders"),
        ("POST", "/3.0/ecommerce/stores/intacct/orders"),
        ("PATCH", "/3.0/ecommerce/stores/intacct/orders/BILL-1"),
    ]
    patch = server.requests[2].json
    assert "id" not in patch
    assert patch["customer"] == {"id": "V-1"}
    assert patch["financial_status"] == "pending"
    assert patch["lines"] == ORDER["lines"]
    assert res.request_ids == ("dup-1", "patch-1")
    assert res.attempts == 3
    assert "read timeout" in res.calls[0]["retry_reasons"][0]


def test_order_post_502_then_already_exists_is_patched(
    server: ScriptedServer, mc: MailchimpClient
) -> None:
    server.script(
        Reply(502, "<html><body>Bad Gateway</body></html>"),
        problem(400, "Bad Request", ALREADY_ORDER),
        Reply(200, ORDER),
    )
    res = mc.create_or_update_order("intacct", ORDER)
    assert (res.action, res.recovered) == ("updated", True)


def test_create_or_update_order_paths(server: ScriptedServer, mc: MailchimpClient) -> None:
    server.script(
        Reply(200, ORDER),
        problem(400, "Bad Request", ALREADY_ORDER),
        Reply(200, ORDER),
    )
    assert mc.create_or_update_order("intacct", ORDER).action == "created"
    res = mc.create_or_update_order("intacct", ORDER)
    assert (res.action, res.recovered) == ("updated", False)
    assert [r.method for r in server.requests] == ["POST", "POST", "PATCH"]


def test_create_or_update_order_prefer_update(server: ScriptedServer, mc: MailchimpClient) -> None:
    server.script(
        Reply(200, ORDER),
        problem(404, "Resource Not Found"),
        Reply(200, ORDER),
    )
    assert mc.create_or_update_order("intacct", ORDER, prefer_update=True).action == "updated"
    res = mc.create_or_update_order("intacct", ORDER, prefer_update=True)
    assert res.action == "created"
    assert [r.method for r in server.requests] == ["PATCH", "PATCH", "POST"]
    assert res.calls[0]["status"] == 404


def test_order_other_bad_requests_are_not_patched(
    server: ScriptedServer, mc: MailchimpClient
) -> None:
    server.script(
        problem(
            400,
            "Bad Request",
            "A product with the provided ID does not exist in the account for this list.",
        )
    )
    with pytest.raises(BadRequest) as info:
        mc.create_or_update_order("intacct", ORDER)
    assert info.value.is_unknown_product
    assert len(server.requests) == 1


def test_create_order_duplicate_without_retry_raises(
    server: ScriptedServer, mc: MailchimpClient
) -> None:
    server.script(problem(400, "Bad Request", ALREADY_ORDER))
    with pytest.raises(BadRequest):
        mc.create_order("intacct", ORDER)


def test_update_order_unknown_is_not_found(server: ScriptedServer, mc: MailchimpClient) -> None:
    server.script(problem(404, "Resource Not Found"))
    with pytest.raises(NotFound):
        mc.update_order("intacct", "BILL-404", {"financial_status": "paid"})
    assert server.requests[0].json == {"financial_status": "paid"}
