"""A local Mailchimp Marketing API v3 sandbox: a real threaded HTTP server on 127.0.0.1.

It behaves like Mailchimp as described in ``tests/sandbox/reference/mailchimp-marketing-api.md``:
official request schemas judge every body, and the semantic rules (compliance states,
forgotten and fake addresses, 500-member cap, e-commerce relations, async batches, the
10-connection limit, problem+json errors) are coded in. Tests read results back through the
same GET endpoints a user would, or through :meth:`MailchimpSandbox.snapshot`.

Quick start::

    from tests.sandbox.mailchimp import MailchimpSandbox

    with MailchimpSandbox() as mc:                 # port 0: a free port
        mc.base_url                                # "http://127.0.0.1:PORT/3.0"
        mc.api_key                                 # "<32 hex>-us6"
        mc.list_id                                 # pre-made audience "a1b2c3d4e5"
        config = mc.target_config(max_retries=2)   # {"api_key", "api_url", "list_id", ...}
        requests.get(mc.base_url + "/ping", auth=("any", mc.api_key))

Constructor (all keyword-only)::

    MailchimpSandbox(host="127.0.0.1", port=0, api_key=None, dc="us6", list_id="a1b2c3d4e5",
                     list_name="Sandbox Audience", latency=0.0, latency_jitter=0.0,
                     latency_distribution="uniform", latency_includes_work=False,
                     max_connections=10,
                     max_batch_members=500, batch_order="shuffled", batch_start_delay=0.05,
                     batch_op_delay=0.0, batch_result_chunk=100, seed=0, fake_patterns=None,
                     schema_dir=None)

* ``latency``: seconds slept before handling each API request (inside the connection count;
  settable later: ``mc.latency = 0.05``). ``latency_jitter``: plus a random part, uniform in
  ``[0, latency_jitter]`` or exponential with that mean (``latency_distribution``), seeded by
  ``seed`` (see ``tests/sandbox/latency.py``). ``latency_includes_work``: the latency is the
  whole answer time (the sandbox's own work on the call is taken out of the wait), as a real
  API's latency includes its work; default False (the wait comes before the work).
* ``max_connections``: requests in flight at once per account; the next one gets 429
  "Too Many Requests". Batch operations never count.
* ``batch_order``: ``"shuffled"`` (seeded by ``seed``; Mailchimp does not run a batch in
  order) or ``"fifo"``. ``batch_start_delay``: seconds a batch stays ``pending``.
  ``batch_op_delay``: seconds per operation. ``batch_result_chunk``: results per JSON file.
* ``fake_patterns``: regexes (case-insensitive, ``re.search`` on the address) that "look fake
  or invalid"; default ``@example\\.invalid$``, ``^fake[^@]*@``, ``^test@test\\.``. Addresses
  without exactly one ``@``, with a domain without a dot, or with spaces/commas always do.
* ``schema_dir``: default ``tests/sandbox/reference/mailchimp-schemas`` (vendored, see
  PROVENANCE.md there).

Lifecycle: ``with MailchimpSandbox(...) as mc`` or ``mc.start()`` / ``mc.stop()``.
Properties: ``url`` (no /3.0), ``base_url``, ``port``, ``host``, ``dc``, ``api_key``,
``extra_api_keys`` (a set; add more accepted keys), ``list_id``.

Counters (benchmarks and tests)::

    mc.requests          # list[RequestRecord(method, path, query, status, started, ended,
                         #                    request_id, fault)]; .api_path, .duration, .is_write
    mc.count(method=None, path_prefix=None, *, writes_only=False, status=None) -> int
                         # path_prefix is matched after /3.0, e.g. "/lists", "/ecommerce"
    mc.stats             # Stats(in_flight, max_in_flight, rejected_concurrency, batch_operations)
    mc.reset_counters()  # clears requests, stats (max_in_flight), fault history
    mc.batch_timings     # {batch id: {"submitted", "started", "finished": time.monotonic()}}
    mc.batch_op_delay    # seconds per batch operation (settable)

HTTP calls that were refused with 429 by the connection gate and fault answers are recorded
too (their ``status`` says so; a dropped connection has status 0); batch operations are not
HTTP calls and only count in ``stats.batch_operations``. Batch-result downloads are recorded
with path ``/batch-results/<id>.tar.gz`` and do not pass the connection gate.
``stats.max_in_flight`` counts refused requests too: a client that kept within the limit
shows ``max_in_flight <= max_connections`` and ``rejected_concurrency == 0``.

Faults (see :mod:`tests.sandbox.mailchimp.faults` for the kinds)::

    mc.faults.add("429", times=3)
    mc.faults.add("503", times=1, path_prefix="/ecommerce", method="POST")
    mc.faults.add("403_no_body") ; mc.faults.add("502_html") ; mc.faults.add("504")
    mc.faults.add("slow", seconds=2)            # wait, then answer normally
    hold = mc.faults.add("slow", times=10, seconds=30); ...; hold.release()  # hold N in flight
    mc.faults.add("timeout", seconds=1.5)       # run it, hold the answer, then send it
    mc.faults.add("disconnect")                 # drop the connection, no answer
    mc.faults.add("500", execute=True)          # the write happens, the client sees 500
    mc.faults.add("500", times=2, batch_ops=True)  # hits operations inside batches
    mc.faults.storm(rate_5xx=0.1, rate_429=0.05, seed=1, rate_403=0.0, rate_timeout=0.0,
                    rate_disconnect=0.0, timeout_seconds=1.0, executed_share=0.0,
                    path_prefix=None, include_batch_ops=False)
    mc.faults.calm() ; mc.faults.clear()
    mc.faults.fired / mc.faults.count("429") / mc.faults.armed

Request headers honoured: ``Authorization`` (Basic with any user and the key as password, or
Bearer); ``X-Trigger-Error: <Name>`` (errors.TRIGGER_ERRORS: BadRequest, InvalidAction,
InvalidResource, JSONParseError, APIKeyMissing, APIKeyInvalid, Forbidden, UserDisabled,
WrongDatacenter, ResourceNotFound, MethodNotAllowed, ResourceNestingTooDeep,
InvalidMethodOverride, RequestedFieldsInvalid, TooManyRequests, InternalServerError,
ComplianceRelated); ``X-HTTP-Method-Override`` (POST only, else 422). Query ``fields`` /
``exclude_fields`` trim 200 answers. Every answer carries ``X-Request-Id``; errors are
``application/problem+json`` with type, title, status, detail, instance (+ errors[]).

State and seeding::

    mc.state / mc.snapshot()   # {"lists": {id: {..., "merge_fields": [...],
                               #   "members": {lower-cased email: member}, "forgotten": [...]}},
                               #  "stores": {id: {..., "customers", "products", "orders"}},
                               #  "batches": {id: batch}}
    mc.member(email, list_id=None) -> dict | None
    mc.seed_member(email, status="unsubscribed", *, list_id=None, merge_fields=None, tags=None)
    mc.forget(email, list_id=None)     # permanently deleted -> "Forgotten Email Not Subscribed"
    mc.mark_fake(pattern)              # regex of addresses that "look fake or invalid"
    mc.add_list(list_id=None, name="Another Audience") -> list_id
    mc.call(method, path, body=None, query=None) -> Response   # in-process, no HTTP/auth/counts
    mc.wait_for_batches(timeout=10.0) -> bool ; mc.pause_batches() ; mc.resume_batches()
    mc.batch_result(batch_id) -> bytes | None

Endpoints (paths after /3.0): ``GET /``, ``GET /ping``; ``GET /lists``, ``GET|POST
/lists/{id}`` (batch subscribe); ``GET|POST /lists/{id}/members``; ``GET|PUT|PATCH|DELETE
/lists/{id}/members/{hash}``; ``POST .../members/{hash}/actions/delete-permanent``; ``GET|POST
.../members/{hash}/tags``; ``GET|POST /lists/{id}/merge-fields``, ``GET|PATCH|DELETE
.../merge-fields/{merge_id}``; ``GET|POST /ecommerce/stores``, ``GET|PATCH|DELETE
/ecommerce/stores/{id}``; customers ``GET|POST`` and ``GET|PUT|PATCH|DELETE /{id}``; products
``GET|POST`` and ``GET|PUT|PATCH|DELETE /{id}``, variants ``GET|POST`` and
``GET|PUT|PATCH|DELETE /{vid}``; orders ``GET|POST`` and ``GET|PATCH|DELETE /{id}`` (PUT: 405
with ``Allow``), order lines ``GET|POST`` and ``GET|PATCH|DELETE``; ``GET|POST /batches``,
``GET|DELETE /batches/{id}``. Outside /3.0: ``GET /batch-results/<id>.tar.gz`` (no auth).
Collections take ``count`` (default 10, above 1000 -> 400) and ``offset``.

Not emulated: carts, segments (bulk tagging), batch webhooks, interests/groups management,
campaigns, OAuth metadata, result-URL expiry. Their paths answer 404 like unknown resources.

Decisions where the reference is silent or unsure (each can be revisited):

* Member PUT: a new address needs ``email_address`` and ``status_if_new`` (or ``status``);
  an existing member may be updated with only ``merge_fields``. A body address whose MD5
  differs from the path hash is a 400 ("Member Exists" if that address is another member,
  else "Invalid Resource"). ``status`` on an unsubscribed/cleaned member (or an archived one
  that was) turning it ``subscribed`` -> "Member In Compliance State"; ``pending`` is allowed.
* Archived members (``DELETE``) are existing members, not new ones: a PUT or batch-subscribe
  item with only ``status_if_new`` updates their merge fields and tags and leaves them
  ``archived`` (batch subscribe lists them in ``updated_members``, and without
  ``update_existing`` refuses them as ``ERROR_CONTACT_EXISTS``); ``status`` (PUT, PATCH,
  batch item or POST /members) brings them back, under the compliance rule above with the
  status they had before. GET shows only ``archived``, never the status before. Sources:
  tbar0970/jethro-pmm#708 (2021: members re-added with ``status_if_new`` "are still
  archived"; sending ``status`` fixed it, commit a01edde1, and then met "Member In Compliance
  State" for some), mailchimp/mc-woocommerce#951 (2022: Mailchimp's own plugin logs "Updated
  Member ... [status] => archived" for an archived contact it synced), and
  brandonseydel/MailChimp.Net#529 (the status before archiving cannot be read). UNSURE:
  Mailchimp documents none of this; its help says a contact can unarchive itself by
  interacting with a connected store, but e-commerce writes here never unarchive anyone.
* Merge fields: unknown tags are refused; ADDRESS must be an object with non-empty addr1,
  city, state, zip (``""`` clears it); text/phone at most 255 UTF-8 bytes; required fields
  are checked for new members unless ``skip_merge_validation=true``. Tags are matched
  case-insensitively; a created tag is at most 10 of ``A-Z0-9_``; without a tag the sandbox
  generates ``MMERGE<n>``.
* Batch subscribe: at most 500 members (else 400 "Invalid Resource"); a repeated address in
  one request is an ``ERROR_GENERIC`` entry unless ``skip_duplicate_check=true`` (then the
  first wins silently); ``sync_tags`` replaces the tags of items that carry ``tags``.
* E-commerce customers: a new customer needs an email (400 Invalid Resource, errors[] message
  "An email address is required to create a customer."); a new address joins the audience
  as ``subscribed`` (opt_in_status true) or ``transactional``; an existing contact keeps its
  status, except transactional -> subscribed when opt_in_status becomes true. Forgotten
  addresses create the customer but no contact; fake ones are refused.
* Orders: relations checked before writing; an unknown customer id with an email creates the
  customer. PATCH merges ``lines`` by line id (updates and adds, never removes: removing a
  line takes ``DELETE .../orders/{id}/lines/{line_id}``; the reference marks the merge rule
  UNSURE, mailchimp-marketing-api.md "Orders", and lists the line endpoints [S3b]) and
  replaces ``promos``. Deleting a line leaves ``order_total`` as it was. Body ``id`` must
  match the path id on PUT/PATCH. Money stays numeric (3.0.41 schema).
* Batch results: one worker runs batches one at a time; ``errored_operations`` counts status
  >= 400; a 204 operation's ``response`` is ``""``; result URLs do not expire. Operation paths
  are relative to /3.0 (a path starting with ``/3.0`` is a 404); ``DELETE`` is accepted.
* Unknown audiences/stores in a path are 404 before the body is checked.
"""

from __future__ import annotations

from .api import Request, Response
from .errors import TRIGGER_ERRORS, ApiError
from .faults import FAULT_KINDS, Fault, Faults, FiredFault
from .model import subscriber_hash
from .server import DEFAULT_DC, DEFAULT_LIST_ID, MailchimpSandbox, RequestRecord, Stats

__all__ = [
    "DEFAULT_DC",
    "DEFAULT_LIST_ID",
    "FAULT_KINDS",
    "TRIGGER_ERRORS",
    "ApiError",
    "Fault",
    "Faults",
    "FiredFault",
    "MailchimpSandbox",
    "Request",
    "RequestRecord",
    "Response",
    "Stats",
    "subscriber_hash",
]
