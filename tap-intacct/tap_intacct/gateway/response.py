"""Parse gateway responses into typed outcomes.

:func:`parse_response` is pure: bytes in, :class:`Response` out. A response is parsed once with
lxml; records are read lazily from the already-built tree (:meth:`Result.records`), one plain dict
per record, so nothing is parsed twice and no per-record objects are built besides the dicts.

The three failure levels:

- control: ``Response.control.status == "failure"``; nothing ran; errors in ``Response.errors``.
- authentication: ``Response.authentication.status == "failure"``; errors in
  ``Response.operation_errors``; no results.
- function: one ``Result`` with ``status`` ``failure`` (or ``aborted``) and its own ``errors``.

An HTTP 200 carrying ``<status>failure</status>`` is an error, never data: use
:meth:`Response.error` / :meth:`Result.error` (exceptions, not raised) or
:meth:`Response.raise_for_error` / :meth:`Result.raise_for_error`.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

from lxml import etree

from tap_intacct.gateway.errors import (
    AuthenticationError,
    ControlError,
    ErrorDetail,
    FunctionError,
    MalformedResponseError,
    RateLimitError,
    classify_authentication_failure,
    classify_control_failure,
    classify_function_failure,
)

__all__ = [
    "Authentication",
    "ControlInfo",
    "FieldDef",
    "ObjectDefinition",
    "QueryPage",
    "Record",
    "Relationship",
    "Response",
    "Result",
    "parse_lookup",
    "parse_response",
]

Record = dict[str, str | None]

_parsers = threading.local()


def _parser() -> etree.XMLParser:
    parser: etree.XMLParser | None = getattr(_parsers, "parser", None)
    if parser is None:
        parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            remove_comments=True,
            remove_pis=True,
        )
        _parsers.parser = parser
    return parser


def _child_text(node: etree._Element | None, tag: str) -> str:
    if node is None:
        return ""
    child = node.find(tag)
    if child is None or child.text is None:
        return ""
    return child.text.strip()


def _optional_int(value: str | None) -> int | None:
    if value is None or value.strip() == "":
        return None
    try:
        return int(value)
    except ValueError:
        return None


def _timestamp(text: str) -> dt.datetime | None:
    if not text:
        return None
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return value if value.tzinfo is not None else None


def _errors(errormessage: etree._Element | None) -> tuple[ErrorDetail, ...]:
    if errormessage is None:
        return ()
    return tuple(
        ErrorDetail(
            errorno=_child_text(error, "errorno"),
            description=_child_text(error, "description"),
            description2=_child_text(error, "description2"),
            correction=_child_text(error, "correction"),
        )
        for error in errormessage.iterfind("error")
    )


@dataclass(frozen=True, slots=True)
class ControlInfo:
    """The echoed ``<control>`` block."""

    status: str
    sender_id: str = ""
    control_id: str = ""
    unique_id: str = ""
    dtd_version: str = ""


@dataclass(frozen=True, slots=True)
class Authentication:
    """The ``<authentication>`` block of the operation (present in every operation)."""

    status: str
    user_id: str = ""
    company_id: str = ""
    location_id: str = ""
    session_timestamp: dt.datetime | None = None
    #: Idle timeout of the session (ISO-8601 with offset); slides forward on every call.
    session_timeout: dt.datetime | None = None


def _flatten_into(out: Record, node: etree._Element, prefix: str) -> None:
    for child in node:
        name = f"{prefix}.{child.tag}"
        if len(child):
            _flatten_into(out, child, name)
        else:
            out[name] = child.text


#: True when some record of a ``<data>`` element has a nested block (a grandchild element).
_HAS_NESTED_BLOCK = etree.XPath("boolean(*/*/*)")


def _record(node: etree._Element) -> Record:
    out: Record = {}
    for child in node:
        text = child.text
        if (text is None or text.isspace()) and len(child):
            # A nested block (e.g. <DISPLAYCONTACT><EMAIL1>..): keep names flat and dotted,
            # the same shape query returns for dotted field names.
            _flatten_into(out, child, child.tag)
        else:
            out[child.tag] = text
    return out


@dataclass(frozen=True, slots=True, eq=False)
class Result:
    """One ``<result>``: the outcome of one function."""

    status: str
    function: str
    control_id: str
    errors: tuple[ErrorDetail, ...] = ()
    #: ``<key>`` of a create/update result, if any.
    key: str | None = None
    list_type: str | None = None
    count: int | None = None
    total_count: int | None = None
    num_remaining: int | None = None
    offset: int | None = None
    result_id: str | None = None
    data: etree._Element | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return self.status == "success"

    def records(self) -> Iterator[Record]:
        """Each child of ``<data>`` (whatever its case) as ``{field: text or None}``."""
        data = self.data
        if data is None:
            return iter(())
        if not _HAS_NESTED_BLOCK(data):
            # No record has a nested block (one XPath test in C for the whole page): every
            # field is a leaf, read in one comprehension per record.
            return ({child.tag: child.text for child in node} for node in data)
        return (_record(node) for node in data)

    def error(self) -> FunctionError | None:
        """The function failure as an exception (not raised), or None on success."""
        if self.ok:
            return None
        errors = self.errors or (ErrorDetail(errorno="", description2=f"status {self.status}"),)
        return classify_function_failure(errors, function=self.function, control_id=self.control_id)

    def raise_for_error(self) -> None:
        exc = self.error()
        if exc is not None:
            raise exc


@dataclass(frozen=True, slots=True, eq=False)
class QueryPage:
    """One page of ``query``, ``readByQuery`` or ``readMore`` with its paging metadata.

    Iterate it (or call :meth:`records`) for the records; they are read from the parsed tree on
    demand, one dict per record.
    """

    result: Result
    #: Offset the page was asked for (used when the answer does not echo one).
    requested_offset: int = 0

    @property
    def list_type(self) -> str | None:
        return self.result.list_type

    @property
    def count(self) -> int:
        """Records in this page."""
        count = self.result.count
        if count is None:
            data = self.result.data
            return 0 if data is None else len(data)
        return count

    @property
    def total_count(self) -> int | None:
        """Records matching the query in all pages."""
        return self.result.total_count

    @property
    def num_remaining(self) -> int:
        """Records after this page (0 on the last page)."""
        return self.result.num_remaining or 0

    @property
    def offset(self) -> int:
        offset = self.result.offset
        return self.requested_offset if offset is None else offset

    @property
    def result_id(self) -> str | None:
        """readByQuery's handle for readMore (query pages have none)."""
        return self.result.result_id

    @property
    def has_more(self) -> bool:
        return self.num_remaining > 0

    @property
    def next_offset(self) -> int:
        """Offset of the next ``query`` page."""
        return self.offset + self.count

    def records(self) -> Iterator[Record]:
        return self.result.records()

    def __iter__(self) -> Iterator[Record]:
        return self.result.records()

    def __repr__(self) -> str:
        return (
            f"QueryPage(list_type={self.list_type!r}, count={self.count}, "
            f"total_count={self.total_count}, num_remaining={self.num_remaining}, "
            f"offset={self.offset}, result_id={self.result_id!r})"
        )


