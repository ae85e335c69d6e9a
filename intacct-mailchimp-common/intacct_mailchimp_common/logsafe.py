"""What reaches a log line: secrets masked, control characters escaped.

- `mask_secrets(text)`: credentials in any form masked with `***`: the password of a URL's
  userinfo (`scheme://user:pw@host`), query parameters and `key=value` / `"key": "value"`
  pairs whose name says secret (password, sslpassword, passwd, pwd, passphrase, secret,
  token, access_token, api_key, apikey, signature, session id, credential...),
  `Authorization` headers and Mailchimp API keys.
- `mask_url(url)`: one URL with its credentials masked (for messages that show a URL).
- `escape_controls(text)`: control characters (newline, carriage return, escape, NUL, the
  C1 range, line and paragraph separators, bidi overrides) written as `\\n`, `\\x1b`,
  `\\u2028`..., so no value can start a new log line or hide text.
- `install()`: every log record of the process gets both: each argument that is text is
  escaped (the message's own format string keeps its newlines; a `LogText` argument, text
  already escaped field by field such as the run summary, is kept), then the whole message
  and any traceback are masked. Installed once, by the plugin, on the log record factory, so
  it covers every logger and handler (the SDK's included).
"""

from __future__ import annotations

import logging
import re
from typing import Any

MASK = "***"

_SECRET_NAME = (
    r"[\w.-]*(?:password|passwd|passphrase|pwd|secret|token|api[_-]?key|apikey|"  # noqa: S105
    r"sessionid|session_id|credential|signature)[\w.-]*"
)
_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # Mailchimp API keys: 32 hex digits, '-', data center.
    (re.compile(r"\b[0-9a-fA-F]{32}-[a-z]{2,4}[0-9]{1,3}\b"), MASK),
    # Authorization headers (Basic / Bearer / OAuth tokens).
    (re.compile(r"(?i)\b(authorization\s*[:=]\s*)(\w+\s+)?[^\s,;\"']+"), r"\1" + MASK),
    # The password of a URL's userinfo: scheme://user:password@host.
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]*:)[^@\s/]+@"), r"\1" + MASK + "@"),
    # Query parameters and key=value / "key": "value" pairs with a secret's name.
    (
        re.compile(
            rf"(?i)(?<![\w.-])({_SECRET_NAME})(\"?\s*[:=]\s*\"?)(?!\*\*\*|\[redacted\])[^\s,;\"'&<>)]+"
        ),
        r"\1\2" + MASK,
    ),
)

_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def mask_secrets(text: str) -> str:
    """`text` with every credential masked (see module docstring)."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def mask_url(url: str) -> str:
    """One URL with its credentials (userinfo password, secret query values) masked."""
    return mask_secrets(url)


def _escape_one(match: re.Match[str]) -> str:
    char = match.group()
    if char == "\n":
        return "\\n"
    if char == "\r":
        return "\\r"
    if char == "\t":
        return "\\t"
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape_controls(text: str) -> str:
    """`text` with control characters escaped (see module docstring)."""
    return _CONTROLS.sub(_escape_one, text)


class LogText(str):
    """Text escaped field by field already (its own newlines separate its lines)."""

    __slots__ = ()


def _safe_arg(arg: Any) -> Any:
    if arg is None or isinstance(arg, LogText | int | float | bool):
        return arg
    if isinstance(arg, str):
        return escape_controls(arg)
    if isinstance(arg, BaseException):
        return escape_controls(str(arg))
    return arg


_state = {"installed": False}


def _clean(record: logging.LogRecord) -> None:
    try:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(_safe_arg(a) for a in record.args)
        elif isinstance(record.args, dict) and record.args:
            record.args = {k: _safe_arg(v) for k, v in record.args.items()}
        elif (
            not record.args and isinstance(record.msg, str) and not isinstance(record.msg, LogText)
        ):
            record.msg = escape_controls(record.msg)
        message = record.getMessage()
    except Exception:  # a bad format string: leave it to logging's own error report
        return
    masked = mask_secrets(message)
    if masked != message or record.args:
        record.msg = LogText(masked)
        record.args = None
    if record.exc_info and record.exc_info[0] is not None:
        record.exc_text = mask_secrets(logging.Formatter().formatException(record.exc_info))


def install() -> None:
    """Clean every log record of this process (see module docstring); idempotent."""
    if _state["installed"]:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        _clean(record)
        return record

    logging.setLogRecordFactory(factory)
    _state["installed"] = True
