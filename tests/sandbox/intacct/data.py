"""The sandbox company: records of CUSTOMER, VENDOR, APBILL, APBILLITEM, APPYMT, APPYMTDETAIL.

`generate_company(seed=...)` builds a deterministic company (same seed and sizes -> same
data, whatever the wall clock). `Company` is mutable while a sandbox serves it, so tests can
change data in the middle of a run (`touch`, `add`, `update`, `delete`); every change moves
WHENMODIFIED (unless asked not to) and bumps `company.version`.

Stored values are typed (int, Decimal, bool, date, naive datetime, str, None for null). Text
keeps whatever the generator or a test put in, including characters XML cannot carry; the
sandbox strips those when it serializes (see xmltext.py). `records(obj)` returns the wire
strings exactly as the sandbox sends them (sanitized, '' for null), `records(obj,
typed=True)` the stored values.

Special records (odd text, shared emails, every bill state, money no float holds, ...) are
listed in `company.special`; see `generate_company` for the keys.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import random
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from tests.sandbox.intacct import xmltext
from tests.sandbox.intacct.clock import SandboxClock
from tests.sandbox.intacct.objects import (
    AP_OBJECTS,
    BILL_STATES,
    DATE,
    ENUM,
    OBJECTS,
    PAYMENT_METHODS,
    TEXT,
    TIMESTAMP,
    ObjectDef,
    coerce_value,
    format_value,
)

DEFAULT_ENTITY_NAMES = {"E100": "US East", "E200": "Europe", "E300": "Asia Pacific"}
BASE_CURRENCY = "USD"
# Base-currency value of one unit of each transaction currency.
EXCHANGE_RATES = {
    "USD": Decimal("1"),
    "EUR": Decimal("1.0850"),
    "GBP": Decimal("1.2700"),
    "CAD": Decimal("0.7400"),
    "AUD": Decimal("0.6600"),
}
CENT = Decimal("0.01")


class Record:
    """One stored record. Replaced (never edited in place) on update, so readers holding a
    reference keep a consistent snapshot; `frags` caches rendered XML per field list."""

    __slots__ = ("frags", "values")

    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values
        self.frags: dict[tuple[str, ...], str] = {}

    def get(self, field: str) -> Any:
        return self.values.get(field)


class UnknownRecordError(KeyError):
    """No record with that RECORDNO."""


class Company:
    """A mutable, thread-safe set of records for the sandbox to serve.

    entities: entity id -> entity name (the top level is '' and is not listed).
    clock: used for WHENMODIFIED of changed records (shared with the sandbox by default).
    """

    def __init__(
        self,
        *,
        entities: Mapping[str, str] | None = None,
        clock: SandboxClock | None = None,
        base_currency: str = BASE_CURRENCY,
    ) -> None:
        self.clock = clock or SandboxClock()
        self.entities: dict[str, str] = dict(entities or {})
        self.entity_keys: dict[str, int] = {e: 10 + i for i, e in enumerate(self.entities)}
        self.base_currency = base_currency
        self.special: dict[str, Any] = {}
        # Keep each record's rendered XML for reuse (faster repeat reads, more memory; turn
        # off for one-pass benchmarks over very large companies).
        self.cache_fragments = True
        self.version = 0
        self.versions: dict[str, int] = dict.fromkeys(OBJECTS, 0)
        self._lock = threading.RLock()
        self._tables: dict[str, dict[int, Record]] = {name: {} for name in OBJECTS}
        self._next: dict[str, int] = dict.fromkeys(OBJECTS, 1)
        self._children: dict[tuple[str, str], dict[int, list[int]]] = {
            ("APBILLITEM", "RECORDKEY"): defaultdict(list),
            ("APPYMTDETAIL", "PAYMENTKEY"): defaultdict(list),
            ("ARINVOICEITEM", "RECORDKEY"): defaultdict(list),
            ("ARPYMTDETAIL", "PAYMENTKEY"): defaultdict(list),
        }
        self._child_key = {obj: (obj, key) for obj, key in self._children}
        self._renderers: dict[tuple[str, tuple[str, ...]], list[Any]] = {}

    # -- reading -------------------------------------------------------------------------

    @staticmethod
    def definition(obj: str) -> ObjectDef:
        return OBJECTS[obj.upper()]

    def count(self, obj: str) -> int:
        return len(self._tables[obj.upper()])

    def recordnos(self, obj: str) -> list[int]:
        with self._lock:
            return list(self._tables[obj.upper()])

    def snapshot(self, obj: str) -> list[Record]:
        """All current Record objects of `obj` in RECORDNO order (internal use)."""
        with self._lock:
            return list(self._tables[obj.upper()].values())

    def record(self, obj: str, recordno: int) -> Record:
        try:
            return self._tables[obj.upper()][int(recordno)]
        except KeyError:
            raise UnknownRecordError(f"{obj} {recordno} does not exist") from None

    def get(self, obj: str, recordno: int, *, typed: bool = False) -> dict[str, Any] | None:
        """One record as a dict of every field (wire strings, or typed values), or None."""
        rec = self._tables[obj.upper()].get(int(recordno))
        if rec is None:
            return None
        return self._as_dict(obj.upper(), rec, typed)

    def records(
        self,
        obj: str,
        *,
        typed: bool = False,
        where: Callable[[dict[str, Any]], bool] | None = None,
    ) -> list[dict[str, Any]]:
        """Every record of `obj` in RECORDNO order, each a dict of all its fields.

        typed=False: wire strings as the sandbox serializes them ('' for null, text
        sanitized). typed=True: stored Python values (None for null, raw text).
        `where` filters on the typed values.
        """
        name = obj.upper()
        out = []
        for rec in self.snapshot(name):
            if where is not None and not where(rec.values):
                continue
            out.append(self._as_dict(name, rec, typed))
        return out

    def find(self, obj: str, **equals: Any) -> list[int]:
        """RECORDNOs whose typed values equal all of `equals` (e.g. CUSTOMERID='C00001')."""
        return [
            rec.values["RECORDNO"]
            for rec in self.snapshot(obj)
            if all(rec.values.get(k) == v for k, v in equals.items())
        ]

    def lines(self, bill_recordno: int, *, typed: bool = False) -> list[dict[str, Any]]:
        """APBILLITEM records of one bill, in LINE_NO order."""
        return self._children_of("APBILLITEM", "RECORDKEY", bill_recordno, typed)

    def payment_details(
        self, payment_recordno: int, *, typed: bool = False
    ) -> list[dict[str, Any]]:
        """APPYMTDETAIL records of one payment."""
        return self._children_of("APPYMTDETAIL", "PAYMENTKEY", payment_recordno, typed)

    def invoice_lines(self, invoice_recordno: int, *, typed: bool = False) -> list[dict[str, Any]]:
        """ARINVOICEITEM records of one invoice, in insertion (LINE_NO) order."""
        return self._children_of("ARINVOICEITEM", "RECORDKEY", invoice_recordno, typed)

    def ar_payment_details(
        self, payment_recordno: int, *, typed: bool = False
    ) -> list[dict[str, Any]]:
        """ARPYMTDETAIL records of one AR payment."""
        return self._children_of("ARPYMTDETAIL", "PAYMENTKEY", payment_recordno, typed)

    def deletions(self, obj: str | None = None) -> list[dict[str, Any]]:
        """AUDITHISTORY rows of deletions (typed), optionally of one object, oldest first."""
        kind = obj.lower() if obj else None
        return self.records(
            "AUDITHISTORY",
            typed=True,
            where=lambda v: (
                v.get("ACCESSMODE") == "D" and (kind is None or v.get("OBJECTTYPE") == kind)
            ),
        )

    def details_for_bill(self, bill_recordno: int, *, typed: bool = False) -> list[dict[str, Any]]:
        """APPYMTDETAIL records that pay one bill (any payment state)."""
        return self.records(
            "APPYMTDETAIL", typed=typed, where=lambda v: v.get("RECORDKEY") == bill_recordno
        )

    def _children_of(self, obj: str, key: str, parent: int, typed: bool) -> list[dict[str, Any]]:
        with self._lock:
            nos = list(self._children[(obj, key)].get(int(parent), []))
            recs = [self._tables[obj][n] for n in nos if n in self._tables[obj]]
        return [self._as_dict(obj, r, typed) for r in recs]

    def _as_dict(self, obj: str, rec: Record, typed: bool) -> dict[str, Any]:
        odef = OBJECTS[obj]
        vals = rec.values
        if typed:
            return {f.id: vals.get(f.id) for f in odef.fields}
        out = {}
        for f in odef.fields:
            v = vals.get(f.id)
            if v is None:
                out[f.id] = ""
            elif f.datatype in (TEXT, ENUM):
                out[f.id] = xmltext.sanitize(str(v))
            else:
                out[f.id] = format_value(f.datatype, v)
        return out

    # -- rendering -----------------------------------------------------------------------

    def render(self, obj: str, rec: Record, fields: tuple[str, ...]) -> str:
        """XML fragment of `fields` of a record (children only, no wrapper), cached."""
        frag = rec.frags.get(fields)
        if frag is not None:
            return frag
        spec = self._renderers.get((obj, fields))
        if spec is None:
            spec = self._renderer(obj, fields)
        vals = rec.values
        parts: list[str] = []
        append = parts.append
        for fid, empty, open_, close, fmt in spec:
            v = vals.get(fid)
            if v is None:
                append(empty)
            else:
                s = fmt(v)
                append(open_ + s + close if s else empty)
        frag = "".join(parts)
        if self.cache_fragments and len(rec.frags) < 8:
            rec.frags[fields] = frag
        return frag

    def _renderer(self, obj: str, fields: tuple[str, ...]) -> list[Any]:
        odef = OBJECTS[obj]
        spec = []
        for fid in fields:
            fmt = _FORMATTERS[odef.by_id[fid].datatype]
            spec.append((fid, f"<{fid}></{fid}>", f"<{fid}>", f"</{fid}>", fmt))
        self._renderers[(obj, fields)] = spec
        return spec

    # -- writing -------------------------------------------------------------------------

    def _bump(self, obj: str) -> None:
        self.version += 1
        self.versions[obj] += 1

    def entity_fields(self, entity: str | None) -> dict[str, Any]:
        """MEGAENTITYKEY/ID/NAME values for an entity id ('' or None = top level)."""
        if not entity:
            return {"MEGAENTITYKEY": None, "MEGAENTITYID": None, "MEGAENTITYNAME": None}
        if entity not in self.entities:
            raise ValueError(f"unknown entity {entity!r}; known: {sorted(self.entities)}")
        return {
            "MEGAENTITYKEY": self.entity_keys[entity],
            "MEGAENTITYID": entity,
            "MEGAENTITYNAME": self.entities[entity],
        }

    def _insert(self, obj: str, values: dict[str, Any]) -> int:
        """Store a complete typed record (generator fast path). Caller holds no lock."""
        table = self._tables[obj]
        recordno = values.get("RECORDNO")
        if recordno is None:
            recordno = self._next[obj]
            values["RECORDNO"] = recordno
        if recordno in table:
            raise ValueError(f"{obj} RECORDNO {recordno} already exists")
        if recordno >= self._next[obj]:
            self._next[obj] = recordno + 1
        table[recordno] = Record(values)
        index_key = self._child_key.get(obj)
        if index_key is not None:
            parent = values.get(index_key[1])
            if parent is not None:
                self._children[index_key][parent].append(recordno)
        return recordno

    def add(
        self,
        obj: str,
        values: Mapping[str, Any],
        *,
        when: dt.datetime | None = None,
        entity: str | None = None,
    ) -> int:
        """Create a record; returns its RECORDNO.

        `values`: field -> typed value or wire string (unknown fields raise). WHENMODIFIED
        (and WHENCREATED unless given) default to `when` or the clock's company time;
        `entity` ('' / None = top level) fills MEGAENTITYKEY/ID/NAME unless given.
        """
        name = obj.upper()
        odef = OBJECTS[name]
        stamp = when or self.clock.now_naive()
        rec: dict[str, Any] = {}
        for k, v in values.items():
            fdef = odef.resolve(k)
            if fdef is None:
                raise KeyError(f"{name} has no field {k}")
            rec[fdef.id] = coerce_value(fdef.datatype, v)
        if "MEGAENTITYID" not in rec:
            rec.update(self.entity_fields(entity))
        elif rec["MEGAENTITYID"] and "MEGAENTITYNAME" not in rec:
            rec.update(self.entity_fields(rec["MEGAENTITYID"]))
        rec.setdefault("WHENMODIFIED", stamp)
        created = odef.by_id["WHENCREATED"].datatype
        rec.setdefault("WHENCREATED", stamp if created == TIMESTAMP else stamp.date())
        with self._lock:
            recordno = self._insert(name, rec)
            self._bump(name)
        return recordno

    def update(
        self,
        obj: str,
        recordno: int,
        changes: Mapping[str, Any],
        *,
        when: dt.datetime | None = None,
        touch: bool = True,
    ) -> None:
        """Change fields of a record (typed values or wire strings). Moves WHENMODIFIED to
        `when` or the clock's company time unless touch=False or WHENMODIFIED is in changes."""
        name = obj.upper()
        odef = OBJECTS[name]
        with self._lock:
            old = self.record(name, recordno)
            values = dict(old.values)
            for k, v in changes.items():
                fdef = odef.resolve(k)
                if fdef is None:
                    raise KeyError(f"{name} has no field {k}")
                if fdef.id == "RECORDNO":
                    raise ValueError("RECORDNO cannot change")
                values[fdef.id] = coerce_value(fdef.datatype, v)
            if touch and not any(k.upper() == "WHENMODIFIED" for k in changes):
                values["WHENMODIFIED"] = when or self.clock.now_naive()
            self._tables[name][int(recordno)] = Record(values)
            for (child, key), index in self._children.items():
                if child == name and old.values.get(key) != values.get(key):
                    if old.values.get(key) is not None:
                        index[old.values[key]].remove(int(recordno))
                    if values.get(key) is not None:
                        index[values[key]].append(int(recordno))
            self._bump(name)

    def touch(self, obj: str, recordno: int, *, when: dt.datetime | None = None) -> None:
        """Move WHENMODIFIED only (to `when`, naive company time, or the clock's now)."""
        self.update(obj, recordno, {}, when=when)

    def delete(
        self,
        obj: str,
        recordno: int,
        *,
        audit: bool = True,
        when: dt.datetime | None = None,
        user: str = "Admin",
    ) -> None:
        """Remove a record (a WHENMODIFIED query will never show it again).

        As Intacct does, a deletion leaves an AUDITHISTORY row (ACCESSMODE 'D', OBJECTTYPE the
        lower-case object name, OBJECTKEY the RECORDNO, ACCESSTIME `when` or the clock's company
        time) unless audit=False (a rolled-back create is no deletion). Deleting a bill, invoice
        or payment also removes its lines or details (no audit rows of their own)."""
        name = obj.upper()
        with self._lock:
            old = self._tables[name].pop(int(recordno), None)
            if old is None:
                raise UnknownRecordError(f"{name} {recordno} does not exist")
            for (child, key), index in self._children.items():
                if child == name and old.values.get(key) is not None:
                    index[old.values[key]].remove(int(recordno))
            self._bump(name)
            child_key = _CASCADE.get(name)
            if child_key is not None:
                for child_no in list(self._children[child_key].get(int(recordno), [])):
                    self.delete(child_key[0], child_no, audit=False)
            if audit and name != "AUDITHISTORY":
                self.audit_row(
                    name,
                    int(recordno),
                    "D",
                    when=when,
                    user=user,
                    desc=old.values.get("RECORDID")
                    or old.values.get("NAME")
                    or old.values.get("CUSTOMERID")
                    or old.values.get("VENDORID"),
                )

    def audit_row(
        self,
        obj: str,
        recordno: int,
        mode: str,
        *,
        when: dt.datetime | None = None,
        user: str = "Admin",
        desc: Any = None,
    ) -> int:
        """Write one AUDITHISTORY row (the audit trail of `obj` RECORDNO `recordno`)."""
        stamp = (when or self.clock.now_naive()).replace(tzinfo=None, microsecond=0)
        with self._lock:
            no = self._insert(
                "AUDITHISTORY",
                {
                    "OBJECTTYPE": obj.lower(),
                    "OBJECTKEY": str(recordno),
                    "OBJECTDESC": None if desc is None else str(desc),
                    "USERID": user,
                    "ACCESSTIME": stamp,
                    "ACCESSMODE": mode,
                    "IPADDRESS": "127.0.0.1",
                    "SOURCE": "ui",
                    "WORKFLOWACTION": {"D": "delete", "C": "create"}.get(mode, "update"),
                },
            )
            self._bump("AUDITHISTORY")
        return no

    def whenmodified_range(self, obj: str) -> tuple[dt.datetime, dt.datetime] | None:
        """(min, max) of non-null WHENMODIFIED values of `obj`."""
        vals = [
            r.values["WHENMODIFIED"]
            for r in self.snapshot(obj)
            if r.values.get("WHENMODIFIED") is not None
        ]
        return (min(vals), max(vals)) if vals else None


