"""Filters, ordering and visibility for `query`, `readByQuery` and `read`.

`query` filters arrive as XML (`<filter><and>...`), `readByQuery` filters as a query string
(`STATUS = 'active' AND WHENMODIFIED >= '01/31/2024 13:00:00'`). Both compile into a
predicate over a record's typed values. Operand text is parsed by the field's data type:
dates and timestamps (`MM/DD/YYYY[ HH:MM:SS]`) compare as datetimes (a DATE field is midnight
of its day), DECIMAL as Decimal, INTEGER as int, BOOLEAN as bool, text as text.

Nulls follow SQL: a null field matches only `isnull` (not `notequalto`, `notin`, ...).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from lxml import etree

from tests.sandbox.intacct.data import Record
from tests.sandbox.intacct.objects import (
    ENUM,
    TEXT,
    FieldDef,
    ObjectDef,
    ValueFormatError,
    comparable,
    format_value,
    parse_filter_value,
)

Predicate = Callable[[dict[str, Any]], bool]

OPERATORS = (
    "equalto",
    "notequalto",
    "lessthan",
    "lessthanorequalto",
    "greaterthan",
    "greaterthanorequalto",
    "between",
    "in",
    "notin",
    "like",
    "notlike",
    "isnull",
    "isnotnull",
)


class QueryError(Exception):
    """A function-level failure: errorno plus texts for the `<error>` element."""

    def __init__(
        self, errorno: str, description2: str = "", description: str = "", correction: str = ""
    ) -> None:
        super().__init__(f"{errorno} {description} {description2}".strip())
        self.errorno = errorno
        self.description = description
        self.description2 = description2
        self.correction = correction


def resolve_field(odef: ObjectDef, name: str, where: str) -> FieldDef:
    fdef = odef.resolve(name or "")
    if fdef is None:
        raise QueryError(
            "Query Failed",
            f"Invalid field '{(name or '').strip()}' in {where} for object {odef.name}",
        )
    return fdef


def visible(values: dict[str, Any], location: str, showprivate: bool) -> bool:
    """Multi-entity visibility of a record for a session at `location` ('' = top level)."""
    owner = values.get("MEGAENTITYID")
    if not owner:
        return True
    if location:
        return bool(owner == location)
    return showprivate


def like_regex(pattern: str, caseinsensitive: bool) -> re.Pattern[str]:
    parts = []
    for ch in pattern:
        if ch == "%":
            parts.append(".*")
        elif ch == "_":
            parts.append(".")
        else:
            parts.append(re.escape(ch))
    flags = re.DOTALL | (re.IGNORECASE if caseinsensitive else 0)
    return re.compile("".join(parts), flags)


def make_predicate(
    fdef: FieldDef, op: str, operands: list[str], caseinsensitive: bool
) -> Predicate:
    """Predicate for one comparison `fdef op operands` (op is one of OPERATORS)."""
    fid = fdef.id
    if op == "isnull":
        return lambda v: v.get(fid) is None
    if op == "isnotnull":
        return lambda v: v.get(fid) is not None
    is_text = fdef.datatype in (TEXT, ENUM)
    if op in ("like", "notlike"):
        rx = like_regex(operands[0], caseinsensitive)
        if is_text:

            def as_text(x: Any) -> str:
                return str(x)
        else:
            dtp = fdef.datatype

            def as_text(x: Any) -> str:
                return format_value(dtp, x)

        want = op == "like"

        def like_pred(v: dict[str, Any]) -> bool:
            x = v.get(fid)
            if x is None:
                return False
            return (rx.fullmatch(as_text(x)) is not None) is want

        return like_pred

    base_key = comparable(fdef.datatype)
    fold = is_text and caseinsensitive

    def key(x: Any) -> Any:
        k = base_key(x)
        return k.casefold() if fold else k

    try:
        vals = [parse_filter_value(fdef.datatype, t) for t in operands]
    except ValueFormatError as exc:
        raise QueryError(
            "Query Failed", f"Invalid value for field {fid}: {exc}", correction=""
        ) from None
    if fold:
        vals = [x.casefold() for x in vals]

    if op in ("in", "notin"):
        wanted = set(vals)
        inside = op == "in"

        def in_pred(v: dict[str, Any]) -> bool:
            x = v.get(fid)
            if x is None:
                return False
            return (key(x) in wanted) is inside

        return in_pred
    if op == "between":
        lo, hi = vals[0], vals[1]

        def between_pred(v: dict[str, Any]) -> bool:
            x = v.get(fid)
            return x is not None and lo <= key(x) <= hi

        return between_pred
    target = vals[0]
    compare: Callable[[Any, Any], bool] = {
        "equalto": lambda a, b: a == b,
        "notequalto": lambda a, b: a != b,
        "lessthan": lambda a, b: a < b,
        "lessthanorequalto": lambda a, b: a <= b,
        "greaterthan": lambda a, b: a > b,
        "greaterthanorequalto": lambda a, b: a >= b,
    }[op]

    def cmp_pred(v: dict[str, Any]) -> bool:
        x = v.get(fid)
        return x is not None and compare(key(x), target)

    return cmp_pred


# -- `query` XML filters ------------------------------------------------------------------


def compile_filter(odef: ObjectDef, node: etree._Element, caseinsensitive: bool) -> Predicate:
    """Predicate of the single child of `<filter>` (or of an `<and>`/`<or>` node)."""
    tag = node.tag
    if tag in ("and", "or"):
        parts = [compile_filter(odef, child, caseinsensitive) for child in node]
        if tag == "and":
            return lambda v: all(p(v) for p in parts)
        return lambda v: any(p(v) for p in parts)
    if tag not in OPERATORS:
        raise QueryError("Query Failed", f"Unknown filter operator {tag}")
    fdef = resolve_field(odef, node.findtext("field") or "", "filter")
    operands = [(x.text or "") for x in node.findall("value")]
    return make_predicate(fdef, str(tag), operands, caseinsensitive)


def compile_orderby(odef: ObjectDef, node: etree._Element | None) -> list[tuple[FieldDef, bool]]:
    """[(field, descending)] of an `<orderby>` element."""
    if node is None:
        return []
    out = []
    for order in node.findall("order"):
        fdef = resolve_field(odef, order.findtext("field") or "", "orderby")
        out.append((fdef, order.find("descending") is not None))
    return out


def sort_records(records: list[Record], orders: list[tuple[FieldDef, bool]]) -> list[Record]:
    """Stable multi-key sort. Nulls sort last ascending and first descending (Oracle)."""
    out = list(records)
    for fdef, desc in reversed(orders):
        fid = fdef.id
        base = comparable(fdef.datatype)

        def key(r: Record, fid: str = fid, base: Callable[[Any], Any] = base) -> tuple[int, Any]:
            x = r.values.get(fid)
            return (1, 0) if x is None else (0, base(x))

        out.sort(key=key, reverse=desc)
    return out


# -- `readByQuery` query strings ----------------------------------------------------------

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<str>'(?:\\.|[^'\\])*')
      | (?P<num>-?\d+(?:\.\d+)?)
      | (?P<op><=|>=|<>|!=|=|<|>)
      | (?P<punct>[(),])
      | (?P<word>[A-Za-z_][A-Za-z0-9_.]*)
    )""",
    re.VERBOSE,
)
_CMP = {
    "=": "equalto",
    "!=": "notequalto",
    "<>": "notequalto",
    "<": "lessthan",
    "<=": "lessthanorequalto",
    ">": "greaterthan",
    ">=": "greaterthanorequalto",
}


