"""The gateway functions the sandbox runs: getAPISession, query, readByQuery, readMore, read,
lookup and create (CUSTOMER, VENDOR).

Each handler takes the sandbox, the authenticated context and the function's child element,
and returns an Outcome (status, `<data>` text, errors, and an undo for transactions).
"""

from __future__ import annotations

import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lxml import etree

from tests.sandbox.intacct import protocol as proto
from tests.sandbox.intacct.data import Record
from tests.sandbox.intacct.objects import (
    OBJECTS,
    RELATIONSHIPS,
    ObjectDef,
    ValueFormatError,
    coerce_value,
)
from tests.sandbox.intacct.query import (
    QueryError,
    compile_filter,
    compile_orderby,
    parse_query_string,
    resolve_field_list,
    sort_records,
    visible,
)
from tests.sandbox.intacct.xmltext import element, escape

if TYPE_CHECKING:
    from tests.sandbox.intacct.server import IntacctSandbox, Session

QUERY_MAX_PAGESIZE = 2000
RBQ_MAX_PAGESIZE = 1000
DEFAULT_PAGESIZE = 100


@dataclass
class AuthContext:
    """Who is calling: the authenticated user, company and entity ('' = top level)."""

    sender_id: str
    user_id: str
    company_id: str
    location_id: str
    session: Session | None
    url: str

    @property
    def owner(self) -> str:
        """Key for readByQuery result sets (per session, or per login identity)."""
        if self.session is not None:
            return self.session.id
        return f"login:{self.user_id}:{self.company_id}:{self.location_id}"


@dataclass
class Outcome:
    status: str  # "success" or "failure"
    data: str | None = None
    errors: list[proto.ErrorInfo] = field(default_factory=list)
    undo: Callable[[], None] | None = None


@dataclass
class ResultSet:
    id: str
    owner: str
    obj: str
    records: list[Record]
    fields: tuple[str, ...]
    pagesize: int
    position: int = 0


class ResultSets:
    """readByQuery snapshots kept for readMore (bounded, oldest dropped first)."""

    def __init__(self, limit: int = 64) -> None:
        self._lock = threading.Lock()
        self._sets: OrderedDict[str, ResultSet] = OrderedDict()
        self._latest: dict[tuple[str, str], str] = {}
        self.limit = limit

    def add(self, rs: ResultSet) -> None:
        with self._lock:
            self._sets[rs.id] = rs
            self._latest[(rs.owner, rs.obj)] = rs.id
            while len(self._sets) > self.limit:
                self._sets.popitem(last=False)

    def get(self, rid: str) -> ResultSet | None:
        with self._lock:
            return self._sets.get(rid)

    def latest(self, owner: str, obj: str) -> ResultSet | None:
        with self._lock:
            rid = self._latest.get((owner, obj))
            return self._sets.get(rid) if rid else None

    def drop(self, rid: str) -> None:
        with self._lock:
            self._sets.pop(rid, None)


class QueryCache:
    """Matching, sorted records of a query, reused across pages while the data is unchanged."""

    def __init__(self, limit: int = 32) -> None:
        self._lock = threading.Lock()
        self._items: OrderedDict[tuple[Any, ...], list[Record]] = OrderedDict()
        self.limit = limit

    def get(self, key: tuple[Any, ...]) -> list[Record] | None:
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
            return hit

    def put(self, key: tuple[Any, ...], value: list[Record]) -> None:
        with self._lock:
            self._items[key] = value
            while len(self._items) > self.limit:
                self._items.popitem(last=False)


def _object(name: str | None) -> ObjectDef:
    obj = (name or "").strip().upper()
    odef = OBJECTS.get(obj)
    if odef is None:
        raise QueryError("Query Failed", f"Object definition {(name or '').strip()} not found")
    return odef


def _records_xml(
    sb: IntacctSandbox, obj: str, tag: str, records: list[Record], fields: tuple[str, ...]
) -> str:
    company = sb.company
    open_, close = f"<{tag}>", f"</{tag}>"
    return "".join(open_ + company.render(obj, r, fields) + close for r in records)


def _text(elem: etree._Element, path: str) -> str | None:
    found = elem.find(path)
    if found is None:
        return None
    return found.text or ""


def _bool(text: str | None) -> bool:
    return (text or "").strip().lower() in ("true", "1")


# -- getAPISession -------------------------------------------------------------------------


