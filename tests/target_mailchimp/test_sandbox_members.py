"""The Mailchimp sandbox audience rules: members, statuses, merge fields, tags, batch subscribe."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from tests.sandbox.mailchimp import MailchimpSandbox


def md5(email: str) -> str:
    return hashlib.md5(email.strip().lower().encode()).hexdigest()


@pytest.fixture
def mc() -> Iterator[MailchimpSandbox]:
    with MailchimpSandbox() as sandbox:
        yield sandbox


class Client:
    """A thin requests wrapper for the tests (the target's own client is not used)."""

    def __init__(self, mc: MailchimpSandbox) -> None:
        self.mc = mc
        self.session = requests.Session()
        self.session.auth = ("tests", mc.api_key)
        self.lists = f"{mc.base_url}/lists/{mc.list_id}"

    def put(self, email: str, body: dict[str, Any], **params: str) -> requests.Response:
        return self.session.put(f"{self.lists}/members/{md5(email)}", json=body, params=params)

    def get(self, email: str) -> requests.Response:
        return self.session.get(f"{self.lists}/members/{md5(email)}")

    def post(self, body: dict[str, Any]) -> requests.Response:
        return self.session.post(f"{self.lists}/members", json=body)

    def patch(self, email: str, body: dict[str, Any]) -> requests.Response:
        return self.session.patch(f"{self.lists}/members/{md5(email)}", json=body)

    def batch(self, body: dict[str, Any], **params: str) -> requests.Response:
        return self.session.post(self.lists, json=body, params=params)


@pytest.fixture
def api(mc: MailchimpSandbox) -> Iterator[Client]:
    client = Client(mc)
    yield client
    client.session.close()


def problem(resp: requests.Response, title: str) -> dict[str, Any]:
    assert resp.status_code == 400, resp.text
    assert resp.headers["Content-Type"].startswith("application/problem+json")
    body = resp.json()
    assert body["title"] == title, body
    return body


def new(email: str, status: str = "subscribed", **extra: Any) -> dict[str, Any]:
    return {"email_address": email, "status_if_new": status, **extra}


# --- PUT upsert and statuses --------------------------------------------------------------


def test_put_creates_member_with_status_if_new(api: Client) -> None:
    resp = api.put("Ann@Example.org", new("Ann@Example.org", merge_fields={"FNAME": "Ann"}))
    assert resp.status_code == 200
    body = resp.json()
    assert body["id"] == md5("ann@example.org")
    assert body["status"] == "subscribed"
    assert body["merge_fields"] == {"FNAME": "Ann", "LNAME": "", "ADDRESS": "", "PHONE": ""}
    assert body["list_id"] == api.mc.list_id
    got = api.get("ann@example.org").json()
    assert got["email_address"] == "Ann@Example.org"
    assert got["full_name"] == "Ann"


def test_status_if_new_does_not_touch_an_existing_member(api: Client, mc: MailchimpSandbox) -> None:
    mc.seed_member("bob@example.org", "unsubscribed")
    resp = api.put("bob@example.org", new("bob@example.org", merge_fields={"LNAME": "Lee"}))
    assert resp.status_code == 200
    assert resp.json()["status"] == "unsubscribed"
    assert api.get("bob@example.org").json()["merge_fields"]["LNAME"] == "Lee"


def test_status_overwrites_existing(api: Client, mc: MailchimpSandbox) -> None:
    mc.seed_member("cy@example.org", "subscribed")
    resp = api.put("cy@example.org", {"email_address": "cy@example.org", "status": "unsubscribed"})
    assert resp.status_code == 200
    assert api.get("cy@example.org").json()["status"] == "unsubscribed"
    mc.seed_member("tx@example.org", "transactional")
    resp = api.put("tx@example.org", {"status": "subscribed"})
    assert resp.json()["status"] == "subscribed"


def test_existing_member_update_with_only_merge_fields_is_legal(
    api: Client, mc: MailchimpSandbox
) -> None:
    mc.seed_member("dee@example.org", "subscribed")
    resp = api.put("dee@example.org", {"merge_fields": {"FNAME": "Dee"}})
    assert resp.status_code == 200, resp.text
    assert resp.json()["merge_fields"]["FNAME"] == "Dee"
    assert resp.json()["status"] == "subscribed"


def test_new_member_needs_email_and_a_status(api: Client) -> None:
    body = problem(api.put("eve@example.org", {"status_if_new": "subscribed"}), "Invalid Resource")
    assert "email_address" in body["errors"][0]["message"]
    body = problem(
        api.put("eve@example.org", {"email_address": "eve@example.org"}), "Invalid Resource"
    )
    assert "status_if_new" in body["errors"][0]["message"]
    assert api.get("eve@example.org").status_code == 404


@pytest.mark.parametrize("before", ["unsubscribed", "cleaned"])
def test_resubscribing_via_status_is_a_compliance_error(
    api: Client, mc: MailchimpSandbox, before: str
) -> None:
    mc.seed_member("gone@example.org", before)
    body = problem(
        api.put("gone@example.org", {"email_address": "gone@example.org", "status": "subscribed"}),
        "Member In Compliance State",
    )
    assert body["detail"] == (
        "gone@example.org is in a compliance state due to unsubscribe, bounce, or compliance "
        "review and cannot be subscribed."
    )
    assert api.get("gone@example.org").json()["status"] == before
    problem(api.patch("gone@example.org", {"status": "subscribed"}), "Member In Compliance State")
    # pending (a confirmation mail) is the allowed way back
    assert api.patch("gone@example.org", {"status": "pending"}).json()["status"] == "pending"


def test_archived_unsubscriber_cannot_be_resubscribed(api: Client, mc: MailchimpSandbox) -> None:
    mc.seed_member("arc@example.org", "unsubscribed")
    assert api.session.delete(f"{api.lists}/members/{md5('arc@example.org')}").status_code == 204
    assert api.get("arc@example.org").json()["status"] == "archived"
    problem(
        api.put("arc@example.org", {"email_address": "arc@example.org", "status": "subscribed"}),
        "Member In Compliance State",
    )
    problem(api.patch("arc@example.org", {"status": "subscribed"}), "Member In Compliance State")
    resp = api.patch("arc@example.org", {"status": "transactional"})
    assert resp.json()["status"] == "transactional"


def test_status_if_new_leaves_an_archived_member_archived(api: Client) -> None:
    api.put("back@example.org", new("back@example.org"))
    api.session.delete(f"{api.lists}/members/{md5('back@example.org')}")
    resp = api.put(
        "back@example.org", new("back@example.org", "pending", merge_fields={"FNAME": "Bo"})
    )
    assert resp.status_code == 200
    assert resp.json()["status"] == "archived"
    assert resp.json()["merge_fields"]["FNAME"] == "Bo"
    # Only `status` brings it back.
    resp = api.put("back@example.org", {"email_address": "back@example.org", "status": "pending"})
    assert resp.json()["status"] == "pending"


def test_batch_subscribe_leaves_archived_members_archived(api: Client) -> None:
    for email in ("a1@example.org", "a2@example.org"):
        api.put(email, new(email))
        api.session.delete(f"{api.lists}/members/{md5(email)}")
    refused = api.batch(
        {"members": [{"email_address": "a1@example.org", "status_if_new": "subscribed"}]}
    ).json()
    assert [e["error_code"] for e in refused["errors"]] == ["ERROR_CONTACT_EXISTS"]
    body = api.batch(
        {
            "members": [
                {
                    "email_address": "a1@example.org",
                    "status_if_new": "subscribed",
                    "merge_fields": {"FNAME": "Al"},
                    "tags": ["Back"],
                },
                {"email_address": "a2@example.org", "status": "subscribed"},
            ],
            "update_existing": True,
        }
    ).json()
    assert body["new_members"] == [] and body["errors"] == []
    statuses = {m["email_address"]: m["status"] for m in body["updated_members"]}
    assert statuses == {"a1@example.org": "archived", "a2@example.org": "subscribed"}
    member = api.get("a1@example.org").json()
    assert member["merge_fields"]["FNAME"] == "Al"
    assert [t["name"] for t in member["tags"]] == ["Back"]


def test_forgotten_address_cannot_be_reimported(api: Client, mc: MailchimpSandbox) -> None:
    mc.forget("gdpr@example.org")
    body = problem(
        api.put("gdpr@example.org", new("gdpr@example.org")), "Forgotten Email Not Subscribed"
    )
    assert body["detail"].startswith("gdpr@example.org was permanently deleted")
    problem(
        api.post({"email_address": "gdpr@example.org", "status": "subscribed"}),
        "Forgotten Email Not Subscribed",
    )


def test_delete_permanent_endpoint_forgets(api: Client) -> None:
    api.put("p@example.org", new("p@example.org"))
    url = f"{api.lists}/members/{md5('p@example.org')}/actions/delete-permanent"
    resp = api.session.post(url)
    assert resp.status_code == 204
    assert resp.content == b""
    assert api.get("p@example.org").status_code == 404
    problem(api.put("p@example.org", new("p@example.org")), "Forgotten Email Not Subscribed")


@pytest.mark.parametrize(
    "email",
    [
        "someone@example.invalid",
        "fake.person@example.org",
        "test@test.com",
        "no-at-sign.example.org",
        "two@@example.org",
        "a@b@example.org",
        "dotless@localhost",
        "trailing@example.org.",
        "spa ce@example.org",
    ],
)
def test_fake_or_invalid_addresses_are_refused(api: Client, email: str) -> None:
    body = problem(api.put(email, new(email)), "Invalid Resource")
    assert body["detail"] == f"{email} looks fake or invalid, please enter a real email address."
    assert api.mc.member(email) is None


def test_mark_fake_adds_a_pattern(api: Client, mc: MailchimpSandbox) -> None:
    assert api.put("bot1@spam.example.org", new("bot1@spam.example.org")).status_code == 200
    mc.mark_fake(r"@spam\.example\.org$")
    problem(api.put("bot2@spam.example.org", new("bot2@spam.example.org")), "Invalid Resource")


def test_post_member_existing_is_member_exists(api: Client) -> None:
    body = {"email_address": "m@example.org", "status": "subscribed", "tags": ["VIP"]}
    resp = api.post(body)
    assert resp.status_code == 200
    assert [t["name"] for t in resp.json()["tags"]] == ["VIP"]
    err = problem(api.post(body), "Member Exists")
    assert err["detail"] == (
        "m@example.org is already a list member. Use PUT to insert or update list members."
    )


def test_put_hash_must_match_body_email(api: Client) -> None:
    resp = api.session.put(
        f"{api.lists}/members/{md5('one@example.org')}", json=new("two@example.org")
    )
    problem(resp, "Invalid Resource")
    api.put("two@example.org", new("two@example.org"))
    resp = api.session.put(
        f"{api.lists}/members/{md5('one@example.org')}", json=new("two@example.org")
    )
    problem(resp, "Member Exists")
    # the hash is computed from the lower-cased address
    assert (
        api.session.put(
            f"{api.lists}/members/{md5('three@example.org')}", json=new("THREE@example.org")
        ).status_code
        == 200
    )


def test_patch_member_and_unknown_patch(api: Client) -> None:
    assert api.patch("nobody@example.org", {"status": "unsubscribed"}).status_code == 404
    api.put("pat@example.org", new("pat@example.org"))
    resp = api.patch("pat@example.org", {"merge_fields": {"PHONE": "555-0100"}, "vip": True})
    assert resp.status_code == 200
    assert resp.json()["merge_fields"]["PHONE"] == "555-0100"
    assert resp.json()["vip"] is True
    assert resp.json()["status"] == "subscribed"


def test_get_member_unknown_is_404(api: Client) -> None:
    assert api.get("nobody@example.org").status_code == 404


def test_member_path_accepts_raw_address(api: Client) -> None:
    api.put("raw@example.org", new("raw@example.org"))
    resp = api.session.get(f"{api.lists}/members/raw@example.org")
    assert resp.json()["id"] == md5("raw@example.org")


# --- merge fields ---------------------------------------------------------------------


def test_default_merge_fields(api: Client) -> None:
    body = api.session.get(f"{api.lists}/merge-fields", params={"count": 1000}).json()
    tags = {f["tag"]: f["type"] for f in body["merge_fields"]}
    assert tags == {"FNAME": "text", "LNAME": "text", "ADDRESS": "address", "PHONE": "phone"}
    assert "COMPANY" not in tags
    assert body["total_items"] == 4
    assert body["list_id"] == api.mc.list_id


def test_create_merge_field_and_duplicate_tag(api: Client) -> None:
    url = f"{api.lists}/merge-fields"
    resp = api.session.post(url, json={"tag": "COMPANY", "name": "Company", "type": "text"})
    assert resp.status_code == 200
    created = resp.json()
    assert created["tag"] == "COMPANY"
    assert created["merge_id"] == 5
    one = api.session.get(f"{url}/{created['merge_id']}").json()
    assert one["name"] == "Company"
    dup = api.session.post(url, json={"tag": "company", "name": "Again", "type": "text"})
    assert "COMPANY" in problem(dup, "Invalid Resource")["detail"]
    generated = api.session.post(url, json={"name": "Intacct Id", "type": "text"}).json()
    assert generated["tag"] == "MMERGE6"
    problem(api.session.post(url, json={"name": "No type"}), "Invalid Resource")
    problem(
        api.session.post(url, json={"tag": "X", "name": "x", "type": "colour"}), "Invalid Resource"
    )
    # a new field shows on existing members as empty
    api.put("mf@example.org", new("mf@example.org", merge_fields={"COMPANY": "Acme"}))
    assert api.get("mf@example.org").json()["merge_fields"]["MMERGE6"] == ""


def test_unknown_merge_tag_names_the_field(api: Client) -> None:
    resp = api.put("u@example.org", new("u@example.org", merge_fields={"COMPANY": "Acme"}))
    body = problem(resp, "Invalid Resource")
    assert body["detail"] == "Your merge fields were invalid."
    assert [e["field"] for e in body["errors"]] == ["COMPANY"]
    assert api.get("u@example.org").status_code == 404


def test_address_must_be_a_complete_object(api: Client) -> None:
    full = {"addr1": "1 Main St", "city": "Springfield", "state": "IL", "zip": "62701"}
    resp = api.put("a1@example.org", new("a1@example.org", merge_fields={"ADDRESS": full}))
    assert resp.status_code == 200
    stored = resp.json()["merge_fields"]["ADDRESS"]
    assert stored["addr1"] == "1 Main St"
    assert stored["zip"] == "62701"
    for bad in (
        "1 Main St, Springfield",
        {"addr1": "1 Main St", "city": "Springfield", "state": "IL"},
        {**full, "zip": 62701},
        {**full, "city": ""},
        None,
    ):
        resp = api.put("a2@example.org", new("a2@example.org", merge_fields={"ADDRESS": bad}))
        body = problem(resp, "Invalid Resource")
        assert body["errors"][0]["field"] == "ADDRESS", bad
    optional = {**full, "addr2": "Suite 5", "country": "CA"}
    resp = api.put("a3@example.org", new("a3@example.org", merge_fields={"ADDRESS": optional}))
    assert resp.json()["merge_fields"]["ADDRESS"]["country"] == "CA"


def test_text_limit_is_255_utf8_bytes(api: Client) -> None:
    ok = "é" * 127  # 254 bytes
    resp = api.put("t1@example.org", new("t1@example.org", merge_fields={"FNAME": ok}))
    assert resp.status_code == 200
    too_long = "é" * 128  # 128 characters but 256 bytes
    resp = api.put("t2@example.org", new("t2@example.org", merge_fields={"FNAME": too_long}))
    body = problem(resp, "Invalid Resource")
    assert body["errors"][0]["field"] == "FNAME"
    assert "255 bytes" in body["errors"][0]["message"]
    ascii_ok = "x" * 255
    assert api.put("t3@example.org", new("t3@example.org", merge_fields={"LNAME": ascii_ok})).ok


def test_required_merge_field_unless_skip_merge_validation(api: Client) -> None:
    api.session.post(
        f"{api.lists}/merge-fields",
        json={
            "tag": "REGION",
            "name": "Region",
            "type": "dropdown",
            "required": True,
            "options": {"choices": ["North", "South"]},
        },
    )
    body = problem(api.put("r1@example.org", new("r1@example.org")), "Invalid Resource")
    assert body["errors"] == [{"field": "REGION", "message": "Please enter a value"}]
    resp = api.put("r1@example.org", new("r1@example.org"), skip_merge_validation="true")
    assert resp.status_code == 200
    bad = new("r2@example.org", merge_fields={"REGION": "East"})
    problem(api.put("r2@example.org", bad), "Invalid Resource")
    good = new("r2@example.org", merge_fields={"REGION": "South"})
    assert api.put("r2@example.org", good).status_code == 200


# --- tags -------------------------------------------------------------------------------


def test_tags_active_adds_inactive_removes(api: Client) -> None:
    api.put("tag@example.org", new("tag@example.org"))
    url = f"{api.lists}/members/{md5('tag@example.org')}/tags"
    resp = api.session.post(
        url,
        json={
            "tags": [{"name": "VIP", "status": "active"}, {"name": "Vendor", "status": "active"}]
        },
    )
    assert resp.status_code == 204
    assert resp.content == b""
    got = api.session.get(url).json()
    assert sorted(t["name"] for t in got["tags"]) == ["VIP", "Vendor"]
    assert got["total_items"] == 2
    assert all(isinstance(t["id"], int) and t["date_added"] for t in got["tags"])
    api.session.post(url, json={"tags": [{"name": "VIP", "status": "inactive"}]})
    assert [t["name"] for t in api.session.get(url).json()["tags"]] == ["Vendor"]
    api.session.post(url, json={"tags": []})
    assert api.session.get(url).json()["total_items"] == 1
    bad = api.session.post(url, json={"tags": [{"name": "X", "status": "on"}]})
    problem(bad, "Invalid Resource")
    assert api.get("tag@example.org").json()["tags_count"] == 1
    missing = f"{api.lists}/members/{md5('none@example.org')}/tags"
    assert api.session.post(missing, json={"tags": []}).status_code == 404


# --- batch subscribe ----------------------------------------------------------------------


def test_batch_subscribe_reports_per_member_errors_with_http_200(
    api: Client, mc: MailchimpSandbox
) -> None:
    mc.seed_member("old@example.org", "subscribed")
    mc.seed_member("unsub@example.org", "unsubscribed")
    mc.forget("forgot@example.org")
    members = [
        {"email_address": "n1@example.org", "status_if_new": "subscribed", "tags": ["A"]},
        {"email_address": "old@example.org", "status_if_new": "subscribed"},
        {"email_address": "x@example.invalid", "status_if_new": "subscribed"},
        {"email_address": "unsub@example.org", "status": "subscribed"},
        {"email_address": "forgot@example.org", "status_if_new": "subscribed"},
        {
            "email_address": "n2@example.org",
            "status_if_new": "subscribed",
            "merge_fields": {"NOPE": "1"},
        },
        {"email_address": "n3@example.org", "status": "pending"},
    ]
    resp = api.batch({"members": members, "update_existing": False})
    assert resp.status_code == 200
    body = resp.json()
    assert body["total_created"] == 2
    assert sorted(m["email_address"] for m in body["new_members"]) == [
        "n1@example.org",
        "n3@example.org",
    ]
    assert body["total_updated"] == 0
    assert body["error_count"] == 5 == len(body["errors"])
    errors = {e["email_address"]: e for e in body["errors"]}
    assert errors["old@example.org"]["error_code"] == "ERROR_CONTACT_EXISTS"
    assert errors["x@example.invalid"]["error"] == (
        "x@example.invalid looks fake or invalid, please enter a real email address."
    )
    assert errors["x@example.invalid"]["error_code"] == "ERROR_GENERIC"
    assert errors["unsub@example.org"]["error_code"] == "ERROR_CONTACT_EXISTS"
    assert "permanently deleted" in errors["forgot@example.org"]["error"]
    assert errors["n2@example.org"]["field"] == "NOPE"
    assert errors["n2@example.org"]["field_message"]
    for e in body["errors"]:
        assert set(e) == {"email_address", "error", "error_code", "field", "field_message"}
    assert api.get("n3@example.org").json()["status"] == "pending"
    assert api.get("unsub@example.org").json()["status"] == "unsubscribed"


def test_batch_subscribe_update_existing_and_sync_tags(api: Client, mc: MailchimpSandbox) -> None:
    mc.seed_member("u1@example.org", "unsubscribed", tags=["Old", "Keep"])
    mc.seed_member("u2@example.org", "cleaned")
    body = api.batch(
        {
            "members": [
                {"email_address": "u2@example.org", "status": "subscribed"},
                {
                    "email_address": "u1@example.org",
                    "status_if_new": "subscribed",
                    "merge_fields": {"FNAME": "Una"},
                    "tags": ["Keep", "New"],
                },
            ],
            "update_existing": True,
            "sync_tags": True,
        }
    ).json()
    assert body["total_updated"] == 1
    assert [e["email_address"] for e in body["errors"]] == ["u2@example.org"]
    assert "compliance state" in body["errors"][0]["error"]
    assert body["errors"][0]["error_code"] == "ERROR_GENERIC"
    assert api.get("u2@example.org").json()["status"] == "cleaned"
    member = api.get("u1@example.org").json()
    assert member["status"] == "unsubscribed"
    assert member["merge_fields"]["FNAME"] == "Una"
    assert sorted(t["name"] for t in member["tags"]) == ["Keep", "New"]


def test_batch_subscribe_duplicates_in_one_request(api: Client) -> None:
    members = [
        {"email_address": "dup@example.org", "status_if_new": "subscribed"},
        {"email_address": "DUP@example.org", "status_if_new": "unsubscribed"},
    ]
    body = api.batch({"members": members}).json()
    assert body["total_created"] == 1
    assert body["error_count"] == 1
    assert body["errors"][0]["email_address"] == "DUP@example.org"
    assert api.get("dup@example.org").json()["status"] == "subscribed"
    members = [
        {"email_address": "dup2@example.org", "status_if_new": "subscribed"},
        {"email_address": "dup2@example.org", "status_if_new": "unsubscribed"},
    ]
    body = api.batch({"members": members}, skip_duplicate_check="true").json()
    assert (body["total_created"], body["error_count"]) == (1, 0)


def test_batch_subscribe_caps_at_500(api: Client) -> None:
    members = [{"email_address": f"m{i}@example.org", "status": "subscribed"} for i in range(501)]
    problem(api.batch({"members": members}), "Invalid Resource")
    assert api.session.get(f"{api.lists}/members").json()["total_items"] == 0
    body = api.batch({"members": members[:500]}).json()
    assert body["total_created"] == 500


def test_batch_subscribe_schema_is_checked(api: Client) -> None:
    problem(api.batch({"update_existing": True}), "Invalid Resource")
    bad = {"members": [{"email_address": "s@example.org", "status": "bogus"}]}
    body = problem(api.batch(bad), "Invalid Resource")
    assert body["errors"][0]["field"] == "members.item:0.status"


def test_members_list_and_status_filter(api: Client, mc: MailchimpSandbox) -> None:
    mc.seed_member("s1@example.org", "subscribed")
    mc.seed_member("s2@example.org", "unsubscribed")
    body = api.session.get(f"{api.lists}/members", params={"status": "unsubscribed"}).json()
    assert [m["email_address"] for m in body["members"]] == ["s2@example.org"]
    assert body["total_items"] == 1
    snap = mc.snapshot()["lists"][mc.list_id]["members"]
    assert set(snap) == {"s1@example.org", "s2@example.org"}