def _tokenize(text: str) -> list[tuple[str, str]]:
    pos = 0
    out: list[tuple[str, str]] = []
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise QueryError("Query Failed", f"Invalid query near '{text[pos : pos + 20]}'")
        kind = m.lastgroup or ""
        val = m.group(kind)
        if kind == "str":
            val = re.sub(r"\\(.)", r"\1", val[1:-1])
        out.append((kind, val))
        pos = m.end()
    return out


class _Parser:
    def __init__(self, odef: ObjectDef, tokens: list[tuple[str, str]]) -> None:
        self.odef = odef
        self.toks = tokens
        self.i = 0

    def peek_word(self, *words: str) -> bool:
        if self.i < len(self.toks):
            kind, val = self.toks[self.i]
            return kind == "word" and val.upper() in words
        return False

    def take(self) -> tuple[str, str]:
        if self.i >= len(self.toks):
            raise QueryError("Query Failed", "Invalid query: unexpected end of query")
        tok = self.toks[self.i]
        self.i += 1
        return tok

    def expect_punct(self, p: str) -> None:
        kind, val = self.take()
        if kind != "punct" or val != p:
            raise QueryError("Query Failed", f"Invalid query: expected '{p}' near '{val}'")

    def value(self) -> str:
        kind, val = self.take()
        if kind not in ("str", "num"):
            raise QueryError("Query Failed", f"Invalid query: expected a value near '{val}'")
        return val

    def expr(self) -> Predicate:
        parts = [self.term()]
        while self.peek_word("OR"):
            self.i += 1
            parts.append(self.term())
        if len(parts) == 1:
            return parts[0]
        return lambda v: any(p(v) for p in parts)

    def term(self) -> Predicate:
        parts = [self.factor()]
        while self.peek_word("AND"):
            self.i += 1
            parts.append(self.factor())
        if len(parts) == 1:
            return parts[0]
        return lambda v: all(p(v) for p in parts)

    def factor(self) -> Predicate:
        if self.peek_word("NOT"):
            self.i += 1
            inner = self.factor()
            return lambda v: not inner(v)
        if self.i < len(self.toks) and self.toks[self.i] == ("punct", "("):
            self.i += 1
            inner = self.expr()
            self.expect_punct(")")
            return inner
        kind, name = self.take()
        if kind != "word":
            raise QueryError("Query Failed", f"Invalid query: expected a field name near '{name}'")
        fdef = resolve_field(self.odef, name, "query")
        negate = False
        if self.peek_word("NOT"):
            self.i += 1
            negate = True
        kind, op = self.take()
        if kind == "op" and not negate:
            return make_predicate(fdef, _CMP[op], [self.value()], False)
        word = op.upper() if kind == "word" else ""
        if word == "LIKE":
            return make_predicate(fdef, "notlike" if negate else "like", [self.value()], False)
        if word == "IN":
            self.expect_punct("(")
            vals = [self.value()]
            while self.i < len(self.toks) and self.toks[self.i] == ("punct", ","):
                self.i += 1
                vals.append(self.value())
            self.expect_punct(")")
            return make_predicate(fdef, "notin" if negate else "in", vals, False)
        if word == "IS" and not negate:
            isnot = self.peek_word("NOT")
            if isnot:
                self.i += 1
            k2, v2 = self.take()
            if k2 == "word" and v2.upper() == "NULL":
                return make_predicate(fdef, "isnotnull" if isnot else "isnull", [], False)
        raise QueryError("Query Failed", f"Invalid query: unexpected '{op}' after {fdef.id}")


def parse_query_string(odef: ObjectDef, text: str | None) -> Predicate | None:
    """Predicate of a readByQuery query string; None for an empty query (all records)."""
    if text is None or not text.strip():
        return None
    parser = _Parser(odef, _tokenize(text))
    pred = parser.expr()
    if parser.i != len(parser.toks):
        raise QueryError("Query Failed", f"Invalid query: unexpected '{parser.toks[parser.i][1]}'")
    return pred


def resolve_field_list(odef: ObjectDef, names: Iterable[str]) -> tuple[list[str], list[str]]:
    """(canonical ids, unknown names) of a select or fields list; duplicates dropped."""
    ids: list[str] = []
    bad: list[str] = []
    for raw in names:
        name = raw.strip()
        if not name:
            continue
        fdef = odef.resolve(name)
        if fdef is None:
            bad.append(name)
        elif fdef.id not in ids:
            ids.append(fdef.id)
    return ids, bad
