"""The bare loop that tap-intacct is measured against (measurement 1).

It downloads the very pages the tap downloaded: it logs in, then sends again, in order, the
``query`` requests the sandbox recorded from the tap's run (bills and their lines; a request may
carry two queries), with its own session id, one after another on one kept-alive connection.
Each answer is parsed once with lxml and every record becomes a dict ``{field: text}``. Nothing
else: no typing, no nesting, no output. Its time is the floor any client pays for the same data
over the same HTTP, sent one request at a time.

    python -m tests.benchmarks.bare_loop --config tap.json --bodies bodies.json --out stats.json
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import time
from pathlib import Path
from typing import Any

import requests
from lxml import etree

_LOGIN = (
    "<?xml version='1.0' encoding='UTF-8'?>\n"
    "<request><control><senderid>{sender_id}</senderid><password>{sender_password}</password>"
    "<controlid>bare-login</controlid><uniqueid>false</uniqueid><dtdversion>3.0</dtdversion>"
    '<includewhitespace>false</includewhitespace></control><operation transaction="false">'
    "<authentication><login><userid>{user_id}</userid><companyid>{company_id}</companyid>"
    "<password>{user_password}</password></login></authentication><content>"
    '<function controlid="bare-login"><getAPISession/></function></content></operation>'
    "</request>"
)
_SESSION = re.compile(rb"<sessionid>[^<]*</sessionid>")
HEADERS = {"Content-Type": "application/xml; charset=utf-8", "Accept": "application/xml"}


def login(http: requests.Session, config: dict[str, Any]) -> tuple[str, str]:
    """getAPISession: the session id and the endpoint to use with it."""
    body = _LOGIN.format(**{k: config[k] for k in _login_keys()}).encode()
    answer = http.post(config["api_url"], data=body, headers=HEADERS, timeout=300)
    answer.raise_for_status()
    root = etree.fromstring(answer.content)
    session_id = root.findtext(".//api/sessionid")
    endpoint = root.findtext(".//api/endpoint")
    if not session_id or not endpoint:
        raise RuntimeError(f"login failed: {answer.content[:500]!r}")
    return session_id, endpoint


def _login_keys() -> tuple[str, ...]:
    return ("sender_id", "sender_password", "user_id", "company_id", "user_password")


def run(config: dict[str, Any], bodies: list[bytes]) -> dict[str, Any]:
    """Send every body, parse every answer into dicts; return what was read."""
    started = time.perf_counter()
    http = requests.Session()
    session_id, endpoint = login(http, config)
    replacement = f"<sessionid>{session_id}</sessionid>".encode()
    records: dict[str, int] = {}
    answer_bytes = 0
    for template in bodies:
        body = _SESSION.sub(replacement, template, count=1)
        answer = http.post(endpoint, data=body, headers=HEADERS, timeout=300)
        answer.raise_for_status()
        content = answer.content
        answer_bytes += len(content)
        root = etree.fromstring(content)
        found = root.findall("operation/result/data")
        if not found:
            raise RuntimeError(f"no data in the answer: {content[:500]!r}")
        for data in found:
            rows = [{child.tag: child.text for child in node} for node in data]
            if rows:
                name = str(data.get("listtype"))
                records[name] = records.get(name, 0) + len(rows)
    return {
        "requests": len(bodies),
        "records": records,
        "answer_bytes": answer_bytes,
        "seconds": time.perf_counter() - started,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.benchmarks.bare_loop")
    parser.add_argument("--config", type=Path, required=True, help="a tap-intacct config")
    parser.add_argument("--bodies", type=Path, required=True, help="JSON list of query bodies")
    parser.add_argument("--out", type=Path, required=True, help="where to write the counts")
    args = parser.parse_args(argv)
    config = json.loads(args.config.read_text("utf-8"))
    bodies = [b.encode() for b in json.loads(args.bodies.read_text("utf-8"))]
    stats = run(config, bodies)
    args.out.write_text(json.dumps(stats), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