#: Deleting a header deletes its children: header -> (child object, child's parent key).
_CASCADE = {
    "APBILL": ("APBILLITEM", "RECORDKEY"),
    "APPYMT": ("APPYMTDETAIL", "PAYMENTKEY"),
    "ARINVOICE": ("ARINVOICEITEM", "RECORDKEY"),
    "ARPYMT": ("ARPYMTDETAIL", "PAYMENTKEY"),
}


def _memo(fn: Callable[[Any], str], limit: int = 200_000) -> Callable[[Any], str]:
    """Memoize a formatter over hashable values (dates, repeated strings)."""
    cache: dict[Any, str] = {}

    def fmt(value: Any) -> str:
        out = cache.get(value)
        if out is None:
            if len(cache) >= limit:
                cache.clear()
            out = cache[value] = fn(value)
        return out

    return fmt


def _fmt_date(v: Any) -> str:
    return f"{v.month:02d}/{v.day:02d}/{v.year:04d}"


def _fmt_timestamp(v: Any) -> str:
    return f"{v.month:02d}/{v.day:02d}/{v.year:04d} {v.hour:02d}:{v.minute:02d}:{v.second:02d}"


def _fmt_decimal(v: Any) -> str:
    return format(v, "f") if isinstance(v, Decimal) else format_value("DECIMAL", v)


