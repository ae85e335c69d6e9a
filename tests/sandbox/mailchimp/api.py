"""The internal dispatcher: routes ``/3.0``-relative requests to the model.

HTTP requests and batch operations both go through :meth:`Api.dispatch`, so every rule holds
the same way for both. Transport concerns (auth, connection limit, faults, latency,
X-Trigger-Error) live in :mod:`tests.sandbox.mailchimp.server`, not here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from .errors import ApiError, bad_request, json_parse_error, method_not_allowed, not_found
from .model import State
from .validation import BodyValidator, apply_fields

MAX_COUNT = 1000
DEFAULT_COUNT = 10


@dataclass
class Request:
    """One API call: method, path relative to /3.0, query parameters, raw body."""

    method: str
    path: str
    query: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    in_batch: bool = False


@dataclass
class Response:
    """A dispatcher answer; ``body`` None means no body (204)."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    problem: bool = False

    @classmethod
    def from_error(cls, err: ApiError) -> Response:
        return cls(err.status, err.document(), dict(err.headers), problem=True)


@dataclass
class Call:
    """What a handler receives: path parameters, query, parsed body."""

    params: dict[str, str]
    query: dict[str, str]
    body: Any
    in_batch: bool

    def flag(self, name: str) -> bool:
        return self.query.get(name, "").lower() in ("true", "1")


Handler = Callable[[Call], Any]


@dataclass
class Route:
    pattern: re.Pattern[str]
    methods: dict[str, tuple[Handler, str | None, int]]