def get_api_session(sb: IntacctSandbox, ctx: AuthContext, elem: etree._Element) -> Outcome:
    loc_elem = elem.find("locationid")
    if ctx.session is not None and loc_elem is None:
        session = ctx.session
    else:
        location = (loc_elem.text or "").strip() if loc_elem is not None else ctx.location_id
        if location and location not in sb.company.entities:
            return Outcome(
                "failure",
                errors=[
                    proto.ErrorInfo(
                        proto.AUTH_ERROR,
                        description2=proto.INVALID_ENTITY_TEXT.format(
                            entity=location, company=ctx.company_id
                        ),
                    )
                ],
            )
        session = sb.sessions.create(ctx.sender_id, ctx.user_id, ctx.company_id, location)
    data = (
        "<data><api>"
        + element("sessionid", session.id)
        + element("endpoint", sb.session_endpoint_url)
        + element("locationid", session.location_id)
        + "</api></data>"
    )
    return Outcome("success", data)


# -- query ---------------------------------------------------------------------------------


# AUDITHISTORY's own failures. The reference (intacct-xml-gateway.md, "Deleted records") reports
# that AUDITHISTORY queries intermittently fail with "There was an error processing the request";
# the errorno and the rest of the answer are not documented, so the sandbox answers a plain
# function failure with that text. The answer to a user without permission to read the audit
# trail is not documented either: the sandbox assumes a function failure naming the permission.
AUDIT_ERROR_ERRORNO = "DL02000001"
AUDIT_ERROR_TEXT = "There was an error processing the request."
AUDIT_DENIED_ERRORNO = "BL34000110"
AUDIT_DENIED_TEXT = (
    "You do not have permission to view the audit trail (AUDITHISTORY). "
    "Ask your administrator for the Audit trail permission."
)


def _audit_fault(sb: IntacctSandbox) -> None:
    """Raise the failure an AUDITHISTORY query meets now, if any (see `IntacctSandbox`)."""
    if sb.audit_history_denied:
        raise QueryError(AUDIT_DENIED_ERRORNO, AUDIT_DENIED_TEXT, "Permission denied")
    with sb.audit_lock:
        sb.audit_history_queries += 1
        fail = sb.audit_history_errors > 0
        if fail:
            sb.audit_history_errors -= 1
        every = sb.audit_history_error_every
        if not fail and every and sb.audit_history_queries % every == 0:
            fail = True
    if fail:
        raise QueryError(AUDIT_ERROR_ERRORNO, AUDIT_ERROR_TEXT, "Query Failed")


def query(sb: IntacctSandbox, ctx: AuthContext, elem: etree._Element) -> Outcome:
    odef = _object(_text(elem, "object"))
    if odef.name == "AUDITHISTORY":
        _audit_fault(sb)
    select = elem.find("select")
    names: list[str] = []
    for child in select if select is not None else []:
        if child.tag != "field":
            raise QueryError(
                proto.UNSUPPORTED_ERRORNO,
                f"The sandbox does not implement <{child.tag}> in a query select.",
            )
        names.append(child.text or "")
    fields, bad = resolve_field_list(odef, names)
    if bad:
        raise QueryError(
            proto.AUTH_ERROR,
            proto.CANNOT_QUERY_TEXT.format(obj=odef.name.lower(), fields=", ".join(bad))
            + " "
            + proto.support_id(),
        )
    if not fields:
        raise QueryError("Query Failed", f"No fields selected for object {odef.name}")
    options = elem.find("options")
    ci = _bool(_text(options, "caseinsensitive")) if options is not None else False
    showprivate = _bool(_text(options, "showprivate")) if options is not None else False
    pagesize = int(_text(elem, "pagesize") or DEFAULT_PAGESIZE)
    offset = int(_text(elem, "offset") or 0)
    if not 1 <= pagesize <= QUERY_MAX_PAGESIZE:
        raise QueryError("Query Failed", f"pagesize must be between 1 and {QUERY_MAX_PAGESIZE}")
    filt = elem.find("filter")
    fnode = filt[0] if filt is not None and len(filt) else None
    predicate = compile_filter(odef, fnode, ci) if fnode is not None else None
    orders = compile_orderby(odef, elem.find("orderby"))
    key = (
        odef.name,
        etree.tostring(fnode) if fnode is not None else b"",
        tuple((f.id, d) for f, d in orders),
        ci,
        showprivate,
        ctx.location_id,
        sb.company.versions[odef.name],
    )
    matching = sb.query_cache.get(key)
    if matching is None:
        loc = ctx.location_id
        matching = [
            r
            for r in sb.company.snapshot(odef.name)
            if visible(r.values, loc, showprivate) and (predicate is None or predicate(r.values))
        ]
        if orders:
            matching = sort_records(matching, orders)
        sb.query_cache.put(key, matching)
    total = len(matching)
    page = matching[offset : offset + pagesize]
    remaining = max(0, total - offset - len(page))
    data = (
        proto.data_open(
            odef.name, totalcount=total, offset=offset, count=len(page), numremaining=remaining
        )
        + _records_xml(sb, odef.name, odef.name, page, tuple(fields))
        + "</data>"
    )
    return Outcome("success", data)