_FORMATTERS: dict[str, Callable[[Any], str]] = {
    "TEXT": _memo(lambda v: xmltext.text(str(v))),
    "ENUM": _memo(lambda v: xmltext.text(str(v))),
    "INTEGER": str,
    "DECIMAL": _fmt_decimal,
    "BOOLEAN": lambda v: "true" if v else "false",
    "DATE": _memo(_fmt_date),
    "TIMESTAMP": _memo(_fmt_timestamp),
}


# =============================================================================================
# Generator
# =============================================================================================

_FIRST = [
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
    "Amara",
    "Chen",
    "Olga",
    "Yusuf",
    "Priya",
]
_LAST = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Okafor",
    "Nakamura",
    "Ivanova",
]
_WORDS = [
    "Acme",
    "Globex",
    "Initech",
    "Umbrella",
    "Stark",
    "Wayne",
    "Wonka",
    "Tyrell",
    "Cyberdyne",
    "Soylent",
    "Hooli",
    "Vandelay",
    "Pied",
    "Piper",
    "Massive",
    "Dynamic",
    "Gringotts",
    "Oscorp",
    "Duff",
    "Monarch",
    "Blue",
    "Sun",
    "Nakatomi",
    "Virtucon",
]
_SUFFIX = ("LLC", "Inc.", "Ltd", "GmbH", "S.A.", "Co.", "Partners", "Group")
_CITIES = (
    ("San Jose", "CA", "95113", "United States", "US"),
    ("Austin", "TX", "73301", "United States", "US"),
    ("New York", "NY", "10001", "United States", "US"),
    ("Toronto", "ON", "M5H 2N2", "Canada", "CA"),
    ("London", "", "EC1A 1BB", "United Kingdom", "GB"),
    ("Berlin", "", "10115", "Germany", "DE"),
    ("Sydney", "NSW", "2000", "Australia", "AU"),
)
_DOMAINS = ("example.com", "example.org", "example.net", "mail.example.com")
_ACCOUNTS = (
    ("6000", "Office Supplies"),
    ("6100", "Rent Expense"),
    ("6200", "Utilities"),
    ("6300", "Professional Fees"),
    ("6400", "Travel & Entertainment"),
    ("6500", "Software Subscriptions"),
    ("6600", "Repairs <Maintenance>"),
)
_DEPTS = ("D100", "D200", "D300", None)
_LOCS = ("L-SJ", "L-NY", "L-LON", None)
_CLASSES = ("C-OPS", "C-SALES", None)
_PROJECTS = ("P-ALPHA", "P-BETA", None, None)
_BANKS = ("BOA-CHK", "CHASE-OP", "AMEX-CARD")
_BILL_DESCRIPTIONS = ("Monthly services", "Supplies order", "Consulting & advisory", None)
_BILL_STATE_WEIGHTS = {
    "Analyzing": 2,
    "Draft": 8,
    "Submitted": 5,
    "Partially approved": 3,
    "Declined": 3,
    "Posted": 25,
    "Selected": 6,
    "Partially Paid": 12,
    "Paid": 25,
    "Reversed": 3,
    "Reversal": 3,
    "No value": 1,
}
_POSTED_STATES = frozenset({"Posted", "Selected", "Partially Paid", "Paid", "Reversed", "Reversal"})
SHARED_EMAIL = "shared.contact@example.com"
_ODD_NAMES = {
    "control_chars": "Ctrl\x01Char\x0bSupplies\ufffe Inc.",
    "markup": "Smith & Sons <\"Best\"> 'Widgets' Ltd",
    "cyrillic": "ООО «Ромашка»",
    "cjk": "株式会社山田商事",
    "arabic": "شركة النور للتجارة",
    "emoji": "Sunshine Café ☀️🍩 Co.",
}


def _money(cents: int) -> Decimal:
    return Decimal(cents).scaleb(-2)


def _base(trx: Decimal, currency: str) -> Decimal:
    if currency == BASE_CURRENCY:
        return trx
    return (trx * EXCHANGE_RATES[currency]).quantize(CENT, rounding=ROUND_HALF_UP)


def generate_company(
    seed: int = 1,
    *,
    customers: int = 200,
    vendors: int = 100,
    bills: int = 500,
    payments: int = 300,
    lines_per_bill: tuple[int, int] = (1, 4),
    entities: Iterable[str] = ("", "E100", "E200"),
    window_end: dt.datetime = dt.datetime(2024, 6, 28, 17, 0, 0),
    window_days: int = 365,
    same_timestamp_run: int = 350,
    empty_whenmodified: int = 2,
    clock: SandboxClock | None = None,
    invoices: int = 0,
    ar_payments: int = 0,
    deletions: int = 0,
) -> Company:
    """Build a deterministic company.

    Same arguments -> same records (the wall clock plays no part). WHENMODIFIED values are
    naive company-time timestamps spread over `window_days` days before `window_end`.
    `entities` lists owners of records: '' is the top level, others are entity ids
    (E100, E200, ...); records are spread over them.

    `company.special` (keys present when the sizes leave room for them; all of them exist
    with customers>=20, vendors>=16, bills>=40, payments>=10):

    - names[obj][kind] -> RECORDNO, obj in CUSTOMER/VENDOR, kind in control_chars
      (\\x01, \\x0b, U+FFFE in NAME), markup (& < > " '), cyrillic, cjk, arabic, emoji.
    - no_email[obj], messy_email[obj] (capitals and surrounding spaces), invalid_email[obj],
      inactive[obj]: lists of RECORDNOs.
    - shared_email: {"email": ..., "CUSTOMER": [two RECORDNOs], "VENDOR": [one RECORDNO]}.
    - vendor_currencies: currency -> vendor RECORDNOs (USD, EUR, GBP, CAD, AUD).
    - bill_states: STATE -> one bill RECORDNO (every state of objects.BILL_STATES).
    - foreign_bills: bills whose CURRENCY is not the base currency (TRX_* differ).
    - bill_no_lines, zero_bill, negative_bill, small_money_bill (lines 0.10 + 0.20),
      huge_money_bill (12345678901234567.89): bill RECORDNOs.
    - full_payment, partial_payment, voided_payment, draft_payment, multi_bill_payment,
      orphan_payment: APPYMT RECORDNOs; split_payment: {"bill": n, "payments": [p1, p2]};
      orphan_bill_key: the missing APBILL RECORDNO that orphan_payment's detail points to.
    - empty_whenmodified[obj]: RECORDNOs whose WHENMODIFIED is null.
    - same_timestamp[obj] = {"when": datetime, "recordnos": [...]} for VENDOR and APBILL
      (up to `same_timestamp_run` records, at most half of them, share one WHENMODIFIED;
      their bill lines share it too).

    AR (own random stream, so the records above do not depend on these sizes):
    `invoices` ARINVOICE records with ARINVOICEITEM lines (revenue accounts 4xxx) of active
    customers; `ar_payments` ARPYMT records with ARPYMTDETAIL rows paying them (some settled
    partly by a discount, an inline credit, a credit memo or an advance; one voided).
    `deletions`: that many records each of CUSTOMER, VENDOR, APBILL, APPYMT, ARINVOICE and
    ARPYMT (those without dependants and not special) are deleted, each leaving an AUDITHISTORY
    'D' row in the last days of the window. Keys:

    - ar: {"invoice_states": STATE -> invoice RECORDNO, "discount_payment", "credit_payment",
      "advance_payment", "voided_payment", "partial_payment", "full_payment": ARPYMT RECORDNOs}.
    - deleted: {object: [RECORDNOs]}.

    Paid / Partially Paid bills are always covered by non-voided payments whose details sum
    to TOTALPAID; when `payments` runs short, the remaining ones become Posted. Voided and
    Draft payments do not change bill totals.
    """
    rng = random.Random(seed)
    ents = list(dict.fromkeys(entities))
    if "" not in ents:
        ents.insert(0, "")
    entity_names = {e: DEFAULT_ENTITY_NAMES.get(e, f"Entity {e}") for e in ents if e}
    company = Company(entities=entity_names, clock=clock)
    gen = _Generator(company, rng, ents, window_end - dt.timedelta(days=window_days), window_end)
    gen.master("CUSTOMER", customers, same_timestamp_run=0)
    gen.master("VENDOR", vendors, same_timestamp_run=same_timestamp_run)
    gen.bills(bills, lines_per_bill, same_timestamp_run)
    gen.payments(payments)
    gen.vendor_totals()
    gen.blank_whenmodified(empty_whenmodified)
    if invoices or ar_payments or deletions:
        # A random stream of its own: the records above stay exactly what they were before the
        # sandbox had AR and deletions.
        ar = _ARGenerator(gen, random.Random(f"ar-{seed}"))
        ar.invoices(invoices, lines_per_bill)
        ar.payments(ar_payments)
        if deletions:
            ar.deletions(deletions)
    company.version += 1
    return company


