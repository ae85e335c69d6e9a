"""The Mailchimp sandbox at the HTTP level: auth, problem documents, routing, trigger header."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterator

import pytest
import requests

from tests.sandbox.mailchimp import TRIGGER_ERRORS, MailchimpSandbox

WRONG_DC = "Your API key may be invalid, or you've attempted to access the wrong datacenter."


@pytest.fixture
def mc() -> Iterator[MailchimpSandbox]:
    with MailchimpSandbox() as sandbox:
        yield sandbox


@pytest.fixture
def http(mc: MailchimpSandbox) -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.auth = ("anystring", mc.api_key)
        yield session


def assert_problem(resp: requests.Response, status: int, title: str) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["Content-Type"].startswith("application/problem+json")
    body = resp.json()
    assert body["status"] == status
    assert body["title"] == title
    assert body["type"].startswith("https://mailchimp.com/developer/marketing/docs/errors")
    assert isinstance(body["detail"], str) and body["detail"]
    assert re.fullmatch(r"[0-9a-f-]{36}", body["instance"])
    return body


def test_sandbox_binds_loopback_with_a_real_key_and_audience(mc: MailchimpSandbox) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/3\.0", mc.base_url)
    assert mc.port > 0
    assert re.fullmatch(r"[0-9a-f]{32}-us6", mc.api_key)
    cfg = mc.target_config(max_retries=1)
    assert cfg == {
        "api_key": mc.api_key,
        "api_url": mc.base_url,
        "list_id": mc.list_id,
        "max_retries": 1,
    }
    with pytest.raises(ValueError, match="loopback"):
        MailchimpSandbox(host="0.0.0.0")


def test_ping_with_basic_auth_any_username(mc: MailchimpSandbox) -> None:
    for user in ("user", "python-mailchimp", ""):
        resp = requests.get(mc.base_url + "/ping", auth=(user, mc.api_key), timeout=5)
        assert resp.status_code == 200
        assert resp.json() == {"health_status": "Everything's Chimpy!"}
        assert resp.headers["X-Request-Id"]


def test_bearer_auth_is_accepted(mc: MailchimpSandbox) -> None:
    resp = requests.get(
        mc.base_url + "/lists", headers={"Authorization": f"Bearer {mc.api_key}"}, timeout=5
    )
    assert resp.status_code == 200
    assert [lst["id"] for lst in resp.json()["lists"]] == [mc.list_id]


def test_unknown_key_is_401_api_key_invalid(mc: MailchimpSandbox) -> None:
    resp = requests.get(mc.base_url + "/ping", auth=("u", "0" * 32 + "-us6"), timeout=5)
    body = assert_problem(resp, 401, "API Key Invalid")
    assert body["detail"] == WRONG_DC


def test_key_for_another_datacenter_is_401_wrong_datacenter(mc: MailchimpSandbox) -> None:
    other_dc = mc.api_key.rsplit("-", 1)[0] + "-us21"
    resp = requests.get(mc.base_url + "/ping", auth=("u", other_dc), timeout=5)
    body = assert_problem(resp, 401, "API Key Invalid")
    assert body["detail"] == WRONG_DC


def test_missing_or_garbled_auth(mc: MailchimpSandbox) -> None:
    assert_problem(requests.get(mc.base_url + "/ping", timeout=5), 401, "API Key Missing")
    garbled = {"Authorization": "Basic !!!not-base64"}
    resp = requests.get(mc.base_url + "/ping", headers=garbled, timeout=5)
    assert_problem(resp, 401, "API Key Invalid")
    no_password = base64.b64encode(b"user:").decode()
    resp = requests.get(
        mc.base_url + "/ping", headers={"Authorization": f"Basic {no_password}"}, timeout=5
    )
    assert_problem(resp, 401, "API Key Missing")


def test_extra_keys_can_be_allowed(mc: MailchimpSandbox) -> None:
    extra = "f" * 32 + "-us6"
    assert requests.get(mc.base_url + "/ping", auth=("u", extra), timeout=5).status_code == 401
    mc.extra_api_keys.add(extra)
    assert requests.get(mc.base_url + "/ping", auth=("u", extra), timeout=5).status_code == 200


def test_every_response_carries_a_distinct_request_id(
    mc: MailchimpSandbox, http: requests.Session
) -> None:
    ids = {http.get(mc.base_url + "/ping").headers["X-Request-Id"] for _ in range(3)}
    ids.add(http.get(mc.base_url + "/nope").headers["X-Request-Id"])
    ids.add(requests.get(mc.base_url + "/ping", timeout=5).headers["X-Request-Id"])
    assert len(ids) == 5
    assert {r.request_id for r in mc.requests} == ids


def test_unknown_path_is_404_problem(mc: MailchimpSandbox, http: requests.Session) -> None:
    body = assert_problem(http.get(mc.base_url + "/lists/nope"), 404, "Resource Not Found")
    assert body["detail"] == "The requested resource could not be found."
    assert_problem(http.get(mc.url + "/2.0/lists"), 404, "Resource Not Found")


def test_wrong_method_is_405_with_allow_header(
    mc: MailchimpSandbox, http: requests.Session
) -> None:
    resp = http.delete(mc.base_url + "/lists")
    assert_problem(resp, 405, "Method Not Allowed")
    assert resp.headers["Allow"] == "GET"


def test_invalid_json_is_json_parse_exception(mc: MailchimpSandbox, http: requests.Session) -> None:
    resp = http.post(
        f"{mc.base_url}/lists/{mc.list_id}/members",
        data=b'{"email_address": "a@b.org",',
        headers={"Content-Type": "application/json"},
    )
    assert_problem(resp, 400, "JSON Parse Exception")


def test_schema_breaking_body_is_invalid_resource_with_errors(
    mc: MailchimpSandbox, http: requests.Session
) -> None:
    resp = http.post(
        f"{mc.base_url}/lists/{mc.list_id}/members",
        json={"email_address": "ann@example.org", "status": "happy", "vip": "yes"},
    )
    body = assert_problem(resp, 400, "Invalid Resource")
    fields = {e["field"]: e["message"] for e in body["errors"]}
    assert set(fields) == {"status", "vip"}
    assert "subscribed" in fields["status"]
    assert fields["vip"] == "Schema describes boolean, string found instead"
    resp = http.post(f"{mc.base_url}/lists/{mc.list_id}/members", json={"status": "subscribed"})
    body = assert_problem(resp, 400, "Invalid Resource")
    assert body["errors"] == [
        {"field": "", "message": "Required fields were not provided: email_address"}
    ]
    assert http.get(f"{mc.base_url}/lists/{mc.list_id}/members").json()["total_items"] == 0


def test_null_where_a_string_belongs_is_reported_like_mailchimp(
    mc: MailchimpSandbox, http: requests.Session
) -> None:
    h = hashlib.md5(b"ann@example.org").hexdigest()
    resp = http.put(
        f"{mc.base_url}/lists/{mc.list_id}/members/{h}",
        json={"email_address": None, "status_if_new": "subscribed"},
    )
    body = assert_problem(resp, 400, "Invalid Resource")
    assert body["errors"] == [
        {"field": "email_address", "message": "Schema describes string, NULL found instead"}
    ]


def test_204_has_no_body(mc: MailchimpSandbox, http: requests.Session) -> None:
    h = hashlib.md5(b"ann@example.org").hexdigest()
    url = f"{mc.base_url}/lists/{mc.list_id}/members/{h}"
    http.put(url, json={"email_address": "ann@example.org", "status_if_new": "subscribed"})
    resp = http.delete(url)
    assert resp.status_code == 204
    assert resp.content == b""
    assert "Content-Type" not in resp.headers
    assert resp.headers["X-Request-Id"]


@pytest.mark.parametrize("name", sorted(TRIGGER_ERRORS))
def test_x_trigger_error_returns_that_error(
    mc: MailchimpSandbox, http: requests.Session, name: str
) -> None:
    status, title, _ = TRIGGER_ERRORS[name]
    resp = http.get(mc.base_url + "/ping", headers={"X-Trigger-Error": name})
    assert_problem(resp, status, title)


def test_trigger_error_statuses_follow_the_glossary() -> None:
    statuses = {name: spec[0] for name, spec in TRIGGER_ERRORS.items()}
    assert statuses["APIKeyMissing"] == 401
    assert statuses["WrongDatacenter"] == 403
    assert statuses["ResourceNestingTooDeep"] == 414
    assert statuses["InvalidMethodOverride"] == 422
    assert statuses["TooManyRequests"] == 429
    assert statuses["InternalServerError"] == 500
    assert len(statuses) == 17


def test_unknown_trigger_name_is_a_clear_400(mc: MailchimpSandbox, http: requests.Session) -> None:
    resp = http.get(mc.base_url + "/ping", headers={"X-Trigger-Error": "Nope"})
    body = assert_problem(resp, 400, "Bad Request")
    assert "Nope" in body["detail"]


def test_method_override_only_on_post(mc: MailchimpSandbox, http: requests.Session) -> None:
    h = hashlib.md5(b"ann@example.org").hexdigest()
    url = f"{mc.base_url}/lists/{mc.list_id}/members/{h}"
    body = {"email_address": "ann@example.org", "status_if_new": "subscribed"}
    resp = http.post(url, json=body, headers={"X-HTTP-Method-Override": "PUT"})
    assert resp.status_code == 200
    assert resp.json()["status"] == "subscribed"
    resp = http.put(url, json=body, headers={"X-HTTP-Method-Override": "PATCH"})
    assert_problem(resp, 422, "Invalid Method Override")


def test_fields_and_exclude_fields(mc: MailchimpSandbox, http: requests.Session) -> None:
    resp = http.get(mc.base_url + "/lists", params={"fields": "lists.id,total_items"})
    assert resp.json() == {"lists": [{"id": mc.list_id}], "total_items": 1}
    resp = http.get(mc.base_url + "/lists", params={"exclude_fields": "lists.stats,_links"})
    body = resp.json()
    assert "_links" not in body
    assert "stats" not in body["lists"][0]
    assert body["lists"][0]["name"] == "Sandbox Audience"


def test_paging_count_and_offset(mc: MailchimpSandbox, http: requests.Session) -> None:
    for i in range(12):
        mc.seed_member(f"p{i:02d}@example.org", "subscribed")
    url = f"{mc.base_url}/lists/{mc.list_id}/members"
    first = http.get(url).json()
    assert first["total_items"] == 12
    assert len(first["members"]) == 10
    rest = http.get(url, params={"count": 5, "offset": 10}).json()
    assert [m["email_address"] for m in rest["members"]] == ["p10@example.org", "p11@example.org"]
    assert len(http.get(url, params={"count": 1000}).json()["members"]) == 12
    assert_problem(http.get(url, params={"count": 1001}), 400, "Bad Request")
    assert_problem(http.get(url, params={"offset": "x"}), 400, "Bad Request")


def test_account_root(mc: MailchimpSandbox, http: requests.Session) -> None:
    body = http.get(mc.base_url + "/").json()
    assert body["role"] == "owner"
    assert body["account_id"]