# -- readByQuery / readMore / read ---------------------------------------------------------


def _field_list(odef: ObjectDef, text: str | None) -> tuple[str, ...]:
    if text is None or text.strip() in ("", "*"):
        return odef.field_ids
    fields, bad = resolve_field_list(odef, text.split(","))
    if bad:
        raise QueryError(f"Invalid fields list {', '.join(bad)}")
    return tuple(fields)


def _rbq_page(sb: IntacctSandbox, rs: ResultSet) -> str:
    page = rs.records[rs.position : rs.position + rs.pagesize]
    rs.position += len(page)
    total = len(rs.records)
    remaining = total - rs.position
    tag = rs.obj.lower()
    rid = rs.id
    if remaining <= 0:
        sb.result_sets.drop(rs.id)
    return (
        proto.data_open(
            tag, count=len(page), totalcount=total, numremaining=remaining, resultId=rid
        )
        + _records_xml(sb, rs.obj, tag, page, rs.fields)
        + "</data>"
    )


def read_by_query(sb: IntacctSandbox, ctx: AuthContext, elem: etree._Element) -> Outcome:
    odef = _object(_text(elem, "object"))
    fields = _field_list(odef, _text(elem, "fields"))
    raw_size = (_text(elem, "pagesize") or "").strip()
    try:
        pagesize = int(raw_size) if raw_size else DEFAULT_PAGESIZE
    except ValueError:
        raise QueryError("Query Failed", f"pagesize '{raw_size}' is not a number") from None
    if not 1 <= pagesize <= RBQ_MAX_PAGESIZE:
        raise QueryError(
            "Query Failed", f"pagesize must be between 1 and {RBQ_MAX_PAGESIZE} (got {pagesize})"
        )
    predicate = parse_query_string(odef, _text(elem, "query"))
    loc = ctx.location_id
    records = [
        r
        for r in sb.company.snapshot(odef.name)
        if visible(r.values, loc, False) and (predicate is None or predicate(r.values))
    ]
    rs = ResultSet(
        id=secrets.token_urlsafe(18),
        owner=ctx.owner,
        obj=odef.name,
        records=records,
        fields=fields,
        pagesize=pagesize,
    )
    if len(records) > pagesize:
        sb.result_sets.add(rs)
        return Outcome("success", _rbq_page(sb, rs))
    rs.id = ""
    return Outcome("success", _rbq_page(sb, rs))


def read_more(sb: IntacctSandbox, ctx: AuthContext, elem: etree._Element) -> Outcome:
    rid = _text(elem, "resultId")
    obj = _text(elem, "object")
    rs: ResultSet | None
    if rid is not None:
        rs = sb.result_sets.get(rid.strip())
        if rs is None or rs.owner != ctx.owner:
            raise QueryError(
                "Query Failed", f"Unable to find a result set for resultId {rid.strip()}"
            )
    elif obj is not None:
        rs = sb.result_sets.latest(ctx.owner, obj.strip().upper())
        if rs is None:
            raise QueryError("Query Failed", f"There is no readByQuery to continue for {obj}")
    else:
        raise QueryError(
            proto.UNSUPPORTED_ERRORNO, "The sandbox supports readMore by resultId/object"
        )
    return Outcome("success", _rbq_page(sb, rs))


def read(sb: IntacctSandbox, ctx: AuthContext, elem: etree._Element) -> Outcome:
    odef = _object(_text(elem, "object"))
    fields = _field_list(odef, _text(elem, "fields"))
    keys = [k.strip() for k in (_text(elem, "keys") or "").split(",") if k.strip()]
    found: list[Record] = []
    for k in keys:
        try:
            rec = sb.company.record(odef.name, int(k))
        except (ValueError, KeyError):
            continue
        if visible(rec.values, ctx.location_id, False):
            found.append(rec)
    data = (
        proto.data_open(odef.name, count=len(found))
        + _records_xml(sb, odef.name, odef.name, found, fields)
        + "</data>"
    )
    return Outcome("success", data)


# -- lookup --------------------------------------------------------------------------------


