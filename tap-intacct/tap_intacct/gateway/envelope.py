"""Build request envelopes and function elements exactly as Intacct's ``api.xsd`` orders them.

::

    request     = control, operation
    control     = senderid, password, controlid, uniqueid, dtdversion (3.0),
                  includewhitespace (false)
    operation   = authentication (login | sessionid), content
    login       = userid, companyid, password, locationid?
    content     = function[@controlid] = one function element

Every text goes through :func:`~tap_intacct.gateway.sanitize.sanitize_text`, so characters XML 1.0
forbids are dropped and lxml escapes the rest.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from lxml import etree

from tap_intacct.gateway.filters import Filter, Order
from tap_intacct.gateway.sanitize import format_value, sanitize_text

__all__ = [
    "MAX_CONTROL_ID_LENGTH",
    "MAX_QUERY_PAGE_SIZE",
    "MAX_READ_BY_QUERY_PAGE_SIZE",
    "LoginCredentials",
    "SessionCredentials",
    "build_request",
    "create_function",
    "derive_control_id",
    "get_api_session_function",
    "lookup_function",
    "query_function",
    "read_by_query_function",
    "read_more_function",
    "record_element",
    "serialize",
    "update_function",
]

DTD_VERSION = "3.0"
MAX_QUERY_PAGE_SIZE = 2000
MAX_READ_BY_QUERY_PAGE_SIZE = 1000
MAX_CONTROL_ID_LENGTH = 256


@dataclass(frozen=True, slots=True)
class LoginCredentials:
    """``<login>``: a user of one company (optionally one entity)."""

    user_id: str
    company_id: str
    password: str = field(repr=False)
    location_id: str | None = None


@dataclass(frozen=True, slots=True)
class SessionCredentials:
    """``<sessionid>``: an API session from getAPISession."""

    session_id: str = field(repr=False)


def _text(parent: etree._Element, tag: str, value: object) -> etree._Element:
    node = etree.SubElement(parent, tag)
    node.text = format_value(value)
    return node


def build_request(
    *,
    sender_id: str,
    sender_password: str,
    control_id: str,
    credentials: LoginCredentials | SessionCredentials,
    function: etree._Element,
    function_control_id: str,
    unique_id: bool = False,
    more_functions: Sequence[tuple[str, etree._Element]] = (),
) -> etree._Element:
    """Return the ``<request>`` element for one function (and ``more_functions``, pairs of
    control id and function, sent in the same request: one round trip for several reads).

    ``unique_id=True`` (writes) asks the gateway to refuse a function whose control id already ran.
    """
    _check_control_id(control_id)
    _check_control_id(function_control_id)
    for extra_id, _ in more_functions:
        _check_control_id(extra_id)
    request = etree.Element("request")
    control = etree.SubElement(request, "control")
    _text(control, "senderid", sender_id)
    _text(control, "password", sender_password)
    _text(control, "controlid", control_id)
    _text(control, "uniqueid", bool(unique_id))
    _text(control, "dtdversion", DTD_VERSION)
    _text(control, "includewhitespace", False)

    operation = etree.SubElement(request, "operation", transaction="false")
    authentication = etree.SubElement(operation, "authentication")
    if isinstance(credentials, LoginCredentials):
        login = etree.SubElement(authentication, "login")
        _text(login, "userid", credentials.user_id)
        _text(login, "companyid", credentials.company_id)
        _text(login, "password", credentials.password)
        if credentials.location_id:
            _text(login, "locationid", credentials.location_id)
    else:
        _text(authentication, "sessionid", credentials.session_id)
    content = etree.SubElement(operation, "content")
    wrapper = etree.SubElement(content, "function", controlid=sanitize_text(function_control_id))
    wrapper.append(function)
    for extra_id, extra in more_functions:
        etree.SubElement(content, "function", controlid=sanitize_text(extra_id)).append(extra)
    return request


def serialize(request: etree._Element) -> bytes:
    """UTF-8 bytes with an XML declaration, as the gateway expects."""
    return etree.tostring(request, xml_declaration=True, encoding="UTF-8")


def _check_control_id(control_id: str) -> None:
    if not 1 <= len(control_id) <= MAX_CONTROL_ID_LENGTH:
        raise ValueError(f"control ids are 1 to {MAX_CONTROL_ID_LENGTH} characters: {control_id!r}")


def derive_control_id(function: etree._Element, *, scope: str = "") -> str:
    """Deterministic control id of a function: ``<kind>-<24 hex>``.

    The hex is the SHA-256 of ``scope``, the function's tag and its canonical (C14N) XML. The same
    function in the same scope always gets the same id, so a retried request carries the same id
    and, with ``uniqueid=true``, the gateway refuses to run a write twice.
    """
    canonical = etree.tostring(function, method="c14n")
    digest = hashlib.sha256()
    digest.update(scope.encode("utf-8"))
    digest.update(b"\0")
    digest.update(str(function.tag).encode("utf-8"))
    digest.update(b"\0")
    digest.update(canonical)
    return f"{function.tag}-{digest.hexdigest()[:24]}"


# --- functions -----------------------------------------------------------------------------------


def get_api_session_function(location_id: str | None = None) -> etree._Element:
    """``<getAPISession/>``, or ``<getAPISession><locationid>E1</locationid></getAPISession>``."""
    node = etree.Element("getAPISession")
    if location_id:
        _text(node, "locationid", location_id)
    return node


def query_function(
    object_name: str,
    fields: Sequence[str],
    *,
    filter: Filter | None = None,
    order_by: Iterable[Order | str | tuple[str, str]] = (),
    case_insensitive: bool = False,
    show_private: bool = False,
    page_size: int | None = None,
    offset: int | None = None,
) -> etree._Element:
    """``<query>``: select ``fields`` of ``object_name`` with an optional filter and sort.

    ``page_size`` is 1..2000 (gateway default 100); ``offset`` >= 0. ``*`` is not allowed in
    ``fields`` (the gateway wants explicit names; use :func:`lookup_function` to list them).
    """
    if not fields:
        raise ValueError(f"query of {object_name} needs at least one field to select")
    if any(f.strip() == "*" for f in fields):
        raise ValueError("query does not accept '*'; list the fields (see lookup)")
    if page_size is not None and not 1 <= page_size <= MAX_QUERY_PAGE_SIZE:
        raise ValueError(f"query page size must be 1 to {MAX_QUERY_PAGE_SIZE}, got {page_size}")
    if offset is not None and offset < 0:
        raise ValueError(f"query offset must be >= 0, got {offset}")
    node = etree.Element("query")
    _text(node, "object", object_name)
    select = etree.SubElement(node, "select")
    for name in fields:
        _text(select, "field", name)
    if filter is not None:
        filter_node = etree.SubElement(node, "filter")
        filter_node.append(filter.to_element())
    orders = [Order.coerce(o) for o in order_by]
    if orders:
        orderby = etree.SubElement(node, "orderby")
        for order in orders:
            orderby.append(order.to_element())
    if case_insensitive or show_private:
        options = etree.SubElement(node, "options")
        if case_insensitive:
            _text(options, "caseinsensitive", True)
        if show_private:
            _text(options, "showprivate", True)
    if page_size is not None:
        _text(node, "pagesize", page_size)
    if offset is not None:
        _text(node, "offset", offset)
    return node


def read_by_query_function(
    object_name: str,
    *,
    query: str = "",
    fields: Sequence[str] = ("*",),
    page_size: int | None = None,
) -> etree._Element:
    """``<readByQuery>`` (legacy): ``query`` is the gateway's SQL-like string ('' = all rows).

    ``page_size`` is 1..1000. Page on with :func:`read_more_function` and the resultId.
    """
    if page_size is not None and not 1 <= page_size <= MAX_READ_BY_QUERY_PAGE_SIZE:
        raise ValueError(
            f"readByQuery page size must be 1 to {MAX_READ_BY_QUERY_PAGE_SIZE}, got {page_size}"
        )
    node = etree.Element("readByQuery")
    _text(node, "object", object_name)
    _text(node, "query", query)
    _text(node, "fields", ",".join(f.strip() for f in fields) or "*")
    if page_size is not None:
        _text(node, "pagesize", page_size)
    _text(node, "returnFormat", "xml")
    return node


def read_more_function(result_id: str) -> etree._Element:
    """``<readMore><resultId>..</resultId></readMore>``."""
    if not result_id:
        raise ValueError("readMore needs the resultId of a readByQuery page")
    node = etree.Element("readMore")
    _text(node, "resultId", result_id)
    return node


def lookup_function(object_name: str) -> etree._Element:
    """``<lookup><object>X</object></lookup>``: the object's field definitions."""
    node = etree.Element("lookup")
    _text(node, "object", object_name)
    return node


