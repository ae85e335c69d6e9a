"""The Mailchimp sandbox's e-commerce rules: stores, customers, products, orders."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.sandbox.mailchimp import MailchimpSandbox

STORE = "intacct"


@pytest.fixture
def mc() -> Iterator[MailchimpSandbox]:
    with MailchimpSandbox() as sandbox:
        yield sandbox


class Shop:
    def __init__(self, mc: MailchimpSandbox) -> None:
        self.mc = mc
        self.s = requests.Session()
        self.s.auth = ("tests", mc.api_key)
        self.root = f"{mc.base_url}/ecommerce/stores"
        self.store = f"{self.root}/{STORE}"

    def url(self, *parts: str) -> str:
        return "/".join([self.store, *parts])

    def member_status(self, email: str) -> str | None:
        h = hashlib.md5(email.lower().encode()).hexdigest()
        resp = self.s.get(f"{self.mc.base_url}/lists/{self.mc.list_id}/members/{h}")
        return resp.json()["status"] if resp.status_code == 200 else None


def make_store(shop: Shop, store_id: str = STORE, **extra: Any) -> requests.Response:
    body = {
        "id": store_id,
        "list_id": shop.mc.list_id,
        "name": "Intacct AP",
        "currency_code": "USD",
        **extra,
    }
    return shop.s.post(shop.root, json=body)


@pytest.fixture
def shop(mc: MailchimpSandbox) -> Iterator[Shop]:
    shop = Shop(mc)
    assert make_store(shop, is_syncing=True).status_code == 200
    yield shop
    shop.s.close()


def product(pid: str = "GL-4000", variants: list[str] | None = None) -> dict[str, Any]:
    ids = variants if variants is not None else [pid]
    return {"id": pid, "title": f"Account {pid}", "variants": [{"id": v, "title": v} for v in ids]}


def order(oid: str = "BILL-1", customer: dict | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "id": oid,
        "customer": customer or {"id": "V-1"},
        "currency_code": "USD",
        "order_total": 150.5,
        "financial_status": "pending",
        "lines": [
            {
                "id": "1",
                "product_id": "GL-4000",
                "product_variant_id": "GL-4000",
                "quantity": 1,
                "price": 150.5,
            }
        ],
        **extra,
    }


def problem(resp: requests.Response, status: int, title: str) -> dict[str, Any]:
    assert resp.status_code == status, resp.text
    assert resp.headers["Content-Type"].startswith("application/problem+json")
    body = resp.json()
    assert body["title"] == title
    return body


# --- stores -----------------------------------------------------------------------------


def test_store_create_get_patch_and_list(shop: Shop) -> None:
    got = shop.s.get(shop.store).json()
    assert got["list_id"] == shop.mc.list_id
    assert got["is_syncing"] is True
    assert got["currency_code"] == "USD"
    patched = shop.s.patch(shop.store, json={"is_syncing": False, "name": "AP"}).json()
    assert (patched["is_syncing"], patched["name"]) == (False, "AP")
    assert shop.s.get(shop.store).json()["is_syncing"] is False
    listing = shop.s.get(shop.root).json()
    assert [s["id"] for s in listing["stores"]] == [STORE]
    assert listing["total_items"] == 1


def test_store_rules(shop: Shop) -> None:
    dup = problem(make_store(shop), 400, "Bad Request")
    assert "already exists" in dup["detail"]
    body = {"id": "s2", "list_id": "nolist", "name": "x", "currency_code": "USD"}
    err = problem(shop.s.post(shop.root, json=body), 400, "Invalid Resource")
    assert err["errors"][0]["field"] == "list_id"
    missing = problem(shop.s.post(shop.root, json={"id": "s3"}), 400, "Invalid Resource")
    assert "list_id" in missing["errors"][0]["message"]
    other = shop.mc.add_list("b1b2b3b4b5")
    moved = shop.s.patch(shop.store, json={"list_id": other})
    problem(moved, 400, "Invalid Resource")
    assert shop.s.get(f"{shop.root}/nostore").status_code == 404
    assert make_store(shop, "s4", domain="shop.example.org").status_code == 200
    problem(make_store(shop, "s5", domain="shop.example.org"), 400, "Bad Request")


def test_unknown_store_in_any_path_is_404(shop: Shop) -> None:
    base = f"{shop.root}/nostore"
    assert shop.s.get(f"{base}/customers").status_code == 404
    problem(shop.s.put(f"{base}/customers/c1", json={"id": "c1"}), 404, "Resource Not Found")
    problem(shop.s.post(f"{base}/products", json=product()), 404, "Resource Not Found")
    problem(shop.s.post(f"{base}/orders", json=order()), 404, "Resource Not Found")
    problem(shop.s.get(f"{base}/orders/o1"), 404, "Resource Not Found")


# --- customers ----------------------------------------------------------------------------


def test_new_customer_needs_an_email(shop: Shop) -> None:
    resp = shop.s.put(shop.url("customers", "C-1"), json={"id": "C-1", "opt_in_status": False})
    body = problem(resp, 400, "Invalid Resource")
    assert body["errors"] == [
        {"field": "email_address", "message": "An email address is required to create a customer."}
    ]
    assert shop.s.get(shop.url("customers", "C-1")).status_code == 404


def test_customer_adds_transactional_or_subscribed_member(shop: Shop) -> None:
    c1 = {
        "id": "C-1",
        "email_address": "tx@example.org",
        "opt_in_status": False,
        "first_name": "Tia",
        "last_name": "Xu",
    }
    resp = shop.s.put(shop.url("customers", "C-1"), json=c1)
    assert resp.status_code == 200
    body = resp.json()
    assert (body["orders_count"], body["total_spent"]) == (0, 0)
    assert shop.member_status("tx@example.org") == "transactional"
    c2 = {"id": "C-2", "email_address": "in@example.org", "opt_in_status": True}
    assert shop.s.put(shop.url("customers", "C-2"), json=c2).status_code == 200
    assert shop.member_status("in@example.org") == "subscribed"
    # opting in later upgrades the transactional contact
    shop.s.put(shop.url("customers", "C-1"), json={**c1, "opt_in_status": True})
    assert shop.member_status("tx@example.org") == "subscribed"
    # opting out never downgrades
    shop.s.put(shop.url("customers", "C-2"), json={**c2, "opt_in_status": False})
    assert shop.member_status("in@example.org") == "subscribed"
    # an update without email is fine for an existing customer
    resp = shop.s.put(shop.url("customers", "C-1"), json={"id": "C-1", "company": "Acme"})
    assert resp.json()["company"] == "Acme"
    assert resp.json()["email_address"] == "tx@example.org"


@pytest.mark.parametrize("status", ["unsubscribed", "cleaned", "pending", "subscribed"])
def test_customer_never_changes_an_existing_members_status(
    shop: Shop, mc: MailchimpSandbox, status: str
) -> None:
    mc.seed_member("known@example.org", status)
    body = {"id": "C-9", "email_address": "known@example.org", "opt_in_status": True}
    assert shop.s.put(shop.url("customers", "C-9"), json=body).status_code == 200
    assert shop.member_status("known@example.org") == status
    body = {"id": "C-10", "email_address": "known@example.org", "opt_in_status": False}
    assert shop.s.put(shop.url("customers", "C-10"), json=body).status_code == 200
    assert shop.member_status("known@example.org") == status


def test_customer_post_patch_list_delete(shop: Shop) -> None:
    body = {"id": "C-1", "email_address": "c@example.org", "opt_in_status": False}
    assert shop.s.post(shop.url("customers"), json=body).status_code == 200
    dup = problem(shop.s.post(shop.url("customers"), json=body), 400, "Bad Request")
    assert "already exists" in dup["detail"]
    assert shop.s.patch(shop.url("customers", "C-1"), json={"last_name": "Ng"}).ok
    assert shop.s.patch(shop.url("customers", "nope"), json={"last_name": "Ng"}).status_code == 404
    for i in range(2, 5):
        shop.s.put(
            shop.url("customers", f"C-{i}"),
            json={"id": f"C-{i}", "email_address": f"c{i}@example.org", "opt_in_status": False},
        )
    page = shop.s.get(shop.url("customers"), params={"count": 2, "offset": 1}).json()
    assert [c["id"] for c in page["customers"]] == ["C-2", "C-3"]
    assert page["total_items"] == 4
    assert shop.s.delete(shop.url("customers", "C-4")).status_code == 204
    assert shop.s.get(shop.url("customers", "C-4")).status_code == 404
    fake = {"id": "C-5", "email_address": "x@example.invalid", "opt_in_status": False}
    problem(shop.s.put(shop.url("customers", "C-5"), json=fake), 400, "Invalid Resource")
    mismatch = {"id": "C-7", "email_address": "c7@example.org"}
    problem(shop.s.put(shop.url("customers", "C-6"), json=mismatch), 400, "Invalid Resource")


# --- products -----------------------------------------------------------------------------


def test_products_create_duplicate_and_variants(shop: Shop) -> None:
    resp = shop.s.post(shop.url("products"), json=product("GL-4000", ["GL-4000", "GL-4000-B"]))
    assert resp.status_code == 200
    assert [v["id"] for v in resp.json()["variants"]] == ["GL-4000", "GL-4000-B"]
    assert resp.json()["currency_code"] == "USD"
    dup = problem(shop.s.post(shop.url("products"), json=product()), 400, "Bad Request")
    assert dup["detail"] == (
        "We were unable to process the request. "
        "A product with the provided ID already exists in the account."
    )
    none = problem(
        shop.s.post(shop.url("products"), json=product("P2", [])), 400, "Invalid Resource"
    )
    assert none["errors"][0]["field"] == "variants"
    missing = problem(
        shop.s.post(shop.url("products"), json={"id": "P3", "title": "t"}), 400, "Invalid Resource"
    )
    assert "variants" in missing["errors"][0]["message"]
    bad_variant = {"id": "P4", "title": "t", "variants": [{"id": "v"}]}
    body = problem(shop.s.post(shop.url("products"), json=bad_variant), 400, "Invalid Resource")
    assert body["errors"][0]["field"] == "variants.item:0"


def test_product_patch_put_and_variant_endpoints(shop: Shop) -> None:
    shop.s.post(shop.url("products"), json=product())
    patched = shop.s.patch(
        shop.url("products", "GL-4000"),
        json={"title": "Office supplies", "variants": [{"id": "V2", "title": "Second"}]},
    ).json()
    assert patched["title"] == "Office supplies"
    assert [v["id"] for v in patched["variants"]] == ["GL-4000", "V2"]
    assert shop.s.patch(shop.url("products", "nope"), json={"title": "x"}).status_code == 404
    replaced = shop.s.put(shop.url("products", "GL-5000"), json=product("GL-5000")).json()
    assert replaced["id"] == "GL-5000"
    variants = shop.s.get(shop.url("products", "GL-4000", "variants")).json()
    assert variants["total_items"] == 2
    v = shop.s.put(
        shop.url("products", "GL-4000", "variants", "V3"), json={"id": "V3", "title": "Third"}
    )
    assert v.status_code == 200
    assert shop.s.get(shop.url("products", "GL-4000", "variants", "V3")).json()["title"] == "Third"
    listing = shop.s.get(shop.url("products")).json()
    assert {p["id"] for p in listing["products"]} == {"GL-4000", "GL-5000"}


# --- orders -------------------------------------------------------------------------------


def seed_catalog(shop: Shop) -> None:
    assert shop.s.post(shop.url("products"), json=product()).status_code == 200
    body = {"id": "V-1", "email_address": "vendor@example.org", "opt_in_status": False}
    assert shop.s.put(shop.url("customers", "V-1"), json=body).status_code == 200


def test_order_create_and_read_back(shop: Shop) -> None:
    seed_catalog(shop)
    resp = shop.s.post(shop.url("orders"), json=order(processed_at_foreign="2024-03-01T10:00:00Z"))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["customer"]["id"] == "V-1"
    assert body["customer"]["email_address"] == "vendor@example.org"
    assert body["lines"][0]["product_title"] == "Account GL-4000"
    assert body["store_id"] == STORE
    got = shop.s.get(shop.url("orders", "BILL-1")).json()
    assert got["financial_status"] == "pending"
    assert got["order_total"] == 150.5
    customer = shop.s.get(shop.url("customers", "V-1")).json()
    assert (customer["orders_count"], customer["total_spent"]) == (1, 150.5)


def test_order_relations(shop: Shop) -> None:
    seed_catalog(shop)
    body = problem(
        shop.s.post(shop.url("orders"), json=order(customer={"id": "NEW"})), 400, "Invalid Resource"
    )
    assert body["errors"] == [
        {
            "field": "customer.email_address",
            "message": "An email address is required to create a customer.",
        }
    ]
    unknown_product = order()
    unknown_product["lines"][0]["product_id"] = "NOPE"
    body = problem(shop.s.post(shop.url("orders"), json=unknown_product), 400, "Bad Request")
    assert body["detail"] == (
        "A product with the provided ID does not exist in the account for this list."
    )
    unknown_variant = order()
    unknown_variant["lines"][0]["product_variant_id"] = "NOPE"
    body = problem(shop.s.post(shop.url("orders"), json=unknown_variant), 400, "Bad Request")
    assert body["detail"] == (
        "A product with the provided variant ID does not exist in the account for this list."
    )
    assert shop.s.get(shop.url("orders")).json()["total_items"] == 0
    # an unknown customer WITH an email is created by the order
    new_customer = {"id": "V-2", "email_address": "v2@example.org", "opt_in_status": False}
    resp = shop.s.post(shop.url("orders"), json=order("BILL-2", customer=new_customer))
    assert resp.status_code == 200
    assert shop.s.get(shop.url("customers", "V-2")).json()["orders_count"] == 1
    assert shop.member_status("v2@example.org") == "transactional"


def test_order_quirks(shop: Shop) -> None:
    seed_catalog(shop)
    assert shop.s.post(shop.url("orders"), json=order()).status_code == 200
    dup = problem(shop.s.post(shop.url("orders"), json=order()), 400, "Bad Request")
    assert dup["detail"] == (
        "We were unable to process the request. "
        "An order with the provided ID already exists in the account."
    )
    problem(
        shop.s.post(shop.url("orders"), json=order("BILL-9", lines=[])), 404, "Resource Not Found"
    )
    assert shop.s.get(shop.url("orders", "BILL-9")).status_code == 404
    put = shop.s.put(shop.url("orders", "BILL-1"), json=order())
    problem(put, 405, "Method Not Allowed")
    assert set(put.headers["Allow"].replace(" ", "").split(",")) == {"GET", "PATCH", "DELETE"}
    problem(
        shop.s.patch(shop.url("orders", "NOPE"), json={"financial_status": "paid"}),
        404,
        "Resource Not Found",
    )
    broken = order("BILL-3")
    del broken["lines"][0]["price"]
    body = problem(shop.s.post(shop.url("orders"), json=broken), 400, "Invalid Resource")
    assert body["errors"] == [
        {"field": "lines.item:0", "message": "Required fields were not provided: price"}
    ]
    money = order("BILL-4", order_total="150.50")
    problem(shop.s.post(shop.url("orders"), json=money), 400, "Invalid Resource")
    bad_time = order("BILL-5", processed_at_foreign="2024-03-01")
    problem(shop.s.post(shop.url("orders"), json=bad_time), 400, "Invalid Resource")
    ok_time = order("BILL-6", processed_at_foreign="2024-03-01 10:00:00")
    assert shop.s.post(shop.url("orders"), json=ok_time).status_code == 200


def test_order_patch_and_delete(shop: Shop) -> None:
    seed_catalog(shop)
    shop.s.post(shop.url("orders"), json=order())
    resp = shop.s.patch(
        shop.url("orders", "BILL-1"),
        json={
            "financial_status": "paid",
            "order_total": 200.0,
            "lines": [
                {
                    "id": "2",
                    "product_id": "GL-4000",
                    "product_variant_id": "GL-4000",
                    "quantity": 1,
                    "price": 49.5,
                }
            ],
        },
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["financial_status"] == "paid"
    assert [line["id"] for line in body["lines"]] == ["1", "2"]
    assert shop.s.get(shop.url("customers", "V-1")).json()["total_spent"] == 200.0
    bad = shop.s.patch(
        shop.url("orders", "BILL-1"),
        json={
            "lines": [
                {"id": "3", "product_id": "X", "product_variant_id": "X", "quantity": 1, "price": 1}
            ]
        },
    )
    problem(bad, 400, "Bad Request")
    assert len(shop.s.get(shop.url("orders", "BILL-1")).json()["lines"]) == 2
    lines = shop.s.get(shop.url("orders", "BILL-1", "lines")).json()
    assert lines["total_items"] == 2
    assert shop.s.delete(shop.url("orders", "BILL-1")).status_code == 204
    assert shop.s.get(shop.url("orders", "BILL-1")).status_code == 404
    assert shop.s.get(shop.url("customers", "V-1")).json()["orders_count"] == 0


def test_orders_listing_pages(shop: Shop) -> None:
    seed_catalog(shop)
    for i in range(5):
        assert shop.s.post(shop.url("orders"), json=order(f"B{i}")).status_code == 200
    page = shop.s.get(shop.url("orders"), params={"count": 2, "offset": 2}).json()
    assert [o["id"] for o in page["orders"]] == ["B2", "B3"]
    assert page["total_items"] == 5
    snap = shop.mc.snapshot()["stores"][STORE]
    assert set(snap["orders"]) == {f"B{i}" for i in range(5)}
    assert snap["customers"]["V-1"]["orders_count"] == 5


def test_order_line_endpoints(shop: Shop) -> None:
    """List, add, get, update and delete order lines; a PATCH of the order with `lines`
    updates and adds lines by id but never removes one (the sandbox's stated assumption)."""
    seed_catalog(shop)
    shop.s.post(shop.url("orders"), json=order())
    line2 = {"id": "2", "product_id": "GL-4000", "product_variant_id": "GL-4000", "quantity": 2}
    assert shop.s.post(shop.url("orders", "BILL-1", "lines"), json={**line2, "price": 5}).ok
    dup = shop.s.post(shop.url("orders", "BILL-1", "lines"), json={**line2, "price": 5})
    problem(dup, 400, "Bad Request")
    got = shop.s.get(shop.url("orders", "BILL-1", "lines", "2")).json()
    assert (got["id"], got["quantity"], got["price"]) == ("2", 2, 5)
    patched = shop.s.patch(shop.url("orders", "BILL-1", "lines", "2"), json={"price": 7.25})
    assert patched.json()["price"] == 7.25
    # PATCH of the order with only line 2: line 1 stays.
    resp = shop.s.patch(
        shop.url("orders", "BILL-1"), json={"lines": [{**line2, "price": 9}], "order_total": 9}
    )
    assert [line["id"] for line in resp.json()["lines"]] == ["1", "2"]
    # Removing a line takes its own DELETE.
    assert shop.s.delete(shop.url("orders", "BILL-1", "lines", "1")).status_code == 204
    listed = shop.s.get(shop.url("orders", "BILL-1", "lines")).json()
    assert [line["id"] for line in listed["lines"]] == ["2"] and listed["total_items"] == 1
    assert shop.s.get(shop.url("orders", "BILL-1", "lines", "1")).status_code == 404
    assert shop.s.delete(shop.url("orders", "BILL-1", "lines", "1")).status_code == 404