def lookup(sb: IntacctSandbox, ctx: AuthContext, elem: etree._Element) -> Outcome:
    odef = _object(_text(elem, "object"))
    parts = [proto.data_open("All", count=1), f'<Type Name="{escape(odef.name)}" DocumentType="">']
    parts.append("<Fields>")
    for f in odef.fields:
        parts.append(
            "<Field>"
            + element("ID", f.id)
            + element("LABEL", f.label)
            + element("DESCRIPTION", f.description)
            + element("REQUIRED", "true" if f.required else "false")
            + element("READONLY", "true" if f.readonly else "false")
            + element("DATATYPE", f.datatype)
            + element("ISCUSTOM", "true" if f.custom else "false")
        )
        if f.valid_values:
            parts.append(
                "<VALIDVALUES>"
                + "".join(element("VALIDVALUE", v) for v in f.valid_values)
                + "</VALIDVALUES>"
            )
        parts.append("</Field>")
    parts.append("</Fields><Relationships>")
    for path, name, kind, by in RELATIONSHIPS.get(odef.name, ()):
        parts.append(
            "<Relationship>"
            + element("OBJECTPATH", path)
            + element("OBJECTNAME", name)
            + element("LABEL", path.title())
            + element("RELATIONSHIPTYPE", kind)
            + element("RELATEDBY", by)
            + "</Relationship>"
        )
    parts.append("</Relationships></Type></data>")
    return Outcome("success", "".join(parts))


# -- create --------------------------------------------------------------------------------

CREATABLE = ("CUSTOMER", "VENDOR")


def _flatten(node: etree._Element, prefix: str = "") -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for child in node.iterchildren(etree.Element):
        name = f"{prefix}{child.tag}"
        if len(child):
            out.extend(_flatten(child, name + "."))
        else:
            out.append((name, child.text or ""))
    return out


def create(sb: IntacctSandbox, ctx: AuthContext, elem: etree._Element) -> Outcome:
    objs = [c for c in elem if isinstance(c.tag, str)]
    if len(objs) != 1:
        raise QueryError("BL01001973", "The sandbox creates exactly one record per create")
    node = objs[0]
    name = str(node.tag).upper()
    if name not in OBJECTS:
        raise QueryError("BL01001973", f"Object definition {node.tag} not found")
    if name not in CREATABLE:
        raise QueryError(proto.UNSUPPORTED_ERRORNO, f"The sandbox cannot create {name} records")
    odef = OBJECTS[name]
    label = odef.label
    values: dict[str, Any] = {}
    errors: list[proto.ErrorInfo] = []
    for fname, text in _flatten(node):
        fdef = odef.resolve(fname)
        if fdef is None:
            errors.append(proto.ErrorInfo("BL01001973", description2=f"Invalid field {fname}"))
            continue
        if fdef.readonly:
            errors.append(
                proto.ErrorInfo("BL01001973", description2=f"Field {fdef.id} is read-only")
            )
            continue
        try:
            values[fdef.id] = coerce_value(fdef.datatype, text)
        except (ValueFormatError, TypeError) as exc:
            errors.append(proto.ErrorInfo("BL01001973", description2=f"{fdef.id}: {exc}"))
    for f in odef.fields:
        if f.required and values.get(f.id) is None and f.id not in odef.unique:
            errors.append(
                proto.ErrorInfo("BL01001973", description2=f"Required field {f.id} is missing")
            )
    key_field = odef.unique[0]
    company = sb.company
    with company._lock:
        if values.get(key_field) is None:
            values[key_field] = f"{name[0]}{company._next[name]:05d}"
        dup = company.find(name, **{key_field: values[key_field]})
        if dup and not errors:
            errors.append(
                proto.ErrorInfo(
                    "BL34000061",
                    description2=f"Another {label} with the given value(s) {values[key_field]} "
                    "already exists",
                    correction="Use a unique value instead.",
                )
            )
        if errors:
            errors.append(
                proto.ErrorInfo(
                    "BL01001973", description2=f"Could not create {label.lower()} record!"
                )
            )
            return Outcome("failure", errors=errors)
        values.setdefault("STATUS", "active")
        recordno = company.add(name, values, entity=ctx.location_id or None)
    data = (
        proto.data_open("objects", count=1)
        + f"<{name.lower()}>"
        + element("RECORDNO", str(recordno))
        + element(key_field, str(values[key_field]))
        + f"</{name.lower()}></data>"
    )

    def undo() -> None:
        company.delete(name, recordno, audit=False)

    return Outcome("success", data, undo=undo)


HANDLERS: dict[str, Callable[[IntacctSandbox, AuthContext, etree._Element], Outcome]] = {
    "getAPISession": get_api_session,
    "query": query,
    "readByQuery": read_by_query,
    "readMore": read_more,
    "read": read,
    "lookup": lookup,
    "create": create,
}