class Api:
    """Routes requests to :class:`State` under its lock and renders errors."""

    def __init__(
        self,
        state: State,
        validator: BodyValidator,
        submit_batch: Callable[[list[dict[str, Any]]], dict[str, Any]] | None = None,
        account: dict[str, Any] | None = None,
        max_batch_members: int = 500,
    ) -> None:
        self.state = state
        self.validator = validator
        self.submit_batch = submit_batch
        self.account = account or {}
        self.max_batch_members = max_batch_members
        self.routes: list[Route] = []
        self._build_routes()

    # --- routing ---------------------------------------------------------------------

    def _add(self, template: str, **methods: tuple[Handler, str | None] | Handler) -> None:
        regex = re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", template)
        table: dict[str, tuple[Handler, str | None, int]] = {}
        for method, spec in methods.items():
            if isinstance(spec, tuple):
                handler, schema = spec
            else:
                handler, schema = spec, None
            status = 204 if method == "DELETE" else 200
            table[method] = (handler, schema, status)
        self.routes.append(Route(re.compile(f"^{regex}$"), table))

    def dispatch(self, req: Request) -> Response:
        try:
            return self._dispatch(req)
        except ApiError as err:
            return Response.from_error(err)

    def _dispatch(self, req: Request) -> Response:
        path = req.path.rstrip("/") or "/"
        method = req.method.upper()
        for route in self.routes:
            match = route.pattern.match(path)
            if match is None:
                continue
            if method not in route.methods:
                raise method_not_allowed(sorted(route.methods))
            handler, schema, status = route.methods[method]
            params = {k: unquote(v) for k, v in match.groupdict().items()}
            with self.state.lock:  # unknown audiences and stores are 404 before any body check
                if "list_id" in params and params["list_id"] not in self.state.lists:
                    raise not_found()
                if "store_id" in params and params["store_id"] not in self.state.stores:
                    raise not_found()
            body: Any = None
            if method in ("POST", "PUT", "PATCH") and schema is not None:
                body = self._parse(req.body)
                errors = self.validator.errors(schema, body)
                if errors:
                    raise ApiError(
                        400,
                        "Invalid Resource",
                        "The resource submitted could not be validated. "
                        "For field-specific details, see the 'errors' array.",
                        errors,
                    )
            call = Call(params, req.query, body, req.in_batch)
            with self.state.lock:
                result = handler(call)
            if status == 204 or result is None:
                return Response(204)
            if isinstance(result, dict) and (
                req.query.get("fields") or req.query.get("exclude_fields")
            ):
                if req.query.get("fields") and req.query.get("exclude_fields"):
                    raise bad_request("fields and exclude_fields are mutually exclusive.")
                result = apply_fields(
                    result, req.query.get("fields"), req.query.get("exclude_fields")
                )
            return Response(status, result)
        raise not_found()

    @staticmethod
    def _parse(raw: bytes | None) -> Any:
        if raw is None or not raw.strip():
            return {}
        try:
            return json.loads(raw)
        except (ValueError, UnicodeDecodeError):
            raise json_parse_error() from None

    @staticmethod
    def page(call: Call, items: list[Any]) -> list[Any]:
        """Apply count/offset (default 10, at most 1000; a batch GET without count gets all)."""
        try:
            offset = int(call.query.get("offset", 0))
            raw_count = call.query.get("count")
            if raw_count is None and call.in_batch:
                count = len(items)
            else:
                count = int(raw_count if raw_count is not None else DEFAULT_COUNT)
        except ValueError:
            raise bad_request("count and offset must be integers.") from None
        if count < 0 or offset < 0:
            raise bad_request("count and offset must not be negative.")
        if count > MAX_COUNT and not (call.in_batch and "count" not in call.query):
            raise bad_request(f"count must be at most {MAX_COUNT}; {count} was requested.")
        return items[offset : offset + count]

    # --- handlers --------------------------------------------------------------------

    def _build_routes(self) -> None:
        st = self.state

        def collection(key: str, items: list[Any], call: Call, **extra: Any) -> dict[str, Any]:
            return {key: self.page(call, items), **extra, "total_items": len(items), "_links": []}

        # account
        self._add("/", GET=lambda c: {**self.account, "_links": []})
        self._add("/ping", GET=lambda c: {"health_status": "Everything's Chimpy!"})

        # audiences
        self._add(
            "/lists",
            GET=lambda c: collection("lists", [st.render_list(a) for a in st.lists.values()], c),
        )
        self._add(
            "/lists/{list_id}",
            GET=lambda c: st.render_list(st.audience(c.params["list_id"])),
            POST=(
                lambda c: st.batch_subscribe(
                    c.params["list_id"],
                    c.body,
                    skip_merge_validation=c.flag("skip_merge_validation"),
                    skip_duplicate_check=c.flag("skip_duplicate_check"),
                    max_members=self.max_batch_members,
                ),
                "batch_subscribe",
            ),
        )

        def list_members(c: Call) -> dict[str, Any]:
            audience = st.audience(c.params["list_id"])
            members = [st.render_member(audience, m) for m in audience.members.values()]
            if c.query.get("status"):
                members = [m for m in members if m["status"] == c.query["status"]]
            return collection("members", members, c, list_id=audience.id)

        self._add(
            "/lists/{list_id}/members",
            GET=list_members,
            POST=(
                lambda c: st.post_member(
                    c.params["list_id"],
                    c.body,
                    skip_merge_validation=c.flag("skip_merge_validation"),
                ),
                "member_post",
            ),
        )
        self._add(
            "/lists/{list_id}/members/{member}",
            GET=lambda c: st.get_member(c.params["list_id"], c.params["member"]),
            PUT=(
                lambda c: st.put_member(
                    c.params["list_id"],
                    c.params["member"],
                    c.body,
                    skip_merge_validation=c.flag("skip_merge_validation"),
                ),
                "member_put",
            ),
            PATCH=(
                lambda c: st.patch_member(
                    c.params["list_id"],
                    c.params["member"],
                    c.body,
                    skip_merge_validation=c.flag("skip_merge_validation"),
                ),
                "member_patch",
            ),
            DELETE=lambda c: st.archive_member(c.params["list_id"], c.params["member"]),
        )

        def delete_permanent(c: Call) -> None:
            st.delete_member_permanent(c.params["list_id"], c.params["member"])

        self._add(
            "/lists/{list_id}/members/{member}/actions/delete-permanent",
            POST=delete_permanent,
        )

        def get_tags(c: Call) -> dict[str, Any]:
            tags = st.member_tags(c.params["list_id"], c.params["member"])
            return collection("tags", tags, c)

        def post_tags(c: Call) -> None:
            st.post_member_tags(c.params["list_id"], c.params["member"], c.body)

        self._add(
            "/lists/{list_id}/members/{member}/tags",
            GET=get_tags,
            POST=(post_tags, "member_tags"),
        )

        def list_merge_fields(c: Call) -> dict[str, Any]:
            audience = st.audience(c.params["list_id"])
            fields = [st.render_merge_field(mf) for mf in audience.merge_fields.values()]
            return collection("merge_fields", fields, c, list_id=audience.id)

        self._add(
            "/lists/{list_id}/merge-fields",
            GET=list_merge_fields,
            POST=(
                lambda c: st.create_merge_field(c.params["list_id"], c.body),
                "merge_field_post",
            ),
        )
        self._add(
            "/lists/{list_id}/merge-fields/{merge_id}",
            GET=lambda c: st.render_merge_field(
                st.merge_field_by_id(c.params["list_id"], c.params["merge_id"])
            ),
            PATCH=(
                lambda c: st.update_merge_field(c.params["list_id"], c.params["merge_id"], c.body),
                "merge_field_patch",
            ),
            DELETE=lambda c: st.delete_merge_field(c.params["list_id"], c.params["merge_id"]),
        )

        # e-commerce
        stores = "/ecommerce/stores"
        self._add(
            stores,
            GET=lambda c: collection("stores", [st.render_store(s) for s in st.stores.values()], c),
            POST=(lambda c: st.create_store(c.body), "store_post"),
        )
        one_store = stores + "/{store_id}"
        self._add(
            one_store,
            GET=lambda c: st.render_store(st.store(c.params["store_id"])),
            PATCH=(lambda c: st.patch_store(c.params["store_id"], c.body), "store_patch"),
            DELETE=lambda c: st.delete_store(c.params["store_id"]),
        )

        def sid(c: Call) -> str:
            return c.params["store_id"]

        def store_records(kind: str, plural: str) -> None:
            """A store's customers or products: the list (GET, POST) and one record (GET, PUT,
            PATCH, DELETE), served by the state's render_<kind>, <kind> and <verb>_<kind>."""
            key = f"{kind}_id"
            render, one = getattr(st, f"render_{kind}"), getattr(st, kind)
            post, put, patch, delete = (
                getattr(st, f"{verb}_{kind}") for verb in ("post", "put", "patch", "delete")
            )
            self._add(
                f"{one_store}/{plural}",
                GET=lambda c: collection(
                    plural,
                    [render(x) for x in getattr(st.store(sid(c)), plural).values()],
                    c,
                    store_id=sid(c),
                ),
                POST=(lambda c: post(sid(c), c.body), f"{kind}_post"),
            )
            self._add(
                f"{one_store}/{plural}/{{{key}}}",
                GET=lambda c: render(one(sid(c), c.params[key])),
                PUT=(lambda c: put(sid(c), c.params[key], c.body), f"{kind}_put"),
                PATCH=(lambda c: patch(sid(c), c.params[key], c.body), f"{kind}_patch"),
                DELETE=lambda c: delete(sid(c), c.params[key]),
            )

        store_records("customer", "customers")
        store_records("product", "products")
        self._add(
            one_store + "/products/{product_id}/variants",
            GET=lambda c: collection(
                "variants",
                [
                    {**v, "_links": []}
                    for v in st.product(sid(c), c.params["product_id"])["variants"]
                ],
                c,
                store_id=sid(c),
                product_id=c.params["product_id"],
            ),
            POST=(
                lambda c: st.post_variant(sid(c), c.params["product_id"], c.body),
                "variant_put",
            ),
        )
        self._add(
            one_store + "/products/{product_id}/variants/{variant_id}",
            GET=lambda c: {
                **st.variant(sid(c), c.params["product_id"], c.params["variant_id"]),
                "_links": [],
            },
            PUT=(
                lambda c: st.put_variant(
                    sid(c), c.params["product_id"], c.params["variant_id"], c.body
                ),
                "variant_put",
            ),
            PATCH=(
                lambda c: st.patch_variant(
                    sid(c), c.params["product_id"], c.params["variant_id"], c.body
                ),
                "variant_patch",
            ),
            DELETE=lambda c: st.delete_variant(
                sid(c), c.params["product_id"], c.params["variant_id"]
            ),
        )

        def list_orders(c: Call) -> dict[str, Any]:
            store = st.store(sid(c))
            orders = [st.render_order(store, o) for o in store.orders.values()]
            if c.query.get("customer_id"):
                orders = [o for o in orders if o["customer"]["id"] == c.query["customer_id"]]
            return collection("orders", orders, c, store_id=sid(c))

        self._add(
            one_store + "/orders",
            GET=list_orders,
            POST=(lambda c: st.post_order(sid(c), c.body), "order_post"),
        )
        self._add(
            one_store + "/orders/{order_id}",
            GET=lambda c: st.render_order(st.store(sid(c)), st.order(sid(c), c.params["order_id"])),
            PATCH=(
                lambda c: st.patch_order(sid(c), c.params["order_id"], c.body),
                "order_patch",
            ),
            DELETE=lambda c: st.delete_order(sid(c), c.params["order_id"]),
        )
        self._add(
            one_store + "/orders/{order_id}/lines",
            GET=lambda c: collection(
                "lines",
                [{**x, "_links": []} for x in st.order(sid(c), c.params["order_id"])["lines"]],
                c,
                store_id=sid(c),
                order_id=c.params["order_id"],
            ),
            POST=(
                lambda c: st.post_order_line(sid(c), c.params["order_id"], c.body),
                "order_line_post",
            ),
        )
        self._add(
            one_store + "/orders/{order_id}/lines/{line_id}",
            GET=lambda c: {
                **st.order_line(sid(c), c.params["order_id"], c.params["line_id"]),
                "_links": [],
            },
            PATCH=(
                lambda c: st.patch_order_line(
                    sid(c), c.params["order_id"], c.params["line_id"], c.body
                ),
                "order_line_patch",
            ),
            DELETE=lambda c: st.delete_order_line(
                sid(c), c.params["order_id"], c.params["line_id"]
            ),
        )

        # batch operations
        def post_batch(c: Call) -> dict[str, Any]:
            if self.submit_batch is None or c.in_batch:
                raise bad_request("Batch operations cannot be nested.")
            return self.submit_batch(c.body["operations"])

        def get_batch(c: Call) -> dict[str, Any]:
            batch = st.batches.get(c.params["batch_id"])
            if batch is None:
                raise not_found()
            return {**batch, "_links": []}

        def delete_batch(c: Call) -> None:
            if st.batches.pop(c.params["batch_id"], None) is None:
                raise not_found()

        self._add(
            "/batches",
            GET=lambda c: collection(
                "batches", [{**b, "_links": []} for b in st.batches.values()], c
            ),
            POST=(post_batch, "batches_post"),
        )
        self._add("/batches/{batch_id}", GET=get_batch, DELETE=delete_batch)
