"""The Mailchimp Marketing API client used by the target's sinks.

One :class:`MailchimpClient` per run is enough and is safe to share between
threads: it holds one pooled ``requests.Session`` and shares the account's
concurrency gate with every other client made with the same key.

    with MailchimpClient(api_key, max_concurrency=10) as mc:
        mc.ping()
        result = mc.batch_subscribe(list_id, members)
        order = mc.create_or_update_order(store_id, order_body)
"""

from __future__ import annotations

import logging
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

import backoff

from target_mailchimp.api.batches import BatchArchiveError as _ArchiveError
from target_mailchimp.api.batches import (
    BatchOperation,
    BatchOperationResult,
    BatchRun,
    BatchStatus,
    operations_to_wire,
    parse_batch_archive,
)
from target_mailchimp.api.credentials import ApiKey, origin_of
from target_mailchimp.api.errors import (
    BadRequest,
    BatchResultsError,
    BatchTimeout,
    Forbidden,
    MailchimpConfigError,
    MailchimpError,
    NotFound,
)
from target_mailchimp.api.gate import SharedSlots
from target_mailchimp.api.hashing import normalize_email, subscriber_hash
from target_mailchimp.api.results import (
    BatchSubscribeResult,
    MemberError,
    WriteResult,
    error_call_info,
    write_result,
)
from target_mailchimp.api.retry import RetryPolicy
from target_mailchimp.api.transport import (
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_REQUEST_TIMEOUT,
    ApiResponse,
    Transport,
    TransportStats,
    encode_path_segment,
)

logger = logging.getLogger("target_mailchimp.api")

#: Mailchimp's cap on members in one batch-subscribe call.
MAX_BATCH_SUBSCRIBE = 500
#: Largest page Mailchimp returns.
MAX_PAGE_SIZE = 1000

T = TypeVar("T")


def chunked(items: Iterable[T], size: int = MAX_BATCH_SUBSCRIBE) -> Iterator[list[T]]:
    """``items`` in lists of at most ``size`` (the last one may be shorter)."""
    if size < 1:
        raise ValueError("chunk size must be at least 1")
    chunk: list[T] = []
    for item in items:
        chunk.append(item)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


#: Seconds from submitting batches to their first poll (and the shortest wait between polls).
FIRST_POLL_WAIT = 0.25


def _batch_timeout(batch_id: str, status: BatchStatus, elapsed: float, polls: int) -> BatchTimeout:
    """The error of a batch still unfinished at the polling deadline."""
    return BatchTimeout(
        f"Batch {batch_id} is still {status.status!r} after {elapsed:.0f}s "
        f"({status.finished_operations}/{status.total_operations} operations done, "
        f"{polls} polls); poll it again later or raise the deadline.",
        batch_id=batch_id,
        method="GET",
        path=f"/batches/{batch_id}",
        request_id=status.response.request_id if status.response else None,
    )


def _log_next_poll(batch_id: str, status: BatchStatus, wait: float) -> None:
    logger.debug(
        "Batch %s is %s (%d/%d); polling again in %.1fs",
        batch_id,
        status.status,
        status.finished_operations,
        status.total_operations,
        wait,
    )


class _PollTrack:
    """What polling has seen of one batch (see ``MailchimpClient.wait_for_batches``)."""

    __slots__ = ("first_at", "first_done", "next_at", "polls", "seen_done", "wait")

    def __init__(self, *, next_at: float, wait: float) -> None:
        self.next_at = next_at
        self.wait = wait
        self.polls = 0
        self.first_at: float | None = None
        self.first_done = 0
        self.seen_done = 0

    def next_wait(
        self, status: BatchStatus, now: float, *, first_wait: float, max_interval: float
    ) -> float:
        done = status.finished_operations
        if self.first_at is None and (done > 0 or status.status == "started"):
            self.first_at, self.first_done = now, done  # running: the rate counts from here
        self.seen_done = max(self.seen_done, done)
        if self.first_at is not None and done > self.first_done and now > self.first_at:
            rate = (done - self.first_done) / (now - self.first_at)
            left = max(0, status.total_operations - done) / rate
            return min(max(left, first_wait), max_interval)
        self.wait = min(max(self.wait * 2, first_wait), max_interval)
        return self.wait


