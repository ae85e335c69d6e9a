"""Response text of the sandbox gateway: control, authentication, result and error blocks,
gateway (GW-xxxx) bodies and CDN error pages. Shapes follow the reference fixtures in
tests/sandbox/reference/intacct-fixtures/.

Error numbers and texts come from intacct-xml-gateway.md where it gives them. Where the
reference has none, the sandbox picks one and says so here (marked ASSUMPTION), so a client
must recognise these by the level and texts the reference documents, not by the number.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from tests.sandbox.intacct.xmltext import element, escape, sanitize

XML_DECL = '<?xml version="1.0" encoding="UTF-8"?>\n'

# -- documented error numbers and texts ---------------------------------------------------
XML_ERROR = "XL03000003"
AUTH_ERROR = "XL03000006"
TRANSACTION_ROLLED_BACK = "XL03000009"
SENDER_FAILURE_TEXT = "Incorrect Intacct XML Partner ID or password."
LOGIN_FAILURE_TEXT = "Sign-in information is incorrect"
INVALID_SESSION_TEXT = "Invalid session"
UNAUTHORIZED_SENDER_DESCRIPTION = "Invalid Web Services Authorization"
UNAUTHORIZED_SENDER_TEXT = (
    "The sender ID '{sender}' is not authorized to make Web Services requests to company "
    "ID '{company}'."
)
UNAUTHORIZED_SENDER_CORRECTION = (
    "Contact the company administrator to grant Web Services authorization to this sender ID."
)
ROLLED_BACK_TEXT = "The entire transaction in this operation has been rolled back due to an error."
CANNOT_QUERY_TEXT = "The following fields cannot be queried: [\n\t{obj}: [{fields}] ]"
TRY_AGAIN_CORRECTION = "Please Try Again Later"
SERVICE_OFFLINE_TEXT = "The Service is Temporarily Off-line"
RATE_LIMIT_TEXT = "API rate limit exceeded"

# -- ASSUMPTION: numbers the reference does not give ---------------------------------------


# The answer to a function control id repeated under uniqueid=true. Source:
# intacct-xml-gateway.md section 4 quotes Sage's request docs (uniqueid=true, the default, lets a
# function's controlid run once) and says the number and text of the refusal are documented
# nowhere; it advises a function-level failure with a distinctive errorno. The sandbox states
# its own: an XL03 number next to the documented control-level ones (XL03000003, XL03000006,
# XL03000009), and a text naming the control id and "already executed". It does not read the
# client's constant: were the client's number or text wrong, a client relying on them would
# fail against this answer (tests/tap_intacct/test_gateway_sandbox.py).
DUPLICATE_CONTROLID_ERRORNO = "XL03000013"  # ASSUMPTION
DUPLICATE_CONTROLID_TEXT = (
    "The function with control ID '{controlid}' was already executed (uniqueid=true)."
)
TRY_AGAIN_ERRORNO = "XL03000010"  # ASSUMPTION; the correction text is what matters
SERVICE_OFFLINE_ERRORNO = "XL03000002"  # ASSUMPTION
RATE_LIMIT_ERRORNO = "XL03000029"  # ASSUMPTION
UNSUPPORTED_ERRORNO = "SANDBOX-UNSUPPORTED"  # the sandbox lacks this function
INVALID_ENTITY_TEXT = "The entity '{entity}' does not exist in company '{company}'."  # ASSUMPTION


@dataclass(frozen=True)
class ErrorInfo:
    errorno: str
    description: str = ""
    description2: str = ""
    correction: str = ""


def support_id() -> str:
    """A URL-encoded support id like the gateway appends to some texts."""
    return f"[Support ID: {secrets.token_hex(5)}%7E{secrets.token_urlsafe(12)}]"


def errormessage(errors: list[ErrorInfo]) -> str:
    parts = ["<errormessage>"]
    for e in errors:
        parts.append(
            "<error>"
            + element("errorno", e.errorno)
            + element("description", e.description)
            + element("description2", e.description2)
            + element("correction", e.correction)
            + "</error>"
        )
    parts.append("</errormessage>")
    return "".join(parts)


def control_block(
    status: str, senderid: str, controlid: str, uniqueid: str, dtdversion: str
) -> str:
    return (
        "<control>"
        + element("status", status)
        + element("senderid", senderid)
        + element("controlid", controlid)
        + element("uniqueid", uniqueid)
        + element("dtdversion", dtdversion)
        + "</control>"
    )


def response(inner: str) -> bytes:
    return (XML_DECL + "<response>" + inner + "</response>").encode("utf-8")


def control_failure(
    errors: list[ErrorInfo], senderid: str, controlid: str, uniqueid: str, dtdversion: str
) -> bytes:
    return response(
        control_block("failure", senderid, controlid, uniqueid, dtdversion) + errormessage(errors)
    )


def auth_success(userid: str, companyid: str, locationid: str, timestamp: str, timeout: str) -> str:
    return (
        "<authentication><status>success</status>"
        + element("userid", userid)
        + element("companyid", companyid)
        + element("locationid", locationid)
        + element("sessiontimestamp", timestamp)
        + element("sessiontimeout", timeout)
        + "</authentication>"
    )


def auth_failure(userid: str, companyid: str, errors: list[ErrorInfo]) -> str:
    """An operation whose authentication failed: no results (execLoginInvalid.xml,
    sessionInvalid.xml)."""
    return (
        "<operation><authentication><status>failure</status>"
        + element("userid", userid)
        + element("companyid", companyid)
        + "</authentication>"
        + errormessage(errors)
        + "</operation>"
    )


def result(
    status: str,
    function: str,
    controlid: str,
    data: str | None = None,
    errors: list[ErrorInfo] | None = None,
) -> str:
    return (
        "<result>"
        + element("status", status)
        + element("function", function)
        + element("controlid", controlid)
        + (data or "")
        + (errormessage(errors) if errors else "")
        + "</result>"
    )


def data_open(listtype: str, **attrs: object) -> str:
    extra = "".join(f' {k}="{escape(sanitize(str(v)))}"' for k, v in attrs.items())
    return f'<data listtype="{escape(listtype)}"{extra}>'


# -- HTTP-level bodies ---------------------------------------------------------------------


def gateway_error(errorno: str, description: str, description2: str, correction: str = "") -> bytes:
    """GW-xxxx body: the control holds only the status (reference section 2)."""
    return response(
        "<control><status>failure</status></control>"
        + errormessage([ErrorInfo(errorno, description, description2, correction)])
    )


def request_id() -> str:
    return secrets.token_hex(8)


def gw_0010() -> bytes:
    return gateway_error(
        "GW-0010",
        f"Too Many Requests [Request ID: {request_id()}]",
        "You have exceeded the number of requests allowed in a short period. Try again later.",
    )


def gw_0011() -> bytes:
    return gateway_error(
        "GW-0011",
        f"Invalid Request [Request ID: {request_id()}]",
        "One or more authentication values are incorrect.",
    )


def html_error(status: int, title: str) -> bytes:
    return (
        f"<!DOCTYPE html><html><head><title>{status} {title}</title></head>"
        f"<body><h1>{status} {title}</h1><p>The server encountered an error.</p></body></html>"
    ).encode()


def cdn_error_page(status: int) -> bytes:
    """A Cloudflare-like HTML5 error page carrying `cf-error-details` (not well-formed XML,
    like the real ones: void elements, named entities)."""
    ray = secrets.token_hex(8)
    code = status if status != 200 else 502
    return (
        '<!DOCTYPE html>\n<html lang="en-US"><head><meta charset="UTF-8">'
        '<meta name="robots" content="noindex, nofollow">'
        f"<title>api.intacct.com | {code}: Bad gateway</title></head><body>"
        '<div id="cf-wrapper"><div id="cf-error-details" class="cf-error-details-wrapper">'
        f'<h1><span class="cf-error-type">Error</span>&nbsp;<span class="code-label">Error code '
        f"{code}</span></h1><br>"
        "<h2>Bad gateway</h2><p>The web server reported a bad gateway error.</p>"
        f'<p>Cloudflare Ray ID: <strong class="font-semibold">{ray}</strong></p>'
        "</div></div></body></html>"
    ).encode()