class _Generator:
    def __init__(
        self,
        company: Company,
        rng: random.Random,
        entities: list[str],
        start: dt.datetime,
        end: dt.datetime,
    ) -> None:
        self.c = company
        self.rng = rng
        self.entities = entities
        self.start = start
        self.end = end
        self.span = int((end - start).total_seconds())
        self.special = company.special
        self.entity_fields = {e: company.entity_fields(e) for e in entities}
        self.vendors_by_entity: dict[str, list[dict[str, Any]]] = defaultdict(list)
        self.bill_info: list[dict[str, Any]] = []

    def ts(self) -> dt.datetime:
        return self.start + dt.timedelta(seconds=int(self.rng.random() * self.span))

    def pick_entity(self) -> str:
        # About 60% top level, the rest spread over the entities.
        if len(self.entities) == 1 or self.rng.random() < 0.6:
            return ""
        return self.rng.choice(self.entities[1:])

    # -- customers and vendors -----------------------------------------------------------

    def master(self, obj: str, n: int, *, same_timestamp_run: int) -> None:
        rng = self.rng
        is_cust = obj == "CUSTOMER"
        prefix = "C" if is_cust else "V"
        specials: list[str] = [
            *(f"name:{k}" for k in _ODD_NAMES),
            "no_email",
            "no_email",
            "messy_email",
            "messy_email",
            "invalid_email",
            "shared_email",
            "inactive",
            "inactive",
        ]
        if is_cust:
            specials.append("shared_email")
        else:
            specials += ["cur:EUR", "cur:GBP", "cur:CAD", "cur:AUD"]
        slots = dict(zip(rng.sample(range(n), min(n, len(specials))), specials, strict=False))
        sp = self.special
        run = min(same_timestamp_run, n // 2)
        run_idx = set(rng.sample(range(n), run)) if run else set()
        run_when = self.start + dt.timedelta(seconds=int(self.span * 0.61))
        run_nos: list[int] = []
        for i in range(n):
            first = rng.choice(_FIRST)
            last = rng.choice(_LAST)
            name = f"{rng.choice(_WORDS)} {rng.choice(_WORDS)} {rng.choice(_SUFFIX)}"
            email: str | None = f"{first}.{last}.{i + 1}@{rng.choice(_DOMAINS)}".lower()
            city = rng.choice(_CITIES)
            status = "active" if rng.random() < 0.93 else "inactive"
            currency = "USD"
            if not is_cust and rng.random() < 0.2:
                currency = rng.choice(("EUR", "GBP", "CAD", "AUD"))
            entity = self.pick_entity()
            modified = self.ts()
            created = modified - dt.timedelta(seconds=rng.randrange(86400 * 400))
            kind = slots.get(i)
            if kind is not None:
                entity = ""  # special records are top-level so every session sees them
                if kind.startswith("name:"):
                    name = _ODD_NAMES[kind[5:]]
                elif kind == "no_email":
                    email = None
                elif kind == "messy_email":
                    email = f"  {first.upper()}.{last}.{i + 1}@Example.COM "
                elif kind == "invalid_email":
                    email = f"not-an-email-{i + 1}"
                elif kind == "shared_email":
                    email = SHARED_EMAIL
                    status = "active"
                elif kind == "inactive":
                    status = "inactive"
                elif kind.startswith("cur:"):
                    currency = kind[4:]
            if i in run_idx:
                modified = run_when
                created = min(created, modified)
            values: dict[str, Any] = {
                "NAME": name,
                "STATUS": status,
                "TERMNAME": rng.choice(("Net 30", "Net 15", "Due on receipt", None)),
                "ONHOLD": rng.random() < 0.05,
                "CURRENCY": currency,
                "TOTALDUE": _money(rng.randrange(0, 5_000_000)) if is_cust else Decimal("0.00"),
                "DISPLAYCONTACT.CONTACTNAME": f"{first} {last}",
                "DISPLAYCONTACT.COMPANYNAME": name,
                "DISPLAYCONTACT.FIRSTNAME": first,
                "DISPLAYCONTACT.LASTNAME": last,
                "DISPLAYCONTACT.PRINTAS": name,
                "DISPLAYCONTACT.EMAIL1": email,
                "DISPLAYCONTACT.EMAIL2": (
                    f"billing.{i + 1}@{rng.choice(_DOMAINS)}" if rng.random() < 0.15 else None
                ),
                "DISPLAYCONTACT.PHONE1": f"+1 555-01{rng.randrange(100):02d}",
                "DISPLAYCONTACT.PHONE2": None,
                "DISPLAYCONTACT.MAILADDRESS.ADDRESS1": f"{rng.randrange(1, 9999)} Main St",
                "DISPLAYCONTACT.MAILADDRESS.ADDRESS2": (
                    f"Suite {rng.randrange(100, 999)}" if rng.random() < 0.3 else None
                ),
                "DISPLAYCONTACT.MAILADDRESS.CITY": city[0],
                "DISPLAYCONTACT.MAILADDRESS.STATE": city[1] or None,
                "DISPLAYCONTACT.MAILADDRESS.ZIP": city[2],
                "DISPLAYCONTACT.MAILADDRESS.COUNTRY": city[3],
                "DISPLAYCONTACT.MAILADDRESS.COUNTRYCODE": city[4],
                "WHENCREATED": created,
                "WHENMODIFIED": modified,
                "CREATEDBY": rng.randrange(1, 6),
                "MODIFIEDBY": rng.randrange(1, 6),
                **self.entity_fields[entity],
            }
            if is_cust:
                values["CUSTOMERID"] = f"{prefix}{i + 1:05d}"
                values["CUSTTYPE"] = rng.choice(("Direct", "Reseller", "Government", None))
                values["REGION"] = rng.choice(("North America", "EMEA", "APAC", "LATAM", None))
                values["MARKETING_OPT_IN"] = rng.random() < 0.7
                values["CUSTOMER_SINCE"] = created.date()
            else:
                values["VENDORID"] = f"{prefix}{i + 1:05d}"
                values["VENDTYPE"] = rng.choice(("Supplier", "Contractor", "Utility", None))
                values["VENDOR_TIER"] = rng.choice(("Preferred", "Standard", "Probation", None))
                values["ONBOARDED_ON"] = created.date() if rng.random() < 0.8 else None
            recordno = self.c._insert(obj, values)
            if i in run_idx:
                run_nos.append(recordno)
            if not is_cust:
                self.vendors_by_entity[entity].append(values)
            if kind is None:
                if status == "inactive":
                    sp.setdefault("inactive", {}).setdefault(obj, []).append(recordno)
                continue
            if kind.startswith("name:"):
                sp.setdefault("names", {}).setdefault(obj, {})[kind[5:]] = recordno
            elif kind.startswith("cur:"):
                pass
            elif kind == "shared_email":
                sh = sp.setdefault("shared_email", {"email": SHARED_EMAIL})
                sh.setdefault(obj, []).append(recordno)
            else:
                sp.setdefault(kind, {}).setdefault(obj, []).append(recordno)
            if status == "inactive" and kind != "inactive":
                sp.setdefault("inactive", {}).setdefault(obj, []).append(recordno)
        if run_nos:
            sp.setdefault("same_timestamp", {})[obj] = {"when": run_when, "recordnos": run_nos}
        if not is_cust:
            by_cur: dict[str, list[int]] = {}
            for v in (r for lst in self.vendors_by_entity.values() for r in lst):
                by_cur.setdefault(v["CURRENCY"], []).append(v["RECORDNO"])
            sp["vendor_currencies"] = {k: sorted(v) for k, v in sorted(by_cur.items())}

    # -- bills and lines -----------------------------------------------------------------

    def bills(self, n: int, lines_per_bill: tuple[int, int], same_timestamp_run: int) -> None:
        rng = self.rng
        sp = self.special
        c = self.c
        all_vendors = [v for lst in self.vendors_by_entity.values() for v in lst]
        sp["foreign_bills"] = []
        if n == 0:
            return
        if not all_vendors:
            raise ValueError("bills need at least one vendor")
        usd_top = [v for v in self.vendors_by_entity.get("", []) if v["CURRENCY"] == "USD"]
        visible = {
            e: self.vendors_by_entity.get("", []) + (self.vendors_by_entity.get(e, []) if e else [])
            for e in self.entities
        }
        specials = [
            "multi_a",
            "multi_b",
            *(f"state:{s}" for s in BILL_STATES),
            "no_lines",
            "zero",
            "negative",
            "small_money",
            "huge_money",
            "split",
            "full",
            "partial",
            "foreign",
            "foreign",
        ]
        slots = dict(zip(rng.sample(range(n), min(n, len(specials))), specials, strict=False))
        states = list(_BILL_STATE_WEIGHTS)
        weights = list(_BILL_STATE_WEIGHTS.values())
        run = min(same_timestamp_run, n // 2)
        run_idx = set(rng.sample(range(n), run)) if run else set()
        run_when = self.start + dt.timedelta(seconds=int(self.span * 0.73))
        run_nos: list[int] = []
        multi_vendor = rng.choice(usd_top or all_vendors)
        lo, hi = lines_per_bill
        bill_no = 0
        foreign: list[int] = []
        r = rng.random
        n_accounts = len(_ACCOUNTS)
        insert = c._insert
        cum = list(itertools.accumulate(weights))
        total_w = cum[-1]
        for i in range(n):
            kind = slots.get(i)
            entity = self.pick_entity()
            state = states[bisect.bisect(cum, r() * total_w)]
            vlist = visible.get(entity) or all_vendors
            vendor = vlist[int(r() * len(vlist))]
            nlines = lo + int(r() * (hi - lo + 1))
            trx_lines: list[Decimal] = [_money(500 + int(r() * 1_999_500)) for _ in range(nlines)]
            if kind is not None:
                if kind in ("multi_a", "multi_b"):
                    vendor, state = multi_vendor, "Paid"
                    entity = vendor["MEGAENTITYID"] or ""
                elif kind.startswith("state:"):
                    state = kind[6:]
                elif kind == "no_lines":
                    trx_lines, state = [], "Draft"
                elif kind == "zero":
                    trx_lines, state = [Decimal("0.00")], "Posted"
                elif kind == "negative":
                    trx_lines, state = [Decimal("-125.50"), Decimal("-0.01")], "Posted"
                elif kind == "small_money":
                    trx_lines, state = [Decimal("0.10"), Decimal("0.20")], "Posted"
                elif kind == "huge_money":
                    trx_lines, state = [Decimal("12345678901234567.89")], "Posted"
                elif kind in ("split", "full"):
                    state = "Paid"
                    if kind == "split" and len(trx_lines) < 2:
                        trx_lines.append(_money(rng.randrange(500, 2_000_000)))
                elif kind == "partial":
                    state = "Partially Paid"
                elif kind == "foreign":
                    fv = [v for v in all_vendors if v["CURRENCY"] != "USD"]
                    if fv:
                        vendor = rng.choice(fv)
                        entity = vendor["MEGAENTITYID"] or ""
                if kind in ("small_money", "huge_money", "zero", "negative"):
                    vendor = rng.choice(usd_top or all_vendors)
                    entity = vendor["MEGAENTITYID"] or ""
            if state == "Reversal":
                trx_lines = [-x for x in trx_lines]
            currency = vendor["CURRENCY"]
            modified = run_when if i in run_idx else self.ts()
            bill_date = (modified - dt.timedelta(days=int(r() * 30))).date()
            bill_no += 1
            recordno = c._next["APBILL"]
            base_lines = [_base(x, currency) for x in trx_lines]
            total_trx = sum(trx_lines, Decimal("0.00"))
            total_base = sum(base_lines, Decimal("0.00"))
            posted = state in _POSTED_STATES
            bill: dict[str, Any] = {
                "RECORDNO": recordno,
                "RECORDID": f"INV-{bill_no:06d}",
                "STATE": state,
                "VENDORID": vendor["VENDORID"],
                "VENDORNAME": vendor["NAME"],
                "DESCRIPTION": _BILL_DESCRIPTIONS[int(r() * 4)],
                "WHENCREATED": bill_date,
                "WHENPOSTED": bill_date if posted else None,
                "WHENDUE": bill_date + dt.timedelta(days=30),
                "WHENPAID": None,
                "TOTALENTERED": total_base,
                "TOTALPAID": Decimal("0.00"),
                "TOTALDUE": (Decimal("0.00") if state in ("Reversed", "Reversal") else total_base),
                "TRX_TOTALENTERED": total_trx,
                "TRX_TOTALPAID": Decimal("0.00"),
                "TRX_TOTALDUE": (
                    Decimal("0.00") if state in ("Reversed", "Reversal") else total_trx
                ),
                "CURRENCY": currency,
                "BASECURR": BASE_CURRENCY,
                "WHENMODIFIED": modified,
                "CREATEDBY": 1 + int(r() * 5),
                "MODIFIEDBY": 1 + int(r() * 5),
                **self.entity_fields[entity],
            }
            insert("APBILL", bill)
            c._next["APPYMT"] = c._next["APBILL"]
            if i in run_idx:
                run_nos.append(recordno)
            if currency != BASE_CURRENCY:
                foreign.append(recordno)
            line_recs: list[dict[str, Any]] = []
            template = {
                "RECORDKEY": recordno,
                "CURRENCY": currency,
                "BASECURR": BASE_CURRENCY,
                "WHENCREATED": bill_date,
                "WHENMODIFIED": modified,
                "CREATEDBY": bill["CREATEDBY"],
                "MODIFIEDBY": bill["MODIFIEDBY"],
                **self.entity_fields[entity],
            }
            for ln, (trx, base) in enumerate(zip(trx_lines, base_lines, strict=True), start=1):
                acct = _ACCOUNTS[int(r() * n_accounts)]
                line = template.copy()
                line["LINE_NO"] = ln
                line["ACCOUNTNO"] = acct[0]
                line["ACCOUNTTITLE"] = acct[1]
                line["AMOUNT"] = base
                line["TRX_AMOUNT"] = trx
                line["DEPARTMENTID"] = _DEPTS[int(r() * 4)]
                line["LOCATIONID"] = _LOCS[int(r() * 4)]
                line["CLASSID"] = _CLASSES[int(r() * 3)]
                line["PROJECTID"] = _PROJECTS[int(r() * 4)]
                line["ENTRYDESCRIPTION"] = f"Line {ln} of INV-{bill_no:06d}"
                insert("APBILLITEM", line)
                line_recs.append(line)
            self.bill_info.append(
                {"bill": bill, "lines": line_recs, "kind": kind, "in_run": i in run_idx}
            )
            if kind is None:
                continue
            if kind.startswith("state:"):
                sp.setdefault("bill_states", {})[kind[6:]] = recordno
            elif kind in ("no_lines", "zero", "negative", "small_money", "huge_money"):
                sp[{"no_lines": "bill_no_lines"}.get(kind, f"{kind}_bill")] = recordno
        sp["foreign_bills"] = foreign
        if run_nos:
            sp.setdefault("same_timestamp", {})["APBILL"] = {"when": run_when, "recordnos": run_nos}
        # Any state the special slots could not hold still gets its first natural bill.
        states_map = sp.setdefault("bill_states", {})
        for info in self.bill_info:
            states_map.setdefault(info["bill"]["STATE"], info["bill"]["RECORDNO"])

    # -- payments ------------------------------------------------------------------------

    def payments(self, budget: int) -> None:
        rng = self.rng
        sp = self.special
        c = self.c
        order = {"multi_a": 0, "multi_b": 0, "split": 1, "full": 2, "partial": 3}
        payable = [b for b in self.bill_info if b["bill"]["STATE"] in ("Paid", "Partially Paid")]
        payable.sort(key=lambda b: order.get(b["kind"], 9))
        # Reserve room for the voided, draft and orphan payments.
        reserve = min(3, budget)
        left = budget - reserve
        multi = [b for b in payable if b["kind"] in ("multi_a", "multi_b")]
        done: set[int] = set()
        if len(multi) == 2 and left >= 1:
            pno = self._payment(multi, "Complete", full=True)
            sp["multi_bill_payment"] = pno
            left -= 1
            done.update(b["bill"]["RECORDNO"] for b in multi)
        for info in payable:
            bill = info["bill"]
            if bill["RECORDNO"] in done:
                continue
            if left <= 0:
                self._unpay(bill)
                continue
            state = rng.choices(("Complete", "Approved", "Delivered"), (8, 1, 1))[0]
            if bill["STATE"] == "Paid":
                split = (info["kind"] == "split" or rng.random() < 0.25) and len(info["lines"]) > 1
                if split and left >= 2:
                    k = (len(info["lines"]) + 1) // 2
                    p1 = self._payment([info], state, lines=info["lines"][:k])
                    p2 = self._payment([info], "Complete", lines=info["lines"][k:])
                    left -= 2
                    if info["kind"] == "split" or "split_payment" not in sp:
                        sp["split_payment"] = {"bill": bill["RECORDNO"], "payments": [p1, p2]}
                else:
                    pno = self._payment([info], state, full=True)
                    left -= 1
                    if info["kind"] == "full" or "full_payment" not in sp:
                        sp["full_payment"] = pno
            else:
                pno = self._payment([info], state, partial=True)
                left -= 1
                if info["kind"] == "partial" or "partial_payment" not in sp:
                    sp["partial_payment"] = pno
        # Unapplied payments on open bills: voided, draft, then more drafts if budget remains.
        open_bills = [
            b
            for b in self.bill_info
            if b["bill"]["STATE"] in ("Posted", "Selected")
            and b["lines"]
            and b["bill"]["TOTALENTERED"] > 0
        ]
        extra = ["Voided", "Draft"][:reserve] + ["Draft"] * max(0, left)
        orphan = reserve >= 3
        for k, st in enumerate(extra):
            if not open_bills:
                break
            info = open_bills[k % len(open_bills)]
            pno = self._payment([info], st, full=True, applied=False)
            key = "voided_payment" if st == "Voided" else "draft_payment"
            sp.setdefault(key, pno)
        if orphan:
            missing = c._next["APBILL"] + 100_000
            vendor = self.bill_info[0]["bill"] if self.bill_info else None
            pno = self._orphan_payment(missing, vendor)
            sp["orphan_payment"] = pno
            sp["orphan_bill_key"] = missing

    def _unpay(self, bill: dict[str, Any]) -> None:
        bill["STATE"] = "Posted"
        bill["TOTALPAID"] = Decimal("0.00")
        bill["TRX_TOTALPAID"] = Decimal("0.00")
        bill["TOTALDUE"] = bill["TOTALENTERED"]
        bill["TRX_TOTALDUE"] = bill["TRX_TOTALENTERED"]
        bill["WHENPAID"] = None

    def _payment(
        self,
        infos: list[dict[str, Any]],
        state: str,
        *,
        full: bool = False,
        partial: bool = False,
        lines: list[dict[str, Any]] | None = None,
        applied: bool = True,
    ) -> int:
        rng = self.rng
        c = self.c
        first = infos[0]["bill"]
        currency = first["CURRENCY"]
        pay_date = first["WHENCREATED"] + dt.timedelta(days=rng.randrange(1, 45))
        pay_date = min(pay_date, self.end.date())
        modified = max(
            dt.datetime(pay_date.year, pay_date.month, pay_date.day, 9)
            + dt.timedelta(seconds=rng.randrange(30000)),
            first["WHENMODIFIED"] or self.start,
        )
        modified = min(modified, self.end)
        recordno = c._next["APPYMT"]
        details: list[tuple[dict[str, Any], dict[str, Any], Decimal]] = []
        for info in infos:
            bill_lines = lines if lines is not None else info["lines"]
            if partial:
                bill_lines = info["lines"]
                total = info["bill"]["TRX_TOTALENTERED"]
                cents = int(total * 100)
                target = _money(rng.randrange(max(1, cents // 10), max(2, cents * 9 // 10)))
                for ln in bill_lines:
                    amt = min(ln["TRX_AMOUNT"], target)
                    if amt <= 0:
                        break
                    details.append((info["bill"], ln, amt))
                    target -= amt
            else:
                details.extend((info["bill"], ln, ln["TRX_AMOUNT"]) for ln in bill_lines)
        trx_total = sum((d[2] for d in details), Decimal("0.00"))
        base_amounts = [
            d[1]["AMOUNT"] if d[2] == d[1]["TRX_AMOUNT"] else _base(d[2], currency) for d in details
        ]
        base_total = sum(base_amounts, Decimal("0.00"))
        is_paid = applied and state in ("Complete", "Approved", "Delivered")
        entity = first["MEGAENTITYID"] or ""
        pay = {
            "RECORDNO": recordno,
            "RECORDID": f"PAY-{recordno:07d}",
            "STATE": state,
            "VENDORID": first["VENDORID"],
            "VENDORNAME": first["VENDORNAME"],
            "FINANCIALENTITY": rng.choice(_BANKS),
            "PAYMENTMETHOD": rng.choice(PAYMENT_METHODS[:5]),
            "PAYMENTDATE": pay_date,
            "WHENPAID": pay_date if state == "Complete" else None,
            "WHENCREATED": pay_date,
            "TOTALENTERED": base_total,
            "TOTALPAID": base_total if is_paid else Decimal("0.00"),
            "TRX_TOTALENTERED": trx_total,
            "TRX_TOTALPAID": trx_total if is_paid else Decimal("0.00"),
            "CURRENCY": currency,
            "BASECURR": BASE_CURRENCY,
            "DOCNUMBER": str(10000 + recordno),
            "DESCRIPTION": f"Payment for {', '.join(i['bill']['RECORDID'] for i in infos)}",
            "WHENMODIFIED": modified,
            "CREATEDBY": rng.randrange(1, 6),
            "MODIFIEDBY": rng.randrange(1, 6),
            **self.entity_fields[entity],
        }
        c._insert("APPYMT", pay)
        c._next["APBILL"] = c._next["APPYMT"]
        for (bill, ln, amt), base in zip(details, base_amounts, strict=True):
            c._insert(
                "APPYMTDETAIL",
                {
                    "PAYMENTKEY": recordno,
                    "RECORDKEY": bill["RECORDNO"],
                    "ENTRYKEY": ln["RECORDNO"],
                    "PAYMENTAMOUNT": base,
                    "TRX_PAYMENTAMOUNT": amt,
                    "CURRENCY": currency,
                    "WHENCREATED": pay_date,
                    "WHENMODIFIED": modified,
                    "CREATEDBY": pay["CREATEDBY"],
                    "MODIFIEDBY": pay["MODIFIEDBY"],
                    **self.entity_fields[entity],
                },
            )
            if is_paid:
                bill["TOTALPAID"] += base
                bill["TRX_TOTALPAID"] += amt
                bill["TOTALDUE"] = bill["TOTALENTERED"] - bill["TOTALPAID"]
                bill["TRX_TOTALDUE"] = bill["TRX_TOTALENTERED"] - bill["TRX_TOTALPAID"]
                if bill["TRX_TOTALDUE"] == 0:
                    bill["WHENPAID"] = max(bill["WHENPAID"] or pay_date, pay_date)
        if is_paid:
            for info in infos:
                bill = info["bill"]
                if not info["in_run"] and bill["WHENMODIFIED"] is not None:
                    bill["WHENMODIFIED"] = max(bill["WHENMODIFIED"], modified)
                    for ln in info["lines"]:
                        ln["WHENMODIFIED"] = bill["WHENMODIFIED"]
        return recordno

    def _orphan_payment(self, missing: int, like: dict[str, Any] | None) -> int:
        c = self.c
        recordno = c._next["APPYMT"]
        when = self.end - dt.timedelta(days=3)
        amt = Decimal("75.25")
        c._insert(
            "APPYMT",
            {
                "RECORDNO": recordno,
                "RECORDID": f"PAY-{recordno:07d}",
                "STATE": "Complete",
                "VENDORID": like["VENDORID"] if like else "V00001",
                "VENDORNAME": like["VENDORNAME"] if like else None,
                "FINANCIALENTITY": "BOA-CHK",
                "PAYMENTMETHOD": "EFT",
                "PAYMENTDATE": when.date(),
                "WHENPAID": when.date(),
                "WHENCREATED": when.date(),
                "TOTALENTERED": amt,
                "TOTALPAID": amt,
                "TRX_TOTALENTERED": amt,
                "TRX_TOTALPAID": amt,
                "CURRENCY": "USD",
                "BASECURR": BASE_CURRENCY,
                "DOCNUMBER": str(10000 + recordno),
                "DESCRIPTION": "Payment for a bill that no longer exists",
                "WHENMODIFIED": when,
                "CREATEDBY": 1,
                "MODIFIEDBY": 1,
                **self.entity_fields[""],
            },
        )
        c._next["APBILL"] = c._next["APPYMT"]
        c._insert(
            "APPYMTDETAIL",
            {
                "PAYMENTKEY": recordno,
                "RECORDKEY": missing,
                "ENTRYKEY": None,
                "PAYMENTAMOUNT": amt,
                "TRX_PAYMENTAMOUNT": amt,
                "CURRENCY": "USD",
                "WHENCREATED": when.date(),
                "WHENMODIFIED": when,
                "CREATEDBY": 1,
                "MODIFIEDBY": 1,
                **self.entity_fields[""],
            },
        )
        return recordno

    # -- finishing touches ---------------------------------------------------------------

    def vendor_totals(self) -> None:
        due: dict[str, Decimal] = defaultdict(lambda: Decimal("0.00"))
        for info in self.bill_info:
            b = info["bill"]
            if b["STATE"] in _POSTED_STATES:
                due[b["VENDORID"]] += b["TOTALDUE"]
        for lst in self.vendors_by_entity.values():
            for v in lst:
                v["TOTALDUE"] = due.get(v["VENDORID"], Decimal("0.00"))

    def blank_whenmodified(self, per_object: int) -> None:
        if per_object <= 0:
            return
        sp = self.special.setdefault("empty_whenmodified", {})
        runs = {o: set(v["recordnos"]) for o, v in self.special.get("same_timestamp", {}).items()}
        for obj in AP_OBJECTS:
            nos = [n for n in self.c.recordnos(obj) if n not in runs.get(obj, set())]
            if len(nos) < 10:
                continue
            picked = sorted(self.rng.sample(nos, per_object))
            for n in picked:
                self.c.record(obj, n).values["WHENMODIFIED"] = None
            sp[obj] = picked


_REVENUE_ACCOUNTS = (
    ("4000", "Product Revenue"),
    ("4100", "Service Revenue"),
    ("4200", "Subscription Revenue"),
    ("4300", "Consulting & Training Revenue"),
)
_INVOICE_STATE_WEIGHTS = {
    "Draft": 5,
    "Posted": 30,
    "Partially Paid": 15,
    "Paid": 40,
    "Reversed": 3,
    "Reversal": 2,
}


class _ARGenerator:
    """AR invoices, their lines, AR payments and their details; then deletions."""

    def __init__(self, gen: _Generator, rng: random.Random) -> None:
        self.gen = gen
        self.c = gen.c
        self.rng = rng
        self.start = gen.start
        self.end = gen.end
        self.span = gen.span
        self.sp = self.c.special.setdefault("ar", {})
        self.info: list[dict[str, Any]] = []

    def _next_prrecord(self) -> int:
        # Bills, invoices and payments share one RECORDNO sequence (Intacct keeps all of them
        # in one table), so bill-<n> and invoice-<n> never name the same number.
        c = self.c
        no = max(c._next["APBILL"], c._next["APPYMT"], c._next["ARINVOICE"], c._next["ARPYMT"])
        for obj in ("APBILL", "APPYMT", "ARINVOICE", "ARPYMT"):
            c._next[obj] = no + 1
        return no

    def invoices(self, n: int, lines_per_bill: tuple[int, int]) -> None:
        rng = self.rng
        c = self.c
        shared = set(self.c.special.get("shared_email", {}).get("CUSTOMER", []))
        customers = [r.values for r in c.snapshot("CUSTOMER") if r.values.get("STATUS") == "active"]
        special = [v for v in customers if v["RECORDNO"] in shared]
        if n and not customers:
            raise ValueError("invoices need at least one active customer")
        # Customers sharing an email come first, so a small company still invoices them.
        customers.sort(key=lambda v: (v["RECORDNO"] not in shared, v["RECORDNO"]))
        states = list(_INVOICE_STATE_WEIGHTS)
        weights = list(_INVOICE_STATE_WEIGHTS.values())
        lo, hi = lines_per_bill
        states_map = self.sp.setdefault("invoice_states", {})
        for i in range(n):
            # The customers sharing an email first; then two thirds of the customers buy, so
            # the others (without invoices) are free for `deletions`.
            if i < len(special):
                customer = customers[i]
            else:
                customer = rng.choice(customers[: max(1, len(customers) * 2 // 3)])
            state = states[i] if i < len(states) else rng.choices(states, weights)[0]
            nlines = max(1, rng.randint(lo, hi))
            amounts = [_money(rng.randrange(2_000, 500_000)) for _ in range(nlines)]
            if state == "Reversal":
                amounts = [-x for x in amounts]
            modified = self.start + dt.timedelta(seconds=rng.randrange(self.span))
            inv_date = (modified - dt.timedelta(days=rng.randrange(20))).date()
            total = sum(amounts, Decimal("0.00"))
            recordno = self._next_prrecord()
            entity = customer.get("MEGAENTITYID") or ""
            fields = self.gen.entity_fields[entity]
            inv = {
                "RECORDNO": recordno,
                "RECORDID": f"AR-{i + 1:06d}",
                "STATE": state,
                "CUSTOMERID": customer["CUSTOMERID"],
                "CUSTOMERNAME": customer["NAME"],
                "DESCRIPTION": rng.choice(("Annual licence", "Services rendered", None)),
                "WHENCREATED": inv_date,
                "WHENPOSTED": inv_date if state != "Draft" else None,
                "WHENDUE": inv_date + dt.timedelta(days=30),
                "WHENPAID": None,
                "TOTALENTERED": total,
                "TOTALPAID": Decimal("0.00"),
                "TOTALDUE": Decimal("0.00") if state in ("Reversed", "Reversal") else total,
                "TRX_TOTALENTERED": total,
                "TRX_TOTALPAID": Decimal("0.00"),
                "TRX_TOTALDUE": Decimal("0.00") if state in ("Reversed", "Reversal") else total,
                "CURRENCY": customer.get("CURRENCY") or BASE_CURRENCY,
                "BASECURR": BASE_CURRENCY,
                "WHENMODIFIED": modified,
                "CREATEDBY": rng.randrange(1, 6),
                "MODIFIEDBY": rng.randrange(1, 6),
                **fields,
            }
            c._insert("ARINVOICE", inv)
            states_map.setdefault(state, recordno)
            lines = []
            for ln, amt in enumerate(amounts, start=1):
                acct = rng.choice(_REVENUE_ACCOUNTS)
                line = {
                    "RECORDKEY": recordno,
                    "LINE_NO": ln,
                    "ACCOUNTNO": acct[0],
                    "ACCOUNTTITLE": acct[1],
                    "AMOUNT": amt,
                    "TRX_AMOUNT": amt,
                    "DEPARTMENTID": rng.choice(_DEPTS),
                    "LOCATIONID": rng.choice(_LOCS),
                    "CLASSID": rng.choice(_CLASSES),
                    "PROJECTID": rng.choice(_PROJECTS),
                    "ENTRYDESCRIPTION": f"Line {ln} of AR-{i + 1:06d}",
                    "CURRENCY": inv["CURRENCY"],
                    "BASECURR": BASE_CURRENCY,
                    "WHENCREATED": inv_date,
                    "WHENMODIFIED": modified,
                    "CREATEDBY": inv["CREATEDBY"],
                    "MODIFIEDBY": inv["MODIFIEDBY"],
                    **fields,
                }
                c._insert("ARINVOICEITEM", line)
                lines.append(line)
            self.info.append({"invoice": inv, "lines": lines})

    def payments(self, budget: int) -> None:
        rng = self.rng
        payable = [i for i in self.info if i["invoice"]["STATE"] in ("Paid", "Partially Paid")]
        # How the first payments settle their invoices, then plain cash.
        kinds = ["discount", "credit", "advance", "full", "partial"]
        for info in payable:
            if budget <= 1:
                self._unpay(info["invoice"])
                continue
            inv = info["invoice"]
            if inv["STATE"] == "Partially Paid":
                kind = "partial"
            else:
                kind = kinds.pop(0) if kinds and kinds[0] != "partial" else "full"
            self._payment(info, "Complete", kind)
            budget -= 1
        opened = [i for i in self.info if i["invoice"]["STATE"] == "Posted"]
        if budget >= 1 and opened:
            self._payment(opened[0], "Voided", "full", applied=False)
            budget -= 1
        for k in range(budget):
            if not opened:
                break
            self._payment(opened[(k + 1) % len(opened)], "Draft", "full", applied=False)
        del rng

    def _unpay(self, inv: dict[str, Any]) -> None:
        inv["STATE"] = "Posted"
        inv["TOTALDUE"] = inv["TRX_TOTALDUE"] = inv["TOTALENTERED"]
        inv["TOTALPAID"] = inv["TRX_TOTALPAID"] = Decimal("0.00")

    def _payment(self, info: dict[str, Any], state: str, kind: str, *, applied: bool = True) -> int:
        rng = self.rng
        c = self.c
        inv = info["invoice"]
        total = inv["TRX_TOTALENTERED"]
        pay_date = min(
            inv["WHENCREATED"] + dt.timedelta(days=rng.randrange(1, 40)), self.end.date()
        )
        modified = min(
            max(
                dt.datetime(pay_date.year, pay_date.month, pay_date.day, 10)
                + dt.timedelta(seconds=rng.randrange(20000)),
                inv["WHENMODIFIED"],
            ),
            self.end,
        )
        # What settles the invoice: cash plus (by kind) a discount, a credit or an advance.
        other = Decimal("0.00")
        if kind in ("discount", "credit", "advance"):
            other = (total * Decimal("0.1")).quantize(CENT, rounding=ROUND_HALF_UP)
        if kind == "partial":
            cash = (total * Decimal(rng.randrange(20, 80)) / 100).quantize(CENT)
        else:
            cash = total - other
        recordno = self._next_prrecord()
        entity = inv["MEGAENTITYID"] or ""
        fields = self.gen.entity_fields[entity]
        is_paid = applied and state == "Complete"
        pay = {
            "RECORDNO": recordno,
            "RECORDID": f"RCPT-{recordno:07d}",
            "STATE": state,
            "CUSTOMERID": inv["CUSTOMERID"],
            "CUSTOMERNAME": inv["CUSTOMERNAME"],
            "FINANCIALENTITY": rng.choice(_BANKS[:2]),
            "PAYMENTMETHOD": rng.choice(("Printed Check", "EFT", "Credit Card", "ACH")),
            "RECEIPTDATE": pay_date,
            "PAYMENTDATE": pay_date,
            "WHENPAID": pay_date if state == "Complete" else None,
            "TOTALENTERED": cash,
            "TOTALPAID": cash if is_paid else Decimal("0.00"),
            "TRX_TOTALENTERED": cash,
            "TRX_TOTALPAID": cash if is_paid else Decimal("0.00"),
            "CURRENCY": inv["CURRENCY"],
            "BASECURR": BASE_CURRENCY,
            "DOCNUMBER": str(50000 + recordno),
            "DESCRIPTION": f"Receipt for {inv['RECORDID']}",
            "WHENCREATED": pay_date,
            "WHENMODIFIED": modified,
            "CREATEDBY": rng.randrange(1, 6),
            "MODIFIEDBY": rng.randrange(1, 6),
            **fields,
        }
        c._insert("ARPYMT", pay)
        detail: dict[str, Any] = {
            "PAYMENTKEY": recordno,
            "RECORDKEY": inv["RECORDNO"],
            "ENTRYKEY": info["lines"][0]["RECORDNO"] if info["lines"] else None,
            "PAYMENTAMOUNT": cash,
            "TRX_PAYMENTAMOUNT": cash,
            "CURRENCY": inv["CURRENCY"],
            "WHENCREATED": pay_date,
            "WHENMODIFIED": modified,
            "CREATEDBY": pay["CREATEDBY"],
            "MODIFIEDBY": pay["MODIFIEDBY"],
            **fields,
        }
        if kind == "discount":
            detail.update(DISCOUNTAMOUNT=other, TRX_DISCOUNTAMOUNT=other, DISCOUNTDATE=pay_date)
        elif kind == "credit":
            detail.update(INLINEKEY=recordno + 500_000, INLINEAMOUNT=other, TRX_INLINEAMOUNT=other)
        elif kind == "advance":
            detail.update(
                ADVANCEKEY=recordno + 600_000,
                POSTEDADVANCEAMOUNT=other,
                TRX_POSTEDADVANCEAMOUNT=other,
            )
        c._insert("ARPYMTDETAIL", detail)
        key = {"Voided": "voided_payment", "Draft": "draft_payment"}.get(state, f"{kind}_payment")
        self.sp.setdefault(key, recordno)
        if is_paid:
            settled = cash + other
            inv["TOTALPAID"] += settled
            inv["TRX_TOTALPAID"] += settled
            inv["TOTALDUE"] = inv["TOTALENTERED"] - inv["TOTALPAID"]
            inv["TRX_TOTALDUE"] = inv["TRX_TOTALENTERED"] - inv["TRX_TOTALPAID"]
            if inv["TRX_TOTALDUE"] == 0:
                inv["WHENPAID"] = pay_date
            inv["WHENMODIFIED"] = max(inv["WHENMODIFIED"], modified)
            for line in info["lines"]:
                line["WHENMODIFIED"] = inv["WHENMODIFIED"]
        return recordno

    def deletions(self, per_object: int) -> None:
        """Delete `per_object` records of each header object, in the window's last days."""
        delete_some(self.c, per_object, rng=self.rng, start=self.end - dt.timedelta(days=2))


def delete_some(
    company: Company,
    per_object: int,
    *,
    rng: random.Random | None = None,
    start: dt.datetime | None = None,
) -> dict[str, list[int]]:
    """Delete `per_object` records each of CUSTOMER, VENDOR, APBILL, APPYMT, ARINVOICE and
    ARPYMT that nothing else points at (customers without invoices, vendors without bills,
    unpaid bills and invoices, draft or voided payments; never a special record), as Intacct
    allows. Each leaves its AUDITHISTORY row, stamped from `start` (default: the clock's
    company time) a few minutes apart. Returns (and adds to company.special["deleted"])
    {object: RECORDNOs}."""
    c = company
    rng = rng or random.Random(0)
    sp = c.special
    ar = sp.get("ar", {})
    keep: set[tuple[str, int]] = set()
    for key in ("names", "no_email", "messy_email", "invalid_email", "inactive"):
        for obj, nos in sp.get(key, {}).items():
            keep.update((obj, n) for n in (nos.values() if isinstance(nos, dict) else nos))
    for obj in ("CUSTOMER", "VENDOR"):
        keep.update((obj, n) for n in sp.get("shared_email", {}).get(obj, []))
    used_vendors = {r.values["VENDORID"] for o in ("APBILL", "APPYMT") for r in c.snapshot(o)}
    used_customers = {
        r.values["CUSTOMERID"] for o in ("ARINVOICE", "ARPYMT") for r in c.snapshot(o)
    }
    paid_bills = {r.values["RECORDKEY"] for r in c.snapshot("APPYMTDETAIL")}
    paid_invoices = {r.values["RECORDKEY"] for r in c.snapshot("ARPYMTDETAIL")}
    specials = {v for v in sp.values() if isinstance(v, int)}
    specials |= set(sp.get("bill_states", {}).values())
    specials |= {v for v in ar.values() if isinstance(v, int)}
    specials |= set(ar.get("invoice_states", {}).values())

    def free(obj: str, v: dict[str, Any]) -> bool:
        no = v["RECORDNO"]
        if (obj, no) in keep or v.get("WHENMODIFIED") is None:
            return False
        if obj == "CUSTOMER":
            return v["CUSTOMERID"] not in used_customers
        if obj == "VENDOR":
            return v["VENDORID"] not in used_vendors
        if no in specials:
            return False
        if obj == "APBILL":
            return no not in paid_bills
        if obj == "ARINVOICE":
            return no not in paid_invoices
        # Payments: drafts and voided ones, so the documents they would have settled keep
        # their totals.
        return v.get("STATE") in ("Draft", "Voided")

    # From `start` a few minutes apart; at the clock's now, a second apart and all in the past
    # (a tap run starting now must see every one of them).
    step = (60, 600) if start is not None else (1, 2)
    when = start if start is not None else c.clock.now_naive() - dt.timedelta(seconds=30)
    done = sp.setdefault("deleted", {})
    out: dict[str, list[int]] = {}
    for obj in ("CUSTOMER", "VENDOR", "APBILL", "APPYMT", "ARINVOICE", "ARPYMT"):
        candidates = [r.values for r in c.snapshot(obj) if free(obj, r.values)]
        picked = sorted(
            v["RECORDNO"] for v in rng.sample(candidates, min(per_object, len(candidates)))
        )
        for no in picked:
            when += dt.timedelta(seconds=rng.randrange(*step))
            c.delete(obj, no, when=when)
        done[obj] = sorted({*done.get(obj, []), *picked})
        out[obj] = picked
    return out


__all__ = [
    "BASE_CURRENCY",
    "DATE",
    "EXCHANGE_RATES",
    "SHARED_EMAIL",
    "Company",
    "Record",
    "UnknownRecordError",
    "delete_some",
    "generate_company",
]