def _result(node: etree._Element) -> Result:
    data = node.find("data")

    def attr(name: str) -> str | None:
        return None if data is None else data.get(name)

    key_node = node.find("key")
    result_id = attr("resultId")
    return Result(
        status=_child_text(node, "status").lower(),
        function=_child_text(node, "function"),
        control_id=_child_text(node, "controlid"),
        errors=_errors(node.find("errormessage")),
        key=key_node.text if key_node is not None else None,
        list_type=attr("listtype"),
        count=_optional_int(attr("count")),
        total_count=_optional_int(attr("totalcount")),
        num_remaining=_optional_int(attr("numremaining")),
        offset=_optional_int(attr("offset")),
        result_id=result_id or None,
        data=data,
    )


@dataclass(frozen=True, slots=True, eq=False)
class Response:
    """A parsed ``<response>``."""

    control: ControlInfo
    #: Control-level errors (``errormessage`` directly under ``response``).
    errors: tuple[ErrorDetail, ...] = ()
    authentication: Authentication | None = None
    #: Authentication-level errors (``errormessage`` directly under ``operation``).
    operation_errors: tuple[ErrorDetail, ...] = ()
    results: tuple[Result, ...] = ()

    @property
    def failure_level(self) -> str | None:
        """``"control"``, ``"authentication"``, ``"function"`` or None when all succeeded."""
        if self.control.status != "success" or self.errors:
            return "control"
        if self.authentication is None or self.authentication.status != "success":
            return "authentication"
        if self.operation_errors:
            return "authentication"
        if any(not r.ok for r in self.results):
            return "function"
        return None

    def error(
        self, *, used_session: bool = False, http_status: int | None = None
    ) -> ControlError | RateLimitError | AuthenticationError | None:
        """The control or authentication failure as an exception (not raised), else None.

        Function failures are per result: see :meth:`Result.error`.
        """
        level = self.failure_level
        if level == "control":
            return classify_control_failure(
                self.errors, control_id=self.control.control_id or None, http_status=http_status
            )
        if level == "authentication":
            return classify_authentication_failure(
                self.operation_errors,
                control_id=self.control.control_id or None,
                used_session=used_session,
            )
        return None

    def raise_for_error(self, *, used_session: bool = False) -> None:
        """Raise the first failure at any level (control, authentication, then function)."""
        exc = self.error(used_session=used_session)
        if exc is not None:
            raise exc
        for result in self.results:
            result.raise_for_error()

    def result(self, control_id: str) -> Result | None:
        """The result echoing ``control_id``, if any."""
        for result in self.results:
            if result.control_id == control_id:
                return result
        return None