def record_element(tag: str, values: Mapping[str, object]) -> etree._Element:
    """Build ``<TAG><FIELD>value</FIELD>...</TAG>``; nested mappings become nested elements.

    ``None`` values become empty elements. Lists of mappings repeat the element.
    """
    node = etree.Element(tag)
    _fill(node, values)
    return node


def _fill(node: etree._Element, values: Mapping[str, object]) -> None:
    for name, value in values.items():
        if isinstance(value, Mapping):
            _fill(etree.SubElement(node, name), value)
        elif isinstance(value, list | tuple):
            for item in value:
                child = etree.SubElement(node, name)
                if isinstance(item, Mapping):
                    _fill(child, item)
                else:
                    child.text = format_value(item)
        elif value is None:
            etree.SubElement(node, name)
        else:
            etree.SubElement(node, name).text = format_value(value)


def create_function(object_name: str, values: Mapping[str, object]) -> etree._Element:
    """``<create><OBJECT>...</OBJECT></create>`` (a write: send it with ``write=True``)."""
    node = etree.Element("create")
    node.append(record_element(object_name, values))
    return node


def update_function(object_name: str, values: Mapping[str, object]) -> etree._Element:
    """``<update><OBJECT>...</OBJECT></update>`` (a write: send it with ``write=True``)."""
    node = etree.Element("update")
    node.append(record_element(object_name, values))
    return node
