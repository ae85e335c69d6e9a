"""In-memory account state and Mailchimp's semantic rules (audiences, members, e-commerce).

Every public method expects the caller to hold :attr:`State.lock` (the dispatcher does) and
raises :class:`~tests.sandbox.mailchimp.errors.ApiError` for anything Mailchimp would refuse.
Writes check everything first and mutate last, so a refused request changes nothing.
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import pickle
import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from .errors import ApiError, bad_request, invalid_resource, not_found, validation_error
from .validation import (
    DEFAULT_FAKE_PATTERNS,
    MERGE_DETAIL,
    check_merge_fields,
    email_syntax_ok,
    fake_detail,
)

UNSUBSCRIBED_LIKE = ("unsubscribed", "cleaned")


def subscriber_hash(email: str) -> str:
    """Lower-case hex MD5 of the stripped, lower-cased address (Mailchimp's member id)."""
    return hashlib.md5(email.strip().lower().encode("utf-8")).hexdigest()


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def compliance_error(email: str) -> ApiError:
    return ApiError(
        400,
        "Member In Compliance State",
        f"{email} is in a compliance state due to unsubscribe, bounce, or compliance review "
        "and cannot be subscribed.",
    )


def forgotten_error(email: str) -> ApiError:
    return ApiError(
        400,
        "Forgotten Email Not Subscribed",
        f"{email} was permanently deleted and cannot be re-imported. "
        "The contact must re-subscribe to get back on the list.",
    )


def member_exists_error(email: str) -> ApiError:
    return ApiError(
        400,
        "Member Exists",
        f"{email} is already a list member. Use PUT to insert or update list members.",
    )


def _required(*names: str, prefix: str = "") -> ApiError:
    return validation_error(
        [{"field": prefix, "message": f"Required fields were not provided: {', '.join(names)}"}]
    )


DEFAULT_MERGE_FIELDS: tuple[dict[str, Any], ...] = (
    {"tag": "FNAME", "name": "First Name", "type": "text", "options": {"size": 25}},
    {"tag": "LNAME", "name": "Last Name", "type": "text", "options": {"size": 25}},
    {"tag": "ADDRESS", "name": "Address", "type": "address", "options": {"default_country": 164}},
    {"tag": "PHONE", "name": "Phone Number", "type": "phone", "options": {"phone_format": "none"}},
)
_TAG_RE = re.compile(r"^[A-Z0-9_]{1,10}$")
_CURRENCY_RE = re.compile(r"^[A-Za-z]{3}$")


@dataclass
class Audience:
    """One audience (list): merge fields, members by subscriber hash, forgotten hashes."""

    id: str
    name: str
    web_id: int
    created: str = field(default_factory=now_iso)
    merge_fields: dict[str, dict[str, Any]] = field(default_factory=dict)
    next_merge_id: int = 1
    members: dict[str, dict[str, Any]] = field(default_factory=dict)
    forgotten: set[str] = field(default_factory=set)


@dataclass
class Store:
    """One e-commerce store tied to an audience for good."""

    data: dict[str, Any]
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    products: dict[str, dict[str, Any]] = field(default_factory=dict)
    orders: dict[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def list_id(self) -> str:
        return str(self.data["list_id"])


def _ensure_currency(body: dict[str, Any], key: str = "currency_code") -> None:
    if key in body and not _CURRENCY_RE.match(str(body[key])):
        raise validation_error(
            [{"field": key, "message": "Please provide a three-letter ISO 4217 currency code."}]
        )


class State:
    """The account: audiences, stores, batches. Guard every access with :attr:`lock`."""

    def __init__(self, fake_patterns: list[str] | None = None) -> None:
        self.lock = threading.RLock()
        self.lists: dict[str, Audience] = {}
        self.stores: dict[str, Store] = {}
        self.batches: dict[str, dict[str, Any]] = {}
        self.fake_patterns: list[re.Pattern[str]] = [
            re.compile(p, re.IGNORECASE)
            for p in (DEFAULT_FAKE_PATTERNS if fake_patterns is None else fake_patterns)
        ]
        self._web_ids = itertools.count(100001)
        self._tag_ids = itertools.count(10001)
        self._tag_registry: dict[tuple[str, str], int] = {}

    # --- persistence (for `make demo`, which restarts the sandbox between runs) ------

    def dump(self) -> bytes:
        """The account's data as bytes; batches in flight are not kept."""
        with self.lock:
            data = {k: v for k, v in self.__dict__.items() if k != "lock"}
            data["batches"] = {}
            data["_web_ids"] = next(self._web_ids)
            data["_tag_ids"] = next(self._tag_ids)
            self._web_ids = itertools.count(data["_web_ids"] + 1)
            self._tag_ids = itertools.count(data["_tag_ids"] + 1)
            return pickle.dumps(data)

    def load(self, blob: bytes) -> None:
        """Replace the account's data with what :meth:`dump` wrote (a file this project made)."""
        data = pickle.loads(blob)
        data["_web_ids"] = itertools.count(data["_web_ids"])
        data["_tag_ids"] = itertools.count(data["_tag_ids"])
        with self.lock:
            self.__dict__.update(data)

    # --- audiences -------------------------------------------------------------------

    def add_list(self, list_id: str, name: str, *, default_merge_fields: bool = True) -> Audience:
        if list_id in self.lists:
            raise ValueError(f"audience {list_id} already exists")
        audience = Audience(id=list_id, name=name, web_id=next(self._web_ids))
        self.lists[list_id] = audience
        if default_merge_fields:
            for spec in DEFAULT_MERGE_FIELDS:
                self.create_merge_field(list_id, copy.deepcopy(spec))
        return audience

    def audience(self, list_id: str) -> Audience:
        try:
            return self.lists[list_id]
        except KeyError:
            raise not_found() from None

    def render_list(self, audience: Audience) -> dict[str, Any]:
        # The list resource of GET /lists/{list_id} as Mailchimp's API reference ("Lists/
        # Audiences", response body) lists it: contact, campaign_defaults and the full stats
        # object. The sandbox sends no campaigns, so campaign counts and rates stay 0 and the
        # dates empty; member counts are live.
        counts = {"subscribed": 0, "unsubscribed": 0, "cleaned": 0, "pending": 0}
        for m in audience.members.values():
            if m["status"] in counts:
                counts[m["status"]] += 1
        total = sum(1 for m in audience.members.values() if m["status"] != "archived")
        return {
            "id": audience.id,
            "web_id": audience.web_id,
            "name": audience.name,
            "contact": {
                "company": "Sandbox Company",
                "address1": "1 Sandbox Way",
                "address2": "",
                "city": "Loopback",
                "state": "CA",
                "zip": "94000",
                "country": "US",
                "phone": "",
            },
            "permission_reminder": "You are receiving this email because you did business with us.",
            "use_archive_bar": False,
            "campaign_defaults": {
                "from_name": "Sandbox Company",
                "from_email": "news@example.com",
                "subject": "",
                "language": "en",
            },
            "notify_on_subscribe": "",
            "notify_on_unsubscribe": "",
            "date_created": audience.created,
            "list_rating": 0,
            "email_type_option": False,
            "subscribe_url_short": f"http://eepurl.com/sandbox{audience.web_id}",
            "subscribe_url_long": (
                f"http://sandbox.list-manage.com/subscribe?u=sandbox&id={audience.id}"
            ),
            "beamer_address": f"us1-sandbox-{audience.id}@inbound.mailchimp.com",
            "visibility": "prv",
            "double_optin": False,
            "has_welcome": False,
            "marketing_permissions": False,
            "modules": [],
            "stats": {
                "member_count": counts["subscribed"],
                "total_contacts": total,
                "unsubscribe_count": counts["unsubscribed"],
                "cleaned_count": counts["cleaned"],
                "member_count_since_send": counts["subscribed"],
                "unsubscribe_count_since_send": counts["unsubscribed"],
                "cleaned_count_since_send": counts["cleaned"],
                "campaign_count": 0,
                "campaign_last_sent": "",
                "merge_field_count": len(audience.merge_fields),
                "avg_sub_rate": 0,
                "avg_unsub_rate": 0,
                "target_sub_rate": 0,
                "open_rate": 0,
                "click_rate": 0,
                "last_sub_date": "",
                "last_unsub_date": "",
            },
            "_links": [],
        }

    # --- merge fields ----------------------------------------------------------------

    def create_merge_field(self, list_id: str, body: dict[str, Any]) -> dict[str, Any]:
        audience = self.audience(list_id)
        merge_id = audience.next_merge_id
        tag = body.get("tag")
        if tag is None or tag == "":
            tag = f"MMERGE{merge_id}"
        tag = str(tag).upper()
        if not _TAG_RE.match(tag):
            raise validation_error(
                [
                    {
                        "field": "tag",
                        "message": "A merge tag is 1-10 characters: letters, digits or _.",
                    }
                ]
            )
        if tag in audience.merge_fields:
            raise invalid_resource(f'A Merge Field with the tag "{tag}" already exists.')
        audience.next_merge_id += 1
        mf = {
            "merge_id": merge_id,
            "tag": tag,
            "name": body["name"],
            "type": body["type"],
            "required": bool(body.get("required", False)),
            "default_value": body.get("default_value", ""),
            "public": bool(body.get("public", False)),
            "display_order": body.get("display_order", merge_id + 1),
            "options": copy.deepcopy(body.get("options") or {}),
            "help_text": body.get("help_text", ""),
            "list_id": list_id,
        }
        audience.merge_fields[tag] = mf
        return self.render_merge_field(mf)

    @staticmethod
    def render_merge_field(mf: dict[str, Any]) -> dict[str, Any]:
        return {**copy.deepcopy(mf), "_links": []}

    def merge_field_by_id(self, list_id: str, merge_id: str) -> dict[str, Any]:
        audience = self.audience(list_id)
        for mf in audience.merge_fields.values():
            if str(mf["merge_id"]) == str(merge_id):
                return mf
        raise not_found()

    def update_merge_field(self, list_id: str, merge_id: str, body: dict[str, Any]) -> dict:
        mf = self.merge_field_by_id(list_id, merge_id)
        if "tag" in body and str(body["tag"]).upper() != mf["tag"]:
            raise invalid_resource("The tag of an existing merge field cannot be changed here.")
        for key in ("name", "required", "default_value", "public", "display_order", "help_text"):
            if key in body:
                mf[key] = body[key]
        if "options" in body:
            mf["options"].update(body["options"] or {})
        return self.render_merge_field(mf)

    def delete_merge_field(self, list_id: str, merge_id: str) -> None:
        mf = self.merge_field_by_id(list_id, merge_id)
        audience = self.audience(list_id)
        del audience.merge_fields[mf["tag"]]
        for m in audience.members.values():
            m["merge"].pop(mf["tag"], None)

    # --- members: helpers ------------------------------------------------------------

    def is_fake(self, email: str) -> bool:
        if not email_syntax_ok(email):
            return True
        return any(p.search(email) for p in self.fake_patterns)

    def _check_new_address(self, audience: Audience, email: str) -> None:
        if self.is_fake(email):
            raise invalid_resource(fake_detail(email))
        if subscriber_hash(email) in audience.forgotten:
            raise forgotten_error(email)

    def _tag(self, list_id: str, name: str) -> int:
        key = (list_id, name)
        if key not in self._tag_registry:
            self._tag_registry[key] = next(self._tag_ids)
        return self._tag_registry[key]

    def _new_member(self, audience: Audience, email: str) -> dict[str, Any]:
        ts = now_iso()
        return {
            "id": subscriber_hash(email),
            "email_address": email,
            "unique_email_id": uuid.uuid4().hex[:10],
            "contact_id": uuid.uuid4().hex,
            "web_id": next(self._web_ids),
            "email_type": "html",
            "status": "",
            "prev_status": None,
            "merge": {},
            "interests": {},
            "ip_signup": "",
            "timestamp_signup": "",
            "ip_opt": "",
            "timestamp_opt": ts,
            "language": "",
            "vip": False,
            "location": {"latitude": 0, "longitude": 0},
            "marketing_permissions": [],
            "source": "API - Generic",
            "tags": [],
            "created": ts,
            "last_changed": ts,
            "list_id": audience.id,
        }

    def render_member(self, audience: Audience, m: dict[str, Any]) -> dict[str, Any]:
        merge: dict[str, Any] = {}
        for tag in audience.merge_fields:
            merge[tag] = copy.deepcopy(m["merge"].get(tag, ""))
        first = str(merge.get("FNAME") or "")
        last = str(merge.get("LNAME") or "")
        return {
            "id": m["id"],
            "email_address": m["email_address"],
            "unique_email_id": m["unique_email_id"],
            "contact_id": m["contact_id"],
            "full_name": f"{first} {last}".strip(),
            "web_id": m["web_id"],
            "email_type": m["email_type"],
            "status": m["status"],
            "unsubscribe_reason": "",
            "merge_fields": merge,
            "interests": dict(m["interests"]),
            "stats": {"avg_open_rate": 0, "avg_click_rate": 0},
            "ip_signup": m["ip_signup"],
            "timestamp_signup": m["timestamp_signup"],
            "ip_opt": m["ip_opt"],
            "timestamp_opt": m["timestamp_opt"],
            "member_rating": 2,
            "last_changed": m["last_changed"],
            "language": m["language"],
            "vip": m["vip"],
            "email_client": "",
            "location": {
                **m["location"],
                "gmtoff": 0,
                "dstoff": 0,
                "country_code": "",
                "timezone": "",
            },
            "marketing_permissions": copy.deepcopy(m["marketing_permissions"]),
            "source": m["source"],
            "tags_count": len(m["tags"]),
            "tags": [{"id": t["id"], "name": t["name"]} for t in m["tags"]],
            "list_id": m["list_id"],
            "_links": [],
        }

    def _merge_changes(
        self,
        audience: Audience,
        m: dict[str, Any] | None,
        body: dict[str, Any],
        *,
        new: bool,
        skip_merge_validation: bool,
    ) -> dict[str, Any]:
        values = body.get("merge_fields") or {}
        clean, errors = check_merge_fields(
            values,
            audience.merge_fields,
            existing=m["merge"] if m else {},
            check_required=new and not skip_merge_validation,
        )
        if errors:
            raise invalid_resource(MERGE_DETAIL, errors)
        return clean

    @staticmethod
    def _resolve_status(
        email: str, m: dict[str, Any] | None, body: dict[str, Any], *, field_prefix: str = ""
    ) -> str:
        """The member's status after this write (status_if_new vs status; compliance rule).

        An archived member is an existing one: ``status_if_new`` leaves it archived and only
        ``status`` brings it back (checked against the status it had before it was archived).
        """
        if m is None:
            status = body.get("status_if_new") or body.get("status")
            if not status:
                raise _required("status_if_new", prefix=field_prefix)
            before = None
        elif m["status"] == "archived":
            status = body.get("status") or "archived"
            before = m["prev_status"]
        else:
            status = body.get("status") or m["status"]
            before = m["status"]
        if status == "subscribed" and before in UNSUBSCRIBED_LIKE:
            raise compliance_error(email)
        return str(status)

    def _apply(
        self,
        audience: Audience,
        m: dict[str, Any],
        body: dict[str, Any],
        status: str,
        merge: dict[str, Any],
    ) -> None:
        ts = now_iso()
        if status != m["status"]:
            if m["status"] == "archived":
                m["prev_status"] = None
            m["status"] = status
            if status in ("subscribed", "pending"):
                m["timestamp_opt"] = ts
        m["merge"].update(merge)
        for key in (
            "email_type",
            "language",
            "vip",
            "ip_signup",
            "timestamp_signup",
            "ip_opt",
            "timestamp_opt",
        ):
            if key in body:
                m[key] = body[key]
        if "interests" in body:
            m["interests"].update(body["interests"])
        if "location" in body:
            m["location"].update(body["location"])
        if "marketing_permissions" in body:
            m["marketing_permissions"] = copy.deepcopy(body["marketing_permissions"])
        m["last_changed"] = ts

    def _add_tags(self, list_id: str, m: dict[str, Any], names: list[str]) -> None:
        have = {t["name"] for t in m["tags"]}
        for name in names:
            if name not in have:
                m["tags"].append(
                    {
                        "id": self._tag(list_id, name),
                        "name": name,
                        "date_added": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"),
                    }
                )
                have.add(name)

    # --- members: endpoints ----------------------------------------------------------

    def resolve_hash(self, segment: str) -> str:
        """A member path segment: the subscriber hash, or (2026 API) the raw address."""
        return subscriber_hash(segment) if "@" in segment else segment.lower()

    def get_member(self, list_id: str, member: str) -> dict[str, Any]:
        audience = self.audience(list_id)
        m = audience.members.get(self.resolve_hash(member))
        if m is None:
            raise not_found()
        return self.render_member(audience, m)

    def put_member(
        self, list_id: str, member: str, body: dict[str, Any], *, skip_merge_validation: bool
    ) -> dict[str, Any]:
        audience = self.audience(list_id)
        path_hash = self.resolve_hash(member)
        email = body.get("email_address")
        if email is not None:
            email = str(email).strip()
            if subscriber_hash(email) != path_hash:
                other = audience.members.get(subscriber_hash(email))
                if other is not None and other["status"] != "archived":
                    raise member_exists_error(email)
                raise invalid_resource(
                    "The subscriber hash in the URL does not match the MD5 hash of the "
                    f"lower-cased email_address {email!r} in the body."
                )
        m = audience.members.get(path_hash)
        if m is None:
            if path_hash in audience.forgotten:
                raise forgotten_error(email or member)
            if not email:
                raise _required("email_address")
            self._check_new_address(audience, email)
        new = m is None or m["status"] == "archived"
        status = self._resolve_status(email or m["email_address"], m, body)  # type: ignore[index]
        merge = self._merge_changes(
            audience, m, body, new=m is None, skip_merge_validation=skip_merge_validation
        )
        if m is None:
            assert email
            m = self._new_member(audience, email)
            audience.members[path_hash] = m
        elif new and email:
            m["email_address"] = email
        self._apply(audience, m, body, status, merge)
        return self.render_member(audience, m)

    def post_member(
        self, list_id: str, body: dict[str, Any], *, skip_merge_validation: bool
    ) -> dict[str, Any]:
        audience = self.audience(list_id)
        email = str(body["email_address"]).strip()
        h = subscriber_hash(email)
        m = audience.members.get(h)
        if m is not None and m["status"] != "archived":
            raise member_exists_error(email)
        if m is None:
            self._check_new_address(audience, email)
        status = self._resolve_status(email, m, {"status": body["status"]})
        merge = self._merge_changes(
            audience, m, body, new=m is None, skip_merge_validation=skip_merge_validation
        )
        if m is None:
            m = self._new_member(audience, email)
            audience.members[h] = m
        self._apply(audience, m, body, status, merge)
        self._add_tags(list_id, m, list(body.get("tags") or []))
        return self.render_member(audience, m)

    def patch_member(
        self, list_id: str, member: str, body: dict[str, Any], *, skip_merge_validation: bool
    ) -> dict[str, Any]:
        audience = self.audience(list_id)
        h = self.resolve_hash(member)
        m = audience.members.get(h)
        if m is None:
            raise not_found()
        new_email = body.get("email_address")
        new_hash = None
        if new_email is not None and subscriber_hash(str(new_email)) != h:
            new_email = str(new_email).strip()
            new_hash = subscriber_hash(new_email)
            if new_hash in audience.members:
                raise member_exists_error(new_email)
            self._check_new_address(audience, new_email)
        if m["status"] == "archived" and "status" not in body:
            status = "archived"
        else:
            status = self._resolve_status(m["email_address"], m, {"status": body.get("status")})
        merge = self._merge_changes(
            audience, m, body, new=False, skip_merge_validation=skip_merge_validation
        )
        if new_hash is not None:
            del audience.members[h]
            m["email_address"] = new_email
            m["id"] = new_hash
            audience.members[new_hash] = m
        self._apply(audience, m, body, status, merge)
        return self.render_member(audience, m)

    def archive_member(self, list_id: str, member: str) -> None:
        audience = self.audience(list_id)
        m = audience.members.get(self.resolve_hash(member))
        if m is None or m["status"] == "archived":
            raise not_found()
        m["prev_status"] = m["status"]
        m["status"] = "archived"
        m["last_changed"] = now_iso()

    def delete_member_permanent(self, list_id: str, member: str) -> None:
        audience = self.audience(list_id)
        h = self.resolve_hash(member)
        if h not in audience.members:
            raise not_found()
        del audience.members[h]
        audience.forgotten.add(h)

    def member_tags(self, list_id: str, member: str) -> list[dict[str, Any]]:
        audience = self.audience(list_id)
        m = audience.members.get(self.resolve_hash(member))
        if m is None:
            raise not_found()
        return copy.deepcopy(m["tags"])

    def post_member_tags(self, list_id: str, member: str, body: dict[str, Any]) -> None:
        audience = self.audience(list_id)
        m = audience.members.get(self.resolve_hash(member))
        if m is None:
            raise not_found()
        add = [t["name"] for t in body["tags"] if t["status"] == "active"]
        remove = {t["name"] for t in body["tags"] if t["status"] == "inactive"}
        m["tags"] = [t for t in m["tags"] if t["name"] not in remove]
        self._add_tags(list_id, m, add)
        m["last_changed"] = now_iso()

    def batch_subscribe(
        self,
        list_id: str,
        body: dict[str, Any],
        *,
        skip_merge_validation: bool,
        skip_duplicate_check: bool,
        max_members: int = 500,
    ) -> dict[str, Any]:
        audience = self.audience(list_id)
        members = body["members"]
        if len(members) > max_members:
            raise invalid_resource(
                f"You can add or update at most {max_members} members per request; "
                f"{len(members)} were sent.",
                [{"field": "members", "message": f"At most {max_members} members per call."}],
            )
        update_existing = bool(body.get("update_existing", False))
        sync_tags = bool(body.get("sync_tags", False))
        created: list[dict[str, Any]] = []
        updated: list[dict[str, Any]] = []
        errors: list[dict[str, Any]] = []
        seen: set[str] = set()

        def fail(email: str, message: str, code: str = "ERROR_GENERIC", err: Any = None) -> None:
            entry = {
                "email_address": email,
                "error": message,
                "error_code": code,
                "field": "",
                "field_message": "",
            }
            if err is not None and err.errors:
                entry["field"] = err.errors[0]["field"]
                entry["field_message"] = err.errors[0]["message"]
            errors.append(entry)

        for item in members:
            email = str(item.get("email_address") or "").strip()
            if not email:
                fail("", "Required fields were not provided: email_address")
                continue
            h = subscriber_hash(email)
            if h in seen:
                if not skip_duplicate_check:
                    fail(email, f"{email} was sent more than once in this request.")
                continue
            seen.add(h)
            m = audience.members.get(h)
            exists = m is not None  # an archived member too (it stays archived: see above)
            if exists and not update_existing:
                fail(
                    email,
                    f"{email} is already a list member, do you want to update? "
                    "please provide update_existing:true in the request body",
                    "ERROR_CONTACT_EXISTS",
                )
                continue
            try:
                if m is None:
                    if h in audience.forgotten:
                        raise forgotten_error(email)
                    self._check_new_address(audience, email)
                status = self._resolve_status(email, m, item)
                merge = self._merge_changes(
                    audience,
                    m,
                    item,
                    new=m is None,
                    skip_merge_validation=skip_merge_validation,
                )
            except ApiError as exc:
                fail(email, exc.detail, err=exc)
                continue
            if m is None:
                m = self._new_member(audience, email)
                audience.members[h] = m
            self._apply(audience, m, item, status, merge)
            if "tags" in item:
                if sync_tags:
                    keep = set(item["tags"])
                    m["tags"] = [t for t in m["tags"] if t["name"] in keep]
                self._add_tags(list_id, m, list(item["tags"]))
            (updated if exists else created).append(self.render_member(audience, m))
        return {
            "new_members": created,
            "updated_members": updated,
            "errors": errors,
            "total_created": len(created),
            "total_updated": len(updated),
            "error_count": len(errors),
            "_links": [],
        }

    # --- e-commerce: stores ----------------------------------------------------------

    def store(self, store_id: str) -> Store:
        try:
            return self.stores[store_id]
        except KeyError:
            raise not_found() from None

    def render_store(self, store: Store) -> dict[str, Any]:
        return {**copy.deepcopy(store.data), "_links": []}

    def create_store(self, body: dict[str, Any]) -> dict[str, Any]:
        if body["list_id"] not in self.lists:
            raise validation_error(
                [{"field": "list_id", "message": "The list_id does not match any audience."}]
            )
        if body["id"] in self.stores:
            raise bad_request(
                "We were unable to process the request. "
                "A store with the provided ID already exists in the account."
            )
        domain = body.get("domain")
        if domain and any(s.data.get("domain") == domain for s in self.stores.values()):
            raise bad_request(
                "We were unable to process the request. "
                f"A store with the domain {domain} already exists in the account."
            )
        _ensure_currency(body)
        ts = now_iso()
        data = {
            "id": body["id"],
            "list_id": body["list_id"],
            "name": body["name"],
            "platform": "",
            "domain": "",
            "is_syncing": False,
            "email_address": "",
            "currency_code": str(body["currency_code"]).upper(),
            "money_format": "",
            "primary_locale": "",
            "timezone": "",
            "phone": "",
            "address": {},
            "list_is_active": True,
            "created_at": ts,
            "updated_at": ts,
        }
        data.update(copy.deepcopy(body))
        data["currency_code"] = str(body["currency_code"]).upper()
        store = Store(data=data)
        self.stores[body["id"]] = store
        return self.render_store(store)

    def patch_store(self, store_id: str, body: dict[str, Any]) -> dict[str, Any]:
        store = self.store(store_id)
        if "list_id" in body and body["list_id"] != store.list_id:
            raise validation_error(
                [{"field": "list_id", "message": "The list_id of a store cannot change."}]
            )
        if "id" in body and body["id"] != store_id:
            raise validation_error([{"field": "id", "message": "The store id cannot change."}])
        _ensure_currency(body)
        store.data.update(copy.deepcopy(body))
        if "currency_code" in body:
            store.data["currency_code"] = str(body["currency_code"]).upper()
        store.data["updated_at"] = now_iso()
        return self.render_store(store)

    def delete_store(self, store_id: str) -> None:
        self.store(store_id)
        del self.stores[store_id]

    # --- e-commerce: customers -------------------------------------------------------

    def render_customer(self, c: dict[str, Any]) -> dict[str, Any]:
        out = copy.deepcopy(c)
        out["total_spent"] = round(out["total_spent"], 2)
        out["_links"] = []
        return out

    def _customer_member(
        self, store: Store, email: str, opt_in: bool, first: str, last: str
    ) -> None:
        """E-commerce side effect on the store's audience (never overrides a contact)."""
        audience = self.lists.get(store.list_id)
        if audience is None:
            return
        h = subscriber_hash(email)
        m = audience.members.get(h)
        if m is None:
            if h in audience.forgotten:
                return
            m = self._new_member(audience, email)
            m["source"] = "E-commerce"
            m["status"] = "subscribed" if opt_in else "transactional"
            for tag, value in (("FNAME", first), ("LNAME", last)):
                if value and tag in audience.merge_fields:
                    m["merge"][tag] = value
            audience.members[h] = m
        elif opt_in and m["status"] == "transactional":
            m["status"] = "subscribed"
            m["last_changed"] = now_iso()

    def _check_customer_email(self, email: str, prefix: str = "") -> str:
        email = email.strip()
        if self.is_fake(email):
            raise validation_error(
                [{"field": f"{prefix}email_address", "message": fake_detail(email)}]
            )
        return email

    def _write_customer(
        self, store: Store, customer_id: str, body: dict[str, Any], *, prefix: str = ""
    ) -> dict[str, Any]:
        """Create or update a customer (checks first), with the audience side effect."""
        existing = store.customers.get(customer_id)
        email = body.get("email_address")
        if existing is None and not email:
            raise validation_error(
                [
                    {
                        "field": f"{prefix}email_address",
                        "message": "An email address is required to create a customer.",
                    }
                ]
            )
        if email is not None:
            email = self._check_customer_email(str(email), prefix)
        ts = now_iso()
        if existing is None:
            c: dict[str, Any] = {
                "id": customer_id,
                "email_address": email,
                "opt_in_status": False,
                "company": "",
                "first_name": "",
                "last_name": "",
                "orders_count": 0,
                "total_spent": 0.0,
                "address": {},
                "created_at": ts,
                "updated_at": ts,
            }
            store.customers[customer_id] = c
        else:
            c = existing
        for key in ("email_address", "opt_in_status", "company", "first_name", "last_name"):
            if key in body:
                c[key] = email if key == "email_address" else body[key]
        if "address" in body:
            c["address"] = copy.deepcopy(body["address"])
        c["updated_at"] = ts
        self._customer_member(
            store,
            str(c["email_address"]),
            bool(c["opt_in_status"]),
            str(c.get("first_name") or ""),
            str(c.get("last_name") or ""),
        )
        return c

    @staticmethod
    def _same_id(body: dict[str, Any], path_id: str) -> None:
        if "id" in body and str(body["id"]) != path_id:
            raise validation_error(
                [{"field": "id", "message": "The id in the body must match the id in the URL."}]
            )

    def put_customer(self, store_id: str, customer_id: str, body: dict[str, Any]) -> dict:
        store = self.store(store_id)
        self._same_id(body, customer_id)
        return self.render_customer(self._write_customer(store, customer_id, body))

    def post_customer(self, store_id: str, body: dict[str, Any]) -> dict[str, Any]:
        store = self.store(store_id)
        if body["id"] in store.customers:
            raise bad_request(
                "We were unable to process the request. "
                "A customer with the provided ID already exists in the account."
            )
        return self.render_customer(self._write_customer(store, body["id"], body))

    def patch_customer(self, store_id: str, customer_id: str, body: dict[str, Any]) -> dict:
        store = self.store(store_id)
        if customer_id not in store.customers:
            raise not_found()
        self._same_id(body, customer_id)
        return self.render_customer(self._write_customer(store, customer_id, body))

    def customer(self, store_id: str, customer_id: str) -> dict[str, Any]:
        store = self.store(store_id)
        c = store.customers.get(customer_id)
        if c is None:
            raise not_found()
        return c

    def delete_customer(self, store_id: str, customer_id: str) -> None:
        self.customer(store_id, customer_id)
        del self.stores[store_id].customers[customer_id]

    # --- e-commerce: products --------------------------------------------------------

    @staticmethod
    def _new_variant(body: dict[str, Any], ts: str) -> dict[str, Any]:
        v = {
            "id": body["id"],
            "title": body.get("title", ""),
            "url": "",
            "sku": "",
            "price": 0,
            "inventory_quantity": 0,
            "image_url": "",
            "backorders": "",
            "visibility": "",
            "created_at": ts,
            "updated_at": ts,
        }
        v.update(copy.deepcopy(body))
        return v

    @staticmethod
    def _check_variants(variants: list[dict[str, Any]]) -> None:
        if not variants:
            raise validation_error(
                [
                    {
                        "field": "variants",
                        "message": "At least one variant is required for each product.",
                    }
                ]
            )
        ids = [v["id"] for v in variants]
        if len(set(ids)) != len(ids):
            raise validation_error(
                [{"field": "variants", "message": "Variant ids must be unique within a product."}]
            )

    def _build_product(self, store: Store, body: dict[str, Any]) -> dict[str, Any]:
        self._check_variants(body["variants"])
        ts = now_iso()
        product = {
            "id": body["id"],
            "currency_code": store.data["currency_code"],
            "title": body["title"],
            "handle": "",
            "url": "",
            "description": "",
            "type": "",
            "vendor": "",
            "image_url": "",
            "images": [],
            "published_at_foreign": "",
            "created_at": ts,
            "updated_at": ts,
        }
        product.update({k: copy.deepcopy(v) for k, v in body.items() if k != "variants"})
        product["variants"] = [self._new_variant(v, ts) for v in body["variants"]]
        return product

    @staticmethod
    def render_product(p: dict[str, Any]) -> dict[str, Any]:
        return {**copy.deepcopy(p), "_links": []}

    def product(self, store_id: str, product_id: str) -> dict[str, Any]:
        store = self.store(store_id)
        p = store.products.get(product_id)
        if p is None:
            raise not_found()
        return p

    def post_product(self, store_id: str, body: dict[str, Any]) -> dict[str, Any]:
        store = self.store(store_id)
        if body["id"] in store.products:
            raise bad_request(
                "We were unable to process the request. "
                "A product with the provided ID already exists in the account."
            )
        product = self._build_product(store, body)
        store.products[body["id"]] = product
        return self.render_product(product)

    def put_product(self, store_id: str, product_id: str, body: dict[str, Any]) -> dict:
        store = self.store(store_id)
        self._same_id(body, product_id)
        product = self._build_product(store, body)
        old = store.products.get(product_id)
        if old is not None:
            product["created_at"] = old["created_at"]
        store.products[product_id] = product
        return self.render_product(product)

    def patch_product(self, store_id: str, product_id: str, body: dict[str, Any]) -> dict:
        p = self.product(store_id, product_id)
        self._same_id(body, product_id)
        ts = now_iso()
        if "variants" in body:
            merged = {v["id"]: v for v in p["variants"]}
            for v in body["variants"]:
                if "id" not in v:
                    raise _required("id", prefix="variants")
                if v["id"] in merged:
                    merged[v["id"]].update(copy.deepcopy(v))
                    merged[v["id"]]["updated_at"] = ts
                else:
                    merged[v["id"]] = self._new_variant(v, ts)
            self._check_variants(list(merged.values()))
            p["variants"] = list(merged.values())
        p.update({k: copy.deepcopy(v) for k, v in body.items() if k != "variants"})
        p["updated_at"] = ts
        return self.render_product(p)

    def delete_product(self, store_id: str, product_id: str) -> None:
        self.product(store_id, product_id)
        del self.stores[store_id].products[product_id]

    def variant(self, store_id: str, product_id: str, variant_id: str) -> dict[str, Any]:
        for v in self.product(store_id, product_id)["variants"]:
            if v["id"] == variant_id:
                return v
        raise not_found()

    def post_variant(self, store_id: str, product_id: str, body: dict[str, Any]) -> dict:
        p = self.product(store_id, product_id)
        if any(v["id"] == body["id"] for v in p["variants"]):
            raise bad_request(
                "We were unable to process the request. "
                "A variant with the provided ID already exists for this product."
            )
        v = self._new_variant(body, now_iso())
        p["variants"].append(v)
        return {**copy.deepcopy(v), "_links": []}

    def put_variant(
        self, store_id: str, product_id: str, variant_id: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        p = self.product(store_id, product_id)
        self._same_id(body, variant_id)
        v = self._new_variant({**body, "id": variant_id}, now_iso())
        p["variants"] = [x for x in p["variants"] if x["id"] != variant_id] + [v]
        return {**copy.deepcopy(v), "_links": []}

    def patch_variant(
        self, store_id: str, product_id: str, variant_id: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        v = self.variant(store_id, product_id, variant_id)
        self._same_id(body, variant_id)
        v.update(copy.deepcopy(body))
        v["updated_at"] = now_iso()
        return {**copy.deepcopy(v), "_links": []}

    def delete_variant(self, store_id: str, product_id: str, variant_id: str) -> None:
        p = self.product(store_id, product_id)
        self.variant(store_id, product_id, variant_id)
        p["variants"] = [v for v in p["variants"] if v["id"] != variant_id]

    # --- e-commerce: orders ----------------------------------------------------------

    def order(self, store_id: str, order_id: str) -> dict[str, Any]:
        store = self.store(store_id)
        o = store.orders.get(order_id)
        if o is None:
            raise not_found()
        return o

    def render_order(self, store: Store, o: dict[str, Any]) -> dict[str, Any]:
        out = copy.deepcopy(o)
        c = store.customers.get(o["customer_id"])
        out.pop("customer_id")
        out["customer"] = self.render_customer(c) if c else {"id": o["customer_id"]}
        out["_links"] = []
        return out

    def _build_line(self, store: Store, line: dict[str, Any]) -> dict[str, Any]:
        product = store.products.get(line["product_id"])
        if product is None:
            raise bad_request(
                "A product with the provided ID does not exist in the account for this list."
            )
        variant = next(
            (v for v in product["variants"] if v["id"] == line["product_variant_id"]), None
        )
        if variant is None:
            raise bad_request(
                "A product with the provided variant ID does not exist in the account for "
                "this list."
            )
        return {
            "id": line["id"],
            "product_id": line["product_id"],
            "product_title": product["title"],
            "product_variant_id": line["product_variant_id"],
            "product_variant_title": variant["title"],
            "image_url": variant.get("image_url") or product.get("image_url", ""),
            "quantity": line["quantity"],
            "price": line["price"],
            "discount": line.get("discount", 0),
        }

    def _order_customer(self, store: Store, customer: dict[str, Any]) -> None:
        """Check (without writing) that the order's customer exists or can be created."""
        cid = customer["id"]
        if cid in store.customers:
            return
        if not customer.get("email_address"):
            raise validation_error(
                [
                    {
                        "field": "customer.email_address",
                        "message": "An email address is required to create a customer.",
                    }
                ]
            )
        self._check_customer_email(str(customer["email_address"]), "customer.")

    def _adjust_customer_totals(self, store: Store, cid: str, count: int, amount: float) -> None:
        c = store.customers.get(cid)
        if c is not None:
            c["orders_count"] = max(0, c["orders_count"] + count)
            c["total_spent"] = c["total_spent"] + amount

    def post_order(self, store_id: str, body: dict[str, Any]) -> dict[str, Any]:
        store = self.store(store_id)
        if body["id"] == "":
            raise validation_error([{"field": "id", "message": "The order id cannot be empty."}])
        if body["id"] in store.orders:
            raise bad_request(
                "We were unable to process the request. "
                "An order with the provided ID already exists in the account."
            )
        if not body["lines"]:
            raise not_found()
        _ensure_currency(body)
        lines = [self._build_line(store, line) for line in body["lines"]]
        line_ids = [line["id"] for line in lines]
        if len(set(line_ids)) != len(line_ids):
            raise validation_error(
                [{"field": "lines", "message": "Line ids must be unique within an order."}]
            )
        self._order_customer(store, body["customer"])
        cid = body["customer"]["id"]
        if cid not in store.customers:
            self._write_customer(store, cid, body["customer"], prefix="customer.")
        ts = now_iso()
        order = {
            "id": body["id"],
            "customer_id": cid,
            "store_id": store_id,
            "campaign_id": "",
            "landing_site": "",
            "financial_status": "",
            "fulfillment_status": "",
            "currency_code": str(body["currency_code"]).upper(),
            "order_total": body["order_total"],
            "order_url": "",
            "discount_total": 0,
            "tax_total": 0,
            "shipping_total": 0,
            "tracking_code": "",
            "processed_at_foreign": "",
            "cancelled_at_foreign": "",
            "updated_at_foreign": "",
            "shipping_address": {},
            "billing_address": {},
            "promos": [],
            "tracking_number": "",
            "tracking_carrier": "",
            "tracking_url": "",
            "outreach": {},
            "created_at": ts,
            "updated_at": ts,
        }
        order.update(
            {k: copy.deepcopy(v) for k, v in body.items() if k not in ("customer", "lines")}
        )
        order["currency_code"] = str(body["currency_code"]).upper()
        order["lines"] = lines
        store.orders[body["id"]] = order
        self._adjust_customer_totals(store, cid, 1, float(body["order_total"]))
        return self.render_order(store, order)

    def patch_order(self, store_id: str, order_id: str, body: dict[str, Any]) -> dict:
        store = self.store(store_id)
        o = store.orders.get(order_id)
        if o is None:
            raise not_found()
        self._same_id(body, order_id)
        _ensure_currency(body)
        new_lines = [self._build_line(store, line) for line in body.get("lines") or []]
        customer = body.get("customer")
        if customer is not None and "id" in customer:
            self._order_customer(store, customer)
        # all checks passed: write
        old_cid, old_total = o["customer_id"], float(o["order_total"])
        if customer is not None and "id" in customer:
            if customer["id"] not in store.customers:
                self._write_customer(store, customer["id"], customer, prefix="customer.")
            o["customer_id"] = customer["id"]
        if new_lines:
            merged = {line["id"]: line for line in o["lines"]}
            for line in new_lines:
                merged[line["id"]] = line
            o["lines"] = list(merged.values())
        o.update(
            {k: copy.deepcopy(v) for k, v in body.items() if k not in ("customer", "lines", "id")}
        )
        if "currency_code" in body:
            o["currency_code"] = str(body["currency_code"]).upper()
        o["updated_at"] = now_iso()
        self._adjust_customer_totals(store, old_cid, -1, -old_total)
        self._adjust_customer_totals(store, o["customer_id"], 1, float(o["order_total"]))
        return self.render_order(store, o)

    def delete_order(self, store_id: str, order_id: str) -> None:
        store = self.store(store_id)
        o = self.order(store_id, order_id)
        self._adjust_customer_totals(store, o["customer_id"], -1, -float(o["order_total"]))
        del store.orders[order_id]

    def order_line(self, store_id: str, order_id: str, line_id: str) -> dict[str, Any]:
        for line in self.order(store_id, order_id)["lines"]:
            if line["id"] == line_id:
                return line
        raise not_found()

    def post_order_line(self, store_id: str, order_id: str, body: dict[str, Any]) -> dict:
        store = self.store(store_id)
        o = self.order(store_id, order_id)
        if any(line["id"] == body["id"] for line in o["lines"]):
            raise bad_request(
                "We were unable to process the request. "
                "A line with the provided ID already exists for this order."
            )
        line = self._build_line(store, body)
        o["lines"].append(line)
        return {**copy.deepcopy(line), "_links": []}

    def patch_order_line(
        self, store_id: str, order_id: str, line_id: str, body: dict[str, Any]
    ) -> dict[str, Any]:
        store = self.store(store_id)
        old = self.order_line(store_id, order_id, line_id)
        line = self._build_line(store, {**old, **body, "id": line_id})
        old.clear()
        old.update(line)
        return {**copy.deepcopy(line), "_links": []}

    def delete_order_line(self, store_id: str, order_id: str, line_id: str) -> None:
        o = self.order(store_id, order_id)
        self.order_line(store_id, order_id, line_id)
        o["lines"] = [line for line in o["lines"] if line["id"] != line_id]

    # --- snapshot --------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        """A deep, JSON-able copy of everything, rendered as the API shows it."""
        lists = {}
        for audience in self.lists.values():
            lists[audience.id] = {
                **self.render_list(audience),
                "merge_fields": [
                    self.render_merge_field(mf) for mf in audience.merge_fields.values()
                ],
                "members": {
                    m["email_address"].lower(): {
                        **self.render_member(audience, m),
                        "tags": copy.deepcopy(m["tags"]),
                    }
                    for m in audience.members.values()
                },
                "forgotten": sorted(audience.forgotten),
            }
        stores = {}
        for sid, store in self.stores.items():
            stores[sid] = {
                **self.render_store(store),
                "customers": {k: self.render_customer(c) for k, c in store.customers.items()},
                "products": {k: self.render_product(p) for k, p in store.products.items()},
                "orders": {k: self.render_order(store, o) for k, o in store.orders.items()},
            }
        return {"lists": lists, "stores": stores, "batches": copy.deepcopy(self.batches)}
