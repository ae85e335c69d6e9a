"""Tiny request builder for tests that talk to the sandbox directly (not the tap's client).

    body = envelope.request(sb, [("f1", "<getAPISession/>")])           # login auth
    body = envelope.request(sb, [("f1", query_xml)], session_id=sid)      # session auth
    root = envelope.post(sb.gateway_url, body)                            # lxml root

Function bodies are XML strings; `query_xml(...)` builds a `query` function body.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any
from xml.sax.saxutils import escape

import requests
from lxml import etree

from tests.sandbox.reference import INTACCT_FIXTURES


def request(
    sb: Any,
    functions: Sequence[tuple[str, str]],
    *,
    session_id: str | None = None,
    sender_id: str | None = None,
    sender_password: str | None = None,
    user_id: str | None = None,
    user_password: str | None = None,
    company_id: str | None = None,
    location_id: str | None = None,
    controlid: str = "ctl-1",
    uniqueid: bool = False,
    transaction: bool = False,
    include_whitespace: bool = False,
) -> bytes:
    """A full request envelope as the SDKs write it (element order per the XSD)."""
    sid = sender_id if sender_id is not None else sb.sender_id
    spw = sender_password if sender_password is not None else sb.sender_password
    if session_id is not None:
        auth = f"<sessionid>{escape(session_id)}</sessionid>"
    else:
        loc = f"<locationid>{escape(location_id)}</locationid>" if location_id else ""
        auth = (
            "<login>"
            f"<userid>{escape(user_id if user_id is not None else sb.user_id)}</userid>"
            f"<companyid>{escape(company_id if company_id is not None else sb.company_id)}"
            "</companyid>"
            f"<password>{escape(user_password if user_password is not None else sb.user_password)}"
            f"</password>{loc}</login>"
        )
    funcs = "".join(
        f'<function controlid="{escape(cid)}">{body}</function>' for cid, body in functions
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<request><control>'
        f"<senderid>{escape(sid)}</senderid><password>{escape(spw)}</password>"
        f"<controlid>{escape(controlid)}</controlid>"
        f"<uniqueid>{'true' if uniqueid else 'false'}</uniqueid>"
        "<dtdversion>3.0</dtdversion>"
        f"<includewhitespace>{'true' if include_whitespace else 'false'}</includewhitespace>"
        "</control>"
        f'<operation transaction="{"true" if transaction else "false"}">'
        f"<authentication>{auth}</authentication><content>{funcs}</content></operation>"
        "</request>"
    ).encode()


def query_xml(
    obj: str,
    fields: Iterable[str],
    *,
    filter_xml: str = "",
    orderby: Iterable[tuple[str, bool]] = (),
    pagesize: int | None = None,
    offset: int | None = None,
    showprivate: bool | None = None,
    caseinsensitive: bool | None = None,
) -> str:
    """A `<query>` function body. orderby: (field, descending) pairs."""
    sel = "".join(f"<field>{escape(f)}</field>" for f in fields)
    parts = [f"<query><object>{escape(obj)}</object><select>{sel}</select>"]
    if filter_xml:
        parts.append(f"<filter>{filter_xml}</filter>")
    orders = list(orderby)
    if orders:
        parts.append(
            "<orderby>"
            + "".join(
                f"<order><field>{escape(f)}</field>{'<descending/>' if d else '<ascending/>'}"
                "</order>"
                for f, d in orders
            )
            + "</orderby>"
        )
    opts = ""
    if caseinsensitive is not None:
        opts += f"<caseinsensitive>{str(caseinsensitive).lower()}</caseinsensitive>"
    if showprivate is not None:
        opts += f"<showprivate>{str(showprivate).lower()}</showprivate>"
    if opts:
        parts.append(f"<options>{opts}</options>")
    if pagesize is not None:
        parts.append(f"<pagesize>{pagesize}</pagesize>")
    if offset is not None:
        parts.append(f"<offset>{offset}</offset>")
    parts.append("</query>")
    return "".join(parts)


def cond(op: str, field: str, *values: str) -> str:
    """One filter condition, e.g. cond("greaterthan", "RECORDNO", "5")."""
    vals = "".join(f"<value>{escape(v)}</value>" for v in values)
    return f"<{op}><field>{escape(field)}</field>{vals}</{op}>"


def post(url: str, body: bytes, *, timeout: float = 10.0) -> etree._Element:
    """POST and parse; raises for a non-200 status."""
    resp = requests.post(
        url, data=body, headers={"Content-Type": "application/xml"}, timeout=timeout
    )
    resp.raise_for_status()
    return etree.fromstring(resp.content)


def session(sb: Any, *, location_id: str | None = None, in_function: bool = False) -> str:
    """Open a session with getAPISession; returns the session id."""
    body = (
        f"<getAPISession><locationid>{escape(location_id)}</locationid></getAPISession>"
        if in_function and location_id is not None
        else "<getAPISession/>"
    )
    root = post(
        sb.gateway_url,
        request(sb, [("s1", body)], location_id=None if in_function else location_id),
    )
    sid = root.findtext("operation/result/data/api/sessionid")
    if not sid:
        raise AssertionError(etree.tostring(root).decode())
    return sid


FIXTURES_DIR = INTACCT_FIXTURES


def fixture(name: str) -> etree._Element:
    """A reference fixture (tests/sandbox/reference/intacct-fixtures/<name>) parsed."""
    return etree.fromstring((FIXTURES_DIR / name).read_bytes())


def element_paths(node: etree._Element, prefix: str = "") -> set[str]:
    """Set of element paths ("/response/control/status", ...) under node, for comparing
    the shape of two answers."""
    path = f"{prefix}/{node.tag}"
    out = {path}
    for child in node.iterchildren(etree.Element):
        out |= element_paths(child, path)
    return out


def records(data: etree._Element | None) -> list[dict[str, str]]:
    """Children of a <data> element as dicts of field -> text ('' for empty)."""
    if data is None:
        return []
    return [
        {str(f.tag): f.text or "" for f in rec.iterchildren(etree.Element)}
        for rec in data.iterchildren(etree.Element)
    ]