def _seg(value: str) -> str:
    return encode_path_segment(str(value))


def _without(body: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k not in keys}


def _differs(wanted: Any, existing: Any) -> bool:
    """True if ``wanted`` is not already in ``existing`` (nested objects compared by the
    keys we send, so fields Mailchimp adds on its side do not count as a change)."""
    if isinstance(wanted, Mapping) and isinstance(existing, Mapping):
        return any(_differs(v, existing.get(k)) for k, v in wanted.items())
    return bool(wanted != existing)


def _require_id(body: Mapping[str, Any], what: str) -> str:
    value = body.get("id")
    if value is None or str(value) == "":
        raise ValueError(f"the {what} body needs a non-empty 'id'")
    return str(value)


class MailchimpClient:
    """Typed calls to the Mailchimp Marketing API v3 for one account.

    ``api_url`` overrides the base URL taken from the key's data center (it
    must include ``/3.0``). ``max_concurrency`` (1-10, default 10; above 10 is
    clamped with a warning) caps requests in flight for the whole account in
    this process. ``retry`` sets backoff and makes waits injectable.
    """

    def __init__(
        self,
        api_key: str | ApiKey,
        *,
        api_url: str | None = None,
        max_concurrency: int = DEFAULT_MAX_CONCURRENCY,
        request_timeout: float = DEFAULT_REQUEST_TIMEOUT,
        max_retries: int | None = None,
        retry: RetryPolicy | None = None,
        connect_timeout: float | None = None,
        shared_slots: SharedSlots | None = None,
    ) -> None:
        self.transport = Transport(
            api_key,
            shared_slots=shared_slots,
            api_url=api_url,
            max_concurrency=max_concurrency,
            request_timeout=request_timeout,
            connect_timeout=connect_timeout,
            retry=retry,
            max_retries=max_retries,
        )

    @classmethod
    def from_config(cls, config: Mapping[str, Any], **overrides: Any) -> MailchimpClient:
        """Build from the target's settings (api_key, api_url, max_concurrency, ...)."""
        kwargs: dict[str, Any] = {
            "api_url": config.get("api_url") or None,
            "max_concurrency": int(config.get("max_concurrency") or DEFAULT_MAX_CONCURRENCY),
            "request_timeout": float(config.get("request_timeout") or DEFAULT_REQUEST_TIMEOUT),
        }
        if config.get("max_retries") is not None:
            kwargs["max_retries"] = int(config["max_retries"])
        kwargs.update(overrides)
        api_key = config.get("api_key")
        if not api_key:
            raise MailchimpConfigError("`api_key` is required.")
        return cls(api_key, **kwargs)

    # -- plumbing ---------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return self.transport.base_url

    @property
    def account(self) -> str:
        """A fingerprint of the key (safe to log), shared by clients of one account."""
        return self.transport.account

    @property
    def max_concurrency(self) -> int:
        return self.transport.max_concurrency

    @property
    def stats(self) -> TransportStats:
        """Calls, HTTP requests, retries and failures so far (for the run report)."""
        return self.transport.stats

    def close(self) -> None:
        self.transport.close()

    def __enter__(self) -> MailchimpClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"MailchimpClient(base_url={self.base_url!r}, account={self.account!r}, "
            f"max_concurrency={self.max_concurrency})"
        )

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        retry: bool = True,
    ) -> ApiResponse:
        """Low-level call: ``path`` is relative to ``/3.0``; raises MailchimpError subclasses."""
        return self.transport.request(method, path, params=params, json_body=json, retry=retry)

    def _get_or_none(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        try:
            return self.request("GET", path, params=params).json
        except NotFound:
            return None

    # -- account and audience ---------------------------------------------------------------

    def ping(self) -> str:
        """``GET /ping``; returns the health status text. Checks key and base URL."""
        return str(self.request("GET", "/ping").json.get("health_status", ""))

    def get_account(self) -> dict[str, Any]:
        """``GET /``: account id, name, role..."""
        return self.request("GET", "/").json

    def get_list(self, list_id: str) -> dict[str, Any]:
        """``GET /lists/{list_id}``; raises NotFound for an unknown audience."""
        return self.request("GET", f"/lists/{_seg(list_id)}").json

    def get_merge_fields(self, list_id: str) -> list[dict[str, Any]]:
        """Every merge field of the audience (pages of 1000)."""
        return self._fetch_merge_fields(list_id)[0]

    def _fetch_merge_fields(
        self, list_id: str
    ) -> tuple[list[dict[str, Any]], tuple[ApiResponse, ...]]:
        fields: list[dict[str, Any]] = []
        responses: list[ApiResponse] = []
        offset = 0
        while True:
            resp = self.request(
                "GET",
                f"/lists/{_seg(list_id)}/merge-fields",
                params={"count": MAX_PAGE_SIZE, "offset": offset},
            )
            responses.append(resp)
            batch = resp.json.get("merge_fields") or []
            fields.extend(batch)
            total = int(resp.json.get("total_items") or 0)
            offset += len(batch)
            if not batch or offset >= total:
                return fields, tuple(responses)

    def create_merge_field(
        self,
        list_id: str,
        *,
        tag: str | None,
        name: str,
        type: str,
        required: bool = False,
        options: Mapping[str, Any] | None = None,
        **extra: Any,
    ) -> WriteResult:
        """Create a merge field; if the tag already exists, return the existing one.

        ``action`` is ``created`` or ``unchanged`` (existing field, refetched).
        """
        body: dict[str, Any] = {"name": name, "type": type, "required": required, **extra}
        if tag:
            body["tag"] = tag
        if options:
            body["options"] = dict(options)
        path = f"/lists/{_seg(list_id)}/merge-fields"
        try:
            resp = self.request("POST", path, json=body)
        except BadRequest as err:
            if not (tag and err.is_already_exists):
                raise
            wanted = tag.upper()
            fields, pages = self._fetch_merge_fields(list_id)
            for field in fields:
                if str(field.get("tag", "")).upper() == wanted:
                    return write_result(
                        "unchanged",
                        wanted,
                        None,
                        before=(error_call_info(err), *(p.call_info() for p in pages)),
                        recovered=err.attempts > 1,
                        data=field,
                    )
            raise
        return write_result("created", str(resp.json.get("tag") or tag or ""), resp)

    # -- members ----------------------------------------------------------------------------

    def batch_subscribe(
        self,
        list_id: str,
        members: Sequence[Mapping[str, Any]],
        *,
        update_existing: bool = True,
        sync_tags: bool = False,
        skip_merge_validation: bool = False,
        skip_duplicate_check: bool = False,
    ) -> BatchSubscribeResult:
        """``POST /lists/{list_id}`` with at most 500 members.

        HTTP 200 comes back even when members fail; their failures are in
        ``result.errors``. Use :func:`chunked` (or :meth:`batch_subscribe_all`)
        for longer lists.
        """
        if len(members) > MAX_BATCH_SUBSCRIBE:
            raise ValueError(
                f"batch_subscribe takes at most {MAX_BATCH_SUBSCRIBE} members per call "
                f"(got {len(members)}); split them with chunked()"
            )
        if not members:
            raise ValueError("batch_subscribe needs at least one member")
        params: dict[str, str] = {}
        if skip_merge_validation:
            params["skip_merge_validation"] = "true"
        if skip_duplicate_check:
            params["skip_duplicate_check"] = "true"
        body = {
            "members": [dict(m) for m in members],
            "update_existing": update_existing,
            "sync_tags": sync_tags,
        }
        resp = self.request("POST", f"/lists/{_seg(list_id)}", params=params or None, json=body)
        data = resp.json
        errors = [MemberError.from_api(e) for e in data.get("errors") or [] if isinstance(e, dict)]

        def count(key: str, default: int) -> int:
            value = data.get(key)
            try:
                return default if value is None else int(value)
            except (TypeError, ValueError):
                return default

        new = list(data.get("new_members") or [])
        updated = list(data.get("updated_members") or [])
        return BatchSubscribeResult(
            list_id=list_id,
            new_members=new,
            updated_members=updated,
            errors=errors,
            total_created=count("total_created", len(new)),
            total_updated=count("total_updated", len(updated)),
            error_count=count("error_count", len(errors)),
            response=resp,
        )

    def batch_subscribe_all(
        self, list_id: str, members: Iterable[Mapping[str, Any]], **kwargs: Any
    ) -> list[BatchSubscribeResult]:
        """:meth:`batch_subscribe` over chunks of 500, one call after the other."""
        return [self.batch_subscribe(list_id, chunk, **kwargs) for chunk in chunked(members)]

    def _member_path(self, list_id: str, email: str) -> str:
        return f"/lists/{_seg(list_id)}/members/{subscriber_hash(email)}"

    def get_member(self, list_id: str, email: str) -> dict[str, Any] | None:
        """The member object, or None when the address is not on the list."""
        result: dict[str, Any] | None = self._get_or_none(self._member_path(list_id, email))
        return result

    def upsert_member(
        self,
        list_id: str,
        email: str,
        body: Mapping[str, Any],
        *,
        skip_merge_validation: bool = False,
    ) -> WriteResult:
        """``PUT /lists/{list_id}/members/{hash}`` (add or update; send ``status_if_new``).

        ``email_address`` is filled in from ``email`` when the body lacks it.
        """
        payload = dict(body)
        payload.setdefault("email_address", email.strip())
        if normalize_email(str(payload["email_address"])) != normalize_email(email):
            raise ValueError("upsert_member: body email_address differs from the email argument")
        params = {"skip_merge_validation": "true"} if skip_merge_validation else None
        resp = self.request("PUT", self._member_path(list_id, email), params=params, json=payload)
        return write_result("updated", subscriber_hash(email), resp)

    def update_member(self, list_id: str, email: str, body: Mapping[str, Any]) -> WriteResult:
        """``PATCH /lists/{list_id}/members/{hash}``: change an existing member (404 when the
        address is not on the list). ``status`` here overrides the member's status: Mailchimp
        refuses ``subscribed`` for an address that unsubscribed ("Member In Compliance
        State"); it is also the only way to bring an archived member back."""
        resp = self.request("PATCH", self._member_path(list_id, email), json=dict(body))
        return write_result("updated", subscriber_hash(email), resp)

    def archive_member(self, list_id: str, email: str) -> WriteResult:
        """``DELETE`` the member (Mailchimp archives it). ``action`` is
        ``archived``, or ``absent`` when the address is not on the list (404)."""
        path = self._member_path(list_id, email)
        try:
            resp = self.request("DELETE", path)
        except NotFound as err:
            return write_result(
                "absent", subscriber_hash(email), None, before=(error_call_info(err),)
            )
        return write_result("archived", subscriber_hash(email), resp)

    def update_member_tags(
        self,
        list_id: str,
        email: str,
        tags: Iterable[tuple[str, bool]] | Mapping[str, bool],
        *,
        is_syncing: bool = False,
    ) -> WriteResult:
        """Add (``True``) or remove (``False``) tags; tags not named are left alone."""
        pairs = tags.items() if isinstance(tags, Mapping) else tags
        wire = [
            {"name": str(name), "status": "active" if active else "inactive"}
            for name, active in pairs
        ]
        if not wire:
            raise ValueError("update_member_tags needs at least one tag")
        resp = self.request(
            "POST",
            self._member_path(list_id, email) + "/tags",
            json={"tags": wire, "is_syncing": is_syncing},
        )
        return write_result("updated", subscriber_hash(email), resp, data={"tags": wire})

    def get_member_tags(self, list_id: str, email: str) -> list[str]:
        """Names of the member's tags."""
        data = self.request(
            "GET", self._member_path(list_id, email) + "/tags", params={"count": MAX_PAGE_SIZE}
        ).json
        return [str(t.get("name")) for t in data.get("tags") or [] if isinstance(t, dict)]

    # -- e-commerce: stores -----------------------------------------------------------------

    def get_store(self, store_id: str) -> dict[str, Any] | None:
        result: dict[str, Any] | None = self._get_or_none(f"/ecommerce/stores/{_seg(store_id)}")
        return result

    def create_store(self, store: Mapping[str, Any]) -> WriteResult:
        """``POST /ecommerce/stores``. If a retried POST meets "already exists",
        the store is fetched and returned (``recovered``)."""
        store_id = _require_id(store, "store")
        try:
            resp = self.request("POST", "/ecommerce/stores", json=dict(store))
        except BadRequest as err:
            if not (err.is_already_exists and err.attempts > 1):
                raise
            existing = self.request("GET", f"/ecommerce/stores/{_seg(store_id)}")
            return write_result(
                "created", store_id, existing, before=(error_call_info(err),), recovered=True
            )
        return write_result("created", store_id, resp)

    def update_store(self, store_id: str, patch: Mapping[str, Any]) -> WriteResult:
        """``PATCH /ecommerce/stores/{store_id}``; NotFound for an unknown store."""
        resp = self.request(
            "PATCH", f"/ecommerce/stores/{_seg(store_id)}", json=_without(patch, "id")
        )
        return write_result("updated", store_id, resp)

    def set_store_syncing(self, store_id: str, is_syncing: bool) -> WriteResult:
        """Pause (True) or resume (False) the store's automations during a backfill."""
        return self.update_store(store_id, {"is_syncing": is_syncing})

    def ensure_store(self, store: Mapping[str, Any]) -> WriteResult:
        """Make the store exist with these settings: create it, or PATCH what differs.

        A store belongs to one audience forever; an existing store on another
        list raises :class:`MailchimpConfigError`. ``action`` is ``created``,
        ``updated`` or ``unchanged``.
        """
        store_id = _require_id(store, "store")
        path = f"/ecommerce/stores/{_seg(store_id)}"
        try:
            current = self.request("GET", path)
        except NotFound as err:
            try:
                result = self.create_store(store)
            except BadRequest as create_err:
                if not create_err.is_already_exists:
                    raise
                # Created by someone else between our GET and POST.
                current = self.request("GET", path)
            else:
                return WriteResult(
                    action=result.action,
                    resource_id=store_id,
                    data=result.data,
                    calls=(error_call_info(err), *result.calls),
                    recovered=result.recovered,
                )
        existing = current.json
        wanted_list = store.get("list_id")
        if wanted_list and existing.get("list_id") and existing["list_id"] != wanted_list:
            raise MailchimpConfigError(
                f"Store {store_id!r} already exists on audience {existing['list_id']!r}, not "
                f"{wanted_list!r}; a Mailchimp store is tied to one audience for good. Use "
                "another store id or point the target at that audience."
            )
        diff = {
            k: v
            for k, v in store.items()
            if k not in ("id", "list_id") and _differs(v, existing.get(k))
        }
        if not diff:
            return write_result("unchanged", store_id, current)
        updated = self.update_store(store_id, diff)
        return WriteResult(
            action="updated",
            resource_id=store_id,
            data=updated.data,
            calls=(current.call_info(), *updated.calls),
        )

    # -- e-commerce: customers --------------------------------------------------------------

    def upsert_customer(self, store_id: str, customer: Mapping[str, Any]) -> WriteResult:
        """``PUT /ecommerce/stores/{store_id}/customers/{id}`` (add or update)."""
        customer_id = _require_id(customer, "customer")
        resp = self.request(
            "PUT",
            f"/ecommerce/stores/{_seg(store_id)}/customers/{_seg(customer_id)}",
            json=dict(customer),
        )
        return write_result("updated", customer_id, resp)

    def get_customer(self, store_id: str, customer_id: str) -> dict[str, Any] | None:
        result: dict[str, Any] | None = self._get_or_none(
            f"/ecommerce/stores/{_seg(store_id)}/customers/{_seg(customer_id)}"
        )
        return result

    # -- e-commerce: products and orders (POST to create, PATCH to update) ------------------

    def _create(
        self,
        kind: str,
        store_id: str,
        body: Mapping[str, Any],
        patch_body: Callable[[Mapping[str, Any]], dict[str, Any]],
        *,
        update_if_exists: bool,
    ) -> WriteResult:
        res_id = _require_id(body, kind[:-1])
        base = f"/ecommerce/stores/{_seg(store_id)}/{kind}"
        try:
            resp = self.request("POST", base, json=dict(body))
        except BadRequest as err:
            if not err.is_already_exists:
                raise
            recovered = err.attempts > 1
            if not (update_if_exists or recovered):
                raise
            if recovered:
                logger.info(
                    "POST %s was retried (%s) and met 'already exists'; the earlier attempt was "
                    "applied or the %s existed. Updating it with PATCH.",
                    base,
                    ", ".join(err.retry_reasons) or "transient failure",
                    kind[:-1],
                )
            patched = self.request("PATCH", f"{base}/{_seg(res_id)}", json=patch_body(body))
            return write_result(
                "updated", res_id, patched, before=(error_call_info(err),), recovered=recovered
            )
        return write_result("created", res_id, resp)

    @staticmethod
    def _product_patch(body: Mapping[str, Any]) -> dict[str, Any]:
        return _without(body, "id")

    @staticmethod
    def _order_patch(body: Mapping[str, Any]) -> dict[str, Any]:
        patch = _without(body, "id")
        customer = patch.get("customer")
        if isinstance(customer, Mapping) and customer.get("id") is not None:
            # The customer is kept current by upsert_customer; an order update only links it.
            patch["customer"] = {"id": customer["id"]}
        return patch

    def create_product(self, store_id: str, product: Mapping[str, Any]) -> WriteResult:
        """``POST .../products``; a duplicate id raises BadRequest unless the POST was
        retried (then it is PATCHed and ``recovered``)."""
        return self._create(
            "products", store_id, product, self._product_patch, update_if_exists=False
        )

    def update_product(
        self, store_id: str, product_id: str, patch: Mapping[str, Any]
    ) -> WriteResult:
        """``PATCH .../products/{product_id}``; NotFound for an unknown product."""
        resp = self.request(
            "PATCH",
            f"/ecommerce/stores/{_seg(store_id)}/products/{_seg(product_id)}",
            json=_without(patch, "id"),
        )
        return write_result("updated", product_id, resp)

    def create_or_update_product(self, store_id: str, product: Mapping[str, Any]) -> WriteResult:
        """POST the product; if it already exists, PATCH it (``action`` says which)."""
        return self._create(
            "products", store_id, product, self._product_patch, update_if_exists=True
        )

    def get_product(self, store_id: str, product_id: str) -> dict[str, Any] | None:
        result: dict[str, Any] | None = self._get_or_none(
            f"/ecommerce/stores/{_seg(store_id)}/products/{_seg(product_id)}"
        )
        return result

    def create_order(self, store_id: str, order: Mapping[str, Any]) -> WriteResult:
        """``POST .../orders``; a duplicate id raises BadRequest unless the POST was
        retried (then it is PATCHed and ``recovered``)."""
        return self._create("orders", store_id, order, self._order_patch, update_if_exists=False)

    def update_order(self, store_id: str, order_id: str, patch: Mapping[str, Any]) -> WriteResult:
        """``PATCH .../orders/{order_id}``; NotFound for an unknown order."""
        resp = self.request(
            "PATCH",
            f"/ecommerce/stores/{_seg(store_id)}/orders/{_seg(order_id)}",
            json=self._order_patch(patch),
        )
        return write_result("updated", order_id, resp)

    def delete_order(self, store_id: str, order_id: str) -> WriteResult:
        """``DELETE .../orders/{order_id}``. ``action`` is ``deleted``, or ``absent`` when
        the store has no such order (404)."""
        path = f"/ecommerce/stores/{_seg(store_id)}/orders/{_seg(order_id)}"
        try:
            resp = self.request("DELETE", path)
        except NotFound as err:
            return write_result("absent", order_id, None, before=(error_call_info(err),))
        return write_result("deleted", order_id, resp)

    def create_or_update_order(
        self, store_id: str, order: Mapping[str, Any], *, prefer_update: bool = False
    ) -> WriteResult:
        """Mailchimp has no order upsert. By default POST, then PATCH on "already exists".

        With ``prefer_update`` (for orders that most likely exist, e.g. a
        payment on a known bill) PATCH first and POST on 404.
        """
        order_id = _require_id(order, "order")
        if prefer_update:
            try:
                return self.update_order(store_id, order_id, order)
            except NotFound as err:
                result = self._create(
                    "orders", store_id, order, self._order_patch, update_if_exists=True
                )
                return WriteResult(
                    action=result.action,
                    resource_id=order_id,
                    data=result.data,
                    calls=(error_call_info(err), *result.calls),
                    recovered=result.recovered,
                )
        return self._create("orders", store_id, order, self._order_patch, update_if_exists=True)

    def order_line_ids(self, store_id: str, order_id: str) -> list[str] | None:
        """``GET .../orders/{order_id}/lines``: the ids of the order's lines (None: no order)."""
        data = self._get_or_none(
            f"/ecommerce/stores/{_seg(store_id)}/orders/{_seg(order_id)}/lines",
            params={"count": 1000},
        )
        if data is None:
            return None
        return [str(line["id"]) for line in data.get("lines") or [] if "id" in line]

    def delete_order_line(self, store_id: str, order_id: str, line_id: str) -> bool:
        """``DELETE .../orders/{order_id}/lines/{line_id}``; False when it was already gone.

        A PATCH of the order with ``lines`` updates and adds lines by id but never removes
        one, so a line that left the source document is deleted here.
        """
        try:
            self.request(
                "DELETE",
                f"/ecommerce/stores/{_seg(store_id)}/orders/{_seg(order_id)}/lines/{_seg(line_id)}",
            )
        except NotFound:
            return False
        return True

    def get_order(self, store_id: str, order_id: str) -> dict[str, Any] | None:
        result: dict[str, Any] | None = self._get_or_none(
            f"/ecommerce/stores/{_seg(store_id)}/orders/{_seg(order_id)}"
        )
        return result

    # -- batch operations -------------------------------------------------------------------

    def submit_batch(self, operations: Iterable[BatchOperation | Mapping[str, Any]]) -> BatchStatus:
        """``POST /batches``; returns the pending batch. Each operation's body is
        sent as a JSON string."""
        wire = operations_to_wire(operations)
        if not wire:
            raise ValueError("submit_batch needs at least one operation")
        resp = self.request("POST", "/batches", json={"operations": wire})
        return BatchStatus.from_api(resp.json, resp)

    def get_batch(self, batch_id: str) -> BatchStatus:
        resp = self.request("GET", f"/batches/{_seg(batch_id)}")
        return BatchStatus.from_api(resp.json, resp)

    def cancel_batch(self, batch_id: str) -> None:
        """``DELETE /batches/{id}``: stop a batch from running (its results are dropped)."""
        self.request("DELETE", f"/batches/{_seg(batch_id)}")

    def poll_batch(
        self,
        batch_id: str,
        *,
        timeout: float = 1800.0,
        initial_interval: float = 5.0,
        max_interval: float = 60.0,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] | None = None,
    ) -> BatchStatus:
        """Poll until the batch is ``finished`` (waits 5 s doubling to 60 s).

        Raises :class:`BatchTimeout` once ``timeout`` seconds have passed.
        ``sleep``/``clock`` default to the client's retry policy's (injectable).
        """
        sleep = sleep or self.transport.retry.sleep
        clock = clock or self.transport.retry.clock
        started = clock()
        waits = backoff.expo(base=2, factor=initial_interval, max_value=max_interval)
        next(waits)
        polls = 0
        while True:
            status = self.get_batch(batch_id)
            polls += 1
            if status.finished:
                return status
            elapsed = clock() - started
            if elapsed >= timeout:
                raise _batch_timeout(batch_id, status, elapsed, polls)
            wait = min(float(next(waits)), max(0.0, timeout - elapsed))
            _log_next_poll(batch_id, status, wait)
            sleep(wait)

    def wait_for_batches(
        self,
        batch_ids: Iterable[str],
        *,
        timeout: float = 1800.0,
        max_interval: float = 5.0,
        first_wait: float = FIRST_POLL_WAIT,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] | None = None,
    ) -> Iterator[BatchStatus]:
        """Poll several batches; yield each as soon as it is ``finished`` (in finishing order).

        Polling adapts to what Mailchimp reports, so a finished batch is read about a second
        after it finished, without polling a long batch every second:

        - the first poll of a batch comes ``first_wait`` seconds after the call;
        - while a batch shows no progress (pending, or no operation finished since the first
          poll), the wait doubles, up to ``max_interval`` (the ``batch_poll_interval`` setting);
        - once its ``finished_operations`` move, the next poll is when the rate seen so far says
          it will be done (at least ``first_wait``, at most ``max_interval``);
        - when a batch finishes, batches waiting behind it are polled again soon (Mailchimp
          often starts the next one then).

        Raises :class:`BatchTimeout` once a batch is still unfinished ``timeout`` seconds after
        the call. ``sleep``/``clock`` default to the client's retry policy's (injectable).
        """
        sleep = sleep or self.transport.retry.sleep
        clock = clock or self.transport.retry.clock
        started = clock()
        first_wait = max(0.0, min(first_wait, max_interval))
        tracks = {
            bid: _PollTrack(next_at=started + first_wait, wait=first_wait) for bid in batch_ids
        }
        while tracks:
            batch_id, track = min(tracks.items(), key=lambda item: item[1].next_at)
            now = clock()
            if track.next_at > now:
                sleep(track.next_at - now)
            status = self.get_batch(batch_id)
            track.polls += 1
            now = clock()
            if status.finished:
                del tracks[batch_id]
                for other in tracks.values():
                    if other.seen_done == 0:  # not started yet: it may start now
                        other.wait = first_wait
                        other.next_at = min(other.next_at, now + first_wait)
                yield status
                continue
            elapsed = now - started
            if elapsed >= timeout:
                raise _batch_timeout(batch_id, status, elapsed, track.polls)
            wait = track.next_wait(status, now, first_wait=first_wait, max_interval=max_interval)
            wait = min(wait, max(0.0, timeout - elapsed))
            _log_next_poll(batch_id, status, wait)
            track.next_at = now + wait

    def fetch_batch_results(self, batch: BatchStatus | str) -> list[BatchOperationResult]:
        """Download and read a finished batch's results archive.

        The archive URL is short-lived; on 403/404 the batch is fetched again
        for a fresh URL once. The key is only sent if the URL is on the API's
        own host.
        """
        status = batch if isinstance(batch, BatchStatus) else self.get_batch(batch)
        if not status.finished:
            raise ValueError(f"batch {status.id} is {status.status!r}, not finished")
        for refreshed in (False, True):
            if not status.response_body_url:
                if refreshed:
                    break
                status = self.get_batch(status.id)
                continue
            try:
                return self._download_results(status.response_body_url)
            except (Forbidden, NotFound) as err:
                if refreshed:
                    raise BatchResultsError(
                        f"The results of batch {status.id} could not be downloaded: {err}",
                        method="GET",
                        path=err.path,
                        status=err.status,
                        attempts=err.attempts,
                    ) from None
                status = self.get_batch(status.id)
            except MailchimpError as err:
                if err.status == 403 and not refreshed:  # an expired link, not throttling
                    status = self.get_batch(status.id)
                    continue
                raise
        raise BatchResultsError(
            f"Batch {status.id} is finished but has no response_body_url.", method="GET"
        )

    def _download_results(self, url: str) -> list[BatchOperationResult]:
        if origin_of(url)[0] not in ("http", "https"):
            raise BatchResultsError("the batch results URL is not http(s)")
        with tempfile.SpooledTemporaryFile(max_size=16 << 20) as buf:
            self.transport.download(url, buf)
            try:
                return parse_batch_archive(buf)
            except _ArchiveError as exc:
                raise BatchResultsError(str(exc), method="GET") from None

    def run_batch(
        self,
        operations: Iterable[BatchOperation | Mapping[str, Any]],
        *,
        timeout: float = 1800.0,
        initial_interval: float = 5.0,
        max_interval: float = 60.0,
    ) -> BatchRun:
        """Submit, wait for and read a batch; returns status and per-operation results."""
        t0 = time.monotonic()
        submitted = self.submit_batch(operations)
        logger.info(
            "Submitted batch %s with %d operations", submitted.id, submitted.total_operations
        )
        finished = self.poll_batch(
            submitted.id,
            timeout=timeout,
            initial_interval=initial_interval,
            max_interval=max_interval,
        )
        results = self.fetch_batch_results(finished)
        logger.info(
            "Batch %s finished in %.1fs: %d operations, %d errored",
            finished.id,
            time.monotonic() - t0,
            finished.total_operations,
            finished.errored_operations,
        )
        return BatchRun(status=finished, results=results)