def parse_response(body: bytes) -> Response:
    """Parse a gateway answer. Raises :class:`MalformedResponseError` when it is not one."""
    stripped = body.lstrip()[:512].lower()
    if stripped.startswith((b"<!doctype html", b"<html")):
        raise MalformedResponseError("the body is an HTML page, not a gateway response")
    try:
        root = etree.fromstring(body, _parser())
    except etree.XMLSyntaxError as exc:
        raise MalformedResponseError(
            f"the body is not well-formed XML (truncated?): {exc.msg}"
        ) from None
    if root.tag != "response":
        raise MalformedResponseError(f"expected a <response> document, got <{root.tag}>")
    control_node = root.find("control")
    control = ControlInfo(
        status=_child_text(control_node, "status").lower(),
        sender_id=_child_text(control_node, "senderid"),
        control_id=_child_text(control_node, "controlid"),
        unique_id=_child_text(control_node, "uniqueid"),
        dtd_version=_child_text(control_node, "dtdversion"),
    )
    errors = _errors(root.find("errormessage"))
    operation = root.find("operation")
    if operation is None:
        return Response(control=control, errors=errors)
    auth_node = operation.find("authentication")
    authentication = None
    if auth_node is not None:
        authentication = Authentication(
            status=_child_text(auth_node, "status").lower(),
            user_id=_child_text(auth_node, "userid"),
            company_id=_child_text(auth_node, "companyid"),
            location_id=_child_text(auth_node, "locationid"),
            session_timestamp=_timestamp(_child_text(auth_node, "sessiontimestamp")),
            session_timeout=_timestamp(_child_text(auth_node, "sessiontimeout")),
        )
    return Response(
        control=control,
        errors=errors,
        authentication=authentication,
        operation_errors=_errors(operation.find("errormessage")),
        results=tuple(_result(node) for node in operation.iterfind("result")),
    )


# --- lookup --------------------------------------------------------------------------------------


def _bool(text: str) -> bool:
    return text.strip().lower() == "true"


@dataclass(frozen=True, slots=True)
class FieldDef:
    """One ``Field`` of a lookup answer."""

    id: str
    label: str = ""
    description: str = ""
    datatype: str = ""
    required: bool = False
    readonly: bool = False
    is_custom: bool = False
    valid_values: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Relationship:
    """One ``Relationship`` of a lookup answer."""

    object_path: str
    object_name: str = ""
    label: str = ""
    relationship_type: str = ""
    related_by: str = ""


@dataclass(frozen=True, slots=True)
class ObjectDefinition:
    """A lookup answer: the object's fields and relationships."""

    name: str
    document_type: str = ""
    fields: tuple[FieldDef, ...] = ()
    relationships: tuple[Relationship, ...] = ()


def parse_lookup(result: Result) -> ObjectDefinition:
    """Read ``data/Type/Fields/Field`` and ``data/Type/Relationships/Relationship``."""
    data = result.data
    type_node = data.find("Type") if data is not None else None
    if type_node is None:
        return ObjectDefinition(name=result.list_type or "")
    fields = tuple(
        FieldDef(
            id=_child_text(node, "ID"),
            label=_child_text(node, "LABEL"),
            description=_child_text(node, "DESCRIPTION"),
            datatype=_child_text(node, "DATATYPE").upper(),
            required=_bool(_child_text(node, "REQUIRED")),
            readonly=_bool(_child_text(node, "READONLY")),
            is_custom=_bool(_child_text(node, "ISCUSTOM")),
            valid_values=tuple(
                (v.text or "").strip() for v in node.iterfind("VALIDVALUES/VALIDVALUE")
            ),
        )
        for node in type_node.iterfind("Fields/Field")
    )
    relationships = tuple(
        Relationship(
            object_path=_child_text(node, "OBJECTPATH"),
            object_name=_child_text(node, "OBJECTNAME"),
            label=_child_text(node, "LABEL"),
            relationship_type=_child_text(node, "RELATIONSHIPTYPE"),
            related_by=_child_text(node, "RELATEDBY"),
        )
        for node in type_node.iterfind("Relationships/Relationship")
    )
    return ObjectDefinition(
        name=type_node.get("Name") or result.list_type or "",
        document_type=type_node.get("DocumentType") or "",
        fields=fields,
        relationships=relationships,
    )
