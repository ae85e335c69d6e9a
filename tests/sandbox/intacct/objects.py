"""Object definitions of the sandbox company: fields, data types, labels, valid values.

These drive everything that is per-field in the sandbox: the `lookup` answer, how a stored
value is written on the wire, how a filter value is parsed before it is compared, which
fields `create` accepts, and which fields `readByQuery` returns for `fields=*`.

Field names and formats follow intacct-xml-gateway.md section 6 (upper-case IDs, dotted
contact paths, `MM/DD/YYYY` dates, `MM/DD/YYYY HH:MM:SS` timestamps, decimal strings,
`true`/`false`). Custom fields carry `custom=True` (shown as `<ISCUSTOM>true</ISCUSTOM>` by
`lookup`); they have plain upper-case IDs like the real product.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

TEXT = "TEXT"
INTEGER = "INTEGER"
DECIMAL = "DECIMAL"
BOOLEAN = "BOOLEAN"
DATE = "DATE"
TIMESTAMP = "TIMESTAMP"
ENUM = "ENUM"

DATE_FORMAT = "%m/%d/%Y"
TIMESTAMP_FORMAT = "%m/%d/%Y %H:%M:%S"

BILL_STATES = (
    "Analyzing",
    "Draft",
    "Submitted",
    "Partially approved",
    "Declined",
    "Posted",
    "Selected",
    "Partially Paid",
    "Paid",
    "Reversed",
    "Reversal",
    "No value",
)
PAYMENT_STATES = (
    "Draft",
    "Submitted",
    "Unapproved",
    "Partially approved",
    "Approved",
    "Delivered",
    "Complete",
    "Voided",
)
PAYMENT_METHODS = ("Printed Check", "Cash", "EFT", "Charge Card", "ACH", "Credit Card")
STATUSES = ("active", "inactive")


class ValueFormatError(ValueError):
    """A wire value that does not parse as the field's data type."""


@dataclass(frozen=True)
class FieldDef:
    """One field of an object, as `lookup` describes it."""

    id: str
    label: str
    datatype: str
    description: str = ""
    required: bool = False
    readonly: bool = False
    valid_values: tuple[str, ...] = ()
    custom: bool = False


@dataclass(frozen=True)
class ObjectDef:
    """An integration object (CUSTOMER, VENDOR, APBILL, ...) and its fields, in wire order."""

    name: str
    label: str
    fields: tuple[FieldDef, ...]
    key: str = "RECORDNO"
    # Text fields whose uniqueness `create` enforces (e.g. CUSTOMERID).
    unique: tuple[str, ...] = ()
    by_id: dict[str, FieldDef] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_id", {f.id: f for f in self.fields})

    @property
    def field_ids(self) -> tuple[str, ...]:
        return tuple(f.id for f in self.fields)

    @property
    def standard_field_ids(self) -> tuple[str, ...]:
        return tuple(f.id for f in self.fields if not f.custom)

    @property
    def custom_field_ids(self) -> tuple[str, ...]:
        return tuple(f.id for f in self.fields if f.custom)

    def resolve(self, name: str) -> FieldDef | None:
        """The field called `name` (field names are case-insensitive on the gateway)."""
        return self.by_id.get(name.strip().upper())


# ---------------------------------------------------------------------------------------------
# Value formatting (stored Python value -> wire text) and parsing (wire text -> Python value).
# Stored values are typed: int, Decimal, bool, datetime.date, naive datetime.datetime, str,
# or None for null (Intacct's Oracle back end stores '' as NULL; both go out as an empty element).


def format_value(datatype: str, value: Any) -> str:
    """Wire text of a stored value ('' for None)."""
    if value is None:
        return ""
    if datatype in (TEXT, ENUM):
        return str(value)
    if datatype == INTEGER:
        return str(int(value))
    if datatype == DECIMAL:
        return _format_decimal(value)
    if datatype == BOOLEAN:
        return "true" if value else "false"
    if datatype == DATE:
        return f"{value.month:02d}/{value.day:02d}/{value.year:04d}"
    if datatype == TIMESTAMP:
        return (
            f"{value.month:02d}/{value.day:02d}/{value.year:04d} "
            f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}"
        )
    raise ValueError(f"unknown datatype {datatype}")


def _format_decimal(value: Any) -> str:
    if not isinstance(value, Decimal):
        value = Decimal(str(value))
    # Plain notation, never an exponent: Decimal('1E+3') must go out as 1000.
    return format(value, "f")


def parse_date_or_timestamp(text: str) -> dt.datetime:
    """Parse `MM/DD/YYYY` or `MM/DD/YYYY HH:MM:SS` into a naive datetime."""
    text = text.strip()
    for fmt in (TIMESTAMP_FORMAT, DATE_FORMAT):
        try:
            return dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
    raise ValueFormatError(f"'{text}' is not a date in MM/DD/YYYY or MM/DD/YYYY HH:MM:SS format")


def parse_value(datatype: str, text: str | None) -> Any:
    """Typed value of a wire string for storage (create/update, typed overrides)."""
    if text is None or text == "":
        return None
    if datatype in (TEXT, ENUM):
        return text
    if datatype == INTEGER:
        try:
            return int(text.strip())
        except ValueError as exc:
            raise ValueFormatError(f"'{text}' is not an integer") from exc
    if datatype == DECIMAL:
        try:
            return Decimal(text.strip())
        except InvalidOperation as exc:
            raise ValueFormatError(f"'{text}' is not a decimal number") from exc
    if datatype == BOOLEAN:
        low = text.strip().lower()
        if low in ("true", "1"):
            return True
        if low in ("false", "0"):
            return False
        raise ValueFormatError(f"'{text}' is not true or false")
    if datatype == DATE:
        return parse_date_or_timestamp(text).date()
    if datatype == TIMESTAMP:
        return parse_date_or_timestamp(text)
    raise ValueError(f"unknown datatype {datatype}")


def coerce_value(datatype: str, value: Any) -> Any:
    """Accept either a typed Python value or a wire string, return the stored typed value."""
    if value is None:
        return None
    if isinstance(value, str):
        if datatype in (TEXT, ENUM):
            return value if value != "" else None
        return parse_value(datatype, value)
    if datatype == DECIMAL:
        if isinstance(value, float):
            raise TypeError("pass money as Decimal or str, not float")
        return Decimal(value)
    if datatype == INTEGER:
        return int(value)
    if datatype == BOOLEAN:
        return bool(value)
    if datatype == DATE:
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
    if datatype == TIMESTAMP:
        if isinstance(value, dt.datetime):
            return value.replace(tzinfo=None, microsecond=0)
        if isinstance(value, dt.date):
            return dt.datetime(value.year, value.month, value.day)
    if datatype in (TEXT, ENUM):
        return str(value)
    raise TypeError(f"cannot store {value!r} as {datatype}")


def comparable(datatype: str) -> Callable[[Any], Any]:
    """Key function turning a stored value into what filters and orderby compare."""
    if datatype == DATE:
        return lambda v: dt.datetime(v.year, v.month, v.day)
    return lambda v: v


def parse_filter_value(datatype: str, text: str) -> Any:
    """Typed value of a filter operand: dates and timestamps become datetimes."""
    if datatype in (DATE, TIMESTAMP):
        return parse_date_or_timestamp(text)
    if datatype in (TEXT, ENUM):
        return text
    value = parse_value(datatype, text)
    if value is None:
        raise ValueFormatError(f"empty value for a {datatype} field")
    return value


# ---------------------------------------------------------------------------------------------
# The objects.


def _f(
    id_: str,
    label: str,
    datatype: str = TEXT,
    *,
    description: str = "",
    required: bool = False,
    readonly: bool = False,
    valid: tuple[str, ...] = (),
    custom: bool = False,
) -> FieldDef:
    return FieldDef(
        id=id_,
        label=label,
        datatype=datatype,
        description=description or label,
        required=required,
        readonly=readonly,
        valid_values=valid,
        custom=custom,
    )


def _contact(prefix: str) -> tuple[FieldDef, ...]:
    p = prefix
    return (
        _f(f"{p}.CONTACTNAME", "Contact name", description="Name of the primary contact"),
        _f(f"{p}.COMPANYNAME", "Company name"),
        _f(f"{p}.FIRSTNAME", "First name"),
        _f(f"{p}.LASTNAME", "Last name"),
        _f(f"{p}.PRINTAS", "Print as"),
        _f(f"{p}.EMAIL1", "Primary email address"),
        _f(f"{p}.EMAIL2", "Secondary email address"),
        _f(f"{p}.PHONE1", "Primary phone"),
        _f(f"{p}.PHONE2", "Secondary phone"),
        _f(f"{p}.MAILADDRESS.ADDRESS1", "Address line 1"),
        _f(f"{p}.MAILADDRESS.ADDRESS2", "Address line 2"),
        _f(f"{p}.MAILADDRESS.CITY", "City"),
        _f(f"{p}.MAILADDRESS.STATE", "State/Province"),
        _f(f"{p}.MAILADDRESS.ZIP", "Zip/Postal code"),
        _f(f"{p}.MAILADDRESS.COUNTRY", "Country"),
        _f(f"{p}.MAILADDRESS.COUNTRYCODE", "Country code"),
    )


def _audit(created_type: str = TIMESTAMP, *, with_created: bool = True) -> tuple[FieldDef, ...]:
    created = (
        (_f("WHENCREATED", "When created", created_type, readonly=True),) if with_created else ()
    )
    return (
        *created,
        _f("WHENMODIFIED", "When modified", TIMESTAMP, readonly=True),
        _f("CREATEDBY", "Created by", INTEGER, readonly=True),
        _f("MODIFIEDBY", "Modified by", INTEGER, readonly=True),
        _f("MEGAENTITYKEY", "Created at - Entity key", INTEGER, readonly=True),
        _f("MEGAENTITYID", "Created at - Entity ID", readonly=True),
        _f("MEGAENTITYNAME", "Created at - Entity name", readonly=True),
    )


_STATUS = _f("STATUS", "Status", ENUM, valid=STATUSES)


def _parent() -> tuple[FieldDef, ...]:
    # The parent record of a customer or vendor: the vendorResponse.xml fixture
    # (reference/intacct-fixtures) carries PARENTKEY, PARENTID and PARENTNAME, all empty there;
    # the sandbox stores them empty too.
    return (
        _f("PARENTKEY", "Parent record number", INTEGER),
        _f("PARENTID", "Parent ID"),
        _f("PARENTNAME", "Parent name", readonly=True),
    )


_RECORDNO = _f("RECORDNO", "Record number", INTEGER, readonly=True)


def _object(name: str, label: str, *fields: FieldDef, unique: tuple[str, ...] = ()) -> ObjectDef:
    """An object whose first field is its key, RECORDNO."""
    return ObjectDef(name=name, label=label, fields=(_RECORDNO, *fields), unique=unique)


# The AR objects mirror the AP ones (ARINVOICE ~ APBILL, ARINVOICEITEM ~ APBILLITEM, ARPYMT ~
# APPYMT, ARPYMTDETAIL ~ APPYMTDETAIL) as Sage's object reference for "AR Invoice", "AR
# Payment" and "AR Payment Detail" lists them, so each shape is written once below and named
# for its ledger: the party (VENDOR or CUSTOMER) and the labels that differ. Assumptions,
# unverified against a live company: ARPYMT states are those of APPYMT; ARPYMTDETAIL carries
# what settled the invoice besides cash as separate amounts (INLINEAMOUNT: an inline credit,
# ADJUSTMENTAMOUNT: a credit memo / adjustment, POSTEDADVANCEAMOUNT: an advance applied,
# DISCOUNTAMOUNT: an early-payment discount), each with its TRX_ variant in the transaction
# currency.

INVOICE_STATES = BILL_STATES


def _party_of(party: str) -> tuple[FieldDef, ...]:
    """The customer or vendor a document belongs to: its ID (required) and name."""
    label = party.title()
    return (
        _f(f"{party}ID", f"{label} ID", required=True),
        _f(f"{party}NAME", f"{label} name", readonly=True),
    )


def _totals(*, due: bool) -> tuple[FieldDef, ...]:
    """Base and transaction totals (entered, paid and, for a document, due)."""
    kinds = (("ENTERED", "amount"), ("PAID", "paid"), *((("DUE", "due"),) if due else ()))
    return (
        *(_f(f"TOTAL{k}", f"Total {w}", DECIMAL, readonly=True) for k, w in kinds),
        *(_f(f"TRX_TOTAL{k}", f"Transaction total {w}", DECIMAL, readonly=True) for k, w in kinds),
    )


def _currencies(*, readonly: bool = False) -> tuple[FieldDef, ...]:
    return (
        _f("CURRENCY", "Transaction currency", readonly=readonly),
        _f("BASECURR", "Base currency", readonly=True),
    )


def _party(party: str, type_id: str, custom: tuple[FieldDef, ...]) -> ObjectDef:
    """CUSTOMER or VENDOR: the same standard fields, then the sandbox company's custom ones."""
    label = party.title()
    return _object(
        party,
        label,
        _f(f"{party}ID", f"{label} ID", required=True),
        _f("NAME", f"{label} name", required=True),
        _STATUS,
        _f(type_id, f"{label} type"),
        _f("TERMNAME", "Term"),
        _f("ONHOLD", "On hold", BOOLEAN),
        _f("CURRENCY", "Default currency"),
        _f("TOTALDUE", "Total due", DECIMAL, readonly=True),
        *_parent(),
        *_contact("DISPLAYCONTACT"),
        *_audit(),
        *custom,
        unique=(f"{party}ID",),
    )


def _document(ledger: str, party: str, kind: str, states: tuple[str, ...]) -> ObjectDef:
    """APBILL or ARINVOICE (`ledger`: AP or AR, `kind`: Bill or Invoice)."""
    return _object(
        f"{ledger}{kind.upper()}",
        f"{ledger} {kind}",
        _f("RECORDID", f"{kind} number"),
        _f("STATE", "State", ENUM, readonly=True, valid=states),
        *_party_of(party),
        _f("DESCRIPTION", "Description"),
        _f("WHENCREATED", "Date", DATE, required=True, description=f"{kind} date"),
        _f("WHENPOSTED", "GL posting date", DATE),
        _f("WHENDUE", "Due date", DATE),
        _f("WHENPAID", "Date fully paid", DATE, readonly=True),
        *_totals(due=True),
        *_currencies(),
        *_audit(with_created=False),
    )


def _document_lines(ledger: str, kind: str, account: str) -> ObjectDef:
    """APBILLITEM or ARINVOICEITEM: a document's GL lines (`account`: Expense or Revenue)."""
    return _object(
        f"{ledger}{kind.upper()}ITEM",
        f"{ledger} {kind} Detail",
        _f("RECORDKEY", f"{kind} record number", INTEGER, readonly=True),
        _f("LINE_NO", "Line number", INTEGER, readonly=True),
        _f("ACCOUNTNO", f"{account} account", required=True),
        _f("ACCOUNTTITLE", f"{account} account title", readonly=True),
        _f("AMOUNT", "Base amount", DECIMAL, readonly=True),
        _f("TRX_AMOUNT", "Transaction amount", DECIMAL, required=True),
        _f("DEPARTMENTID", "Department"),
        _f("LOCATIONID", "Location"),
        _f("CLASSID", "Class"),
        _f("PROJECTID", "Project"),
        _f("ENTRYDESCRIPTION", "Memo"),
        *_currencies(readonly=True),
        *_audit(DATE),
    )


def _payment(
    ledger: str, party: str, account: str, reference: str, dates: tuple[FieldDef, ...]
) -> ObjectDef:
    """APPYMT or ARPYMT: the payment's header (`dates`: when it was paid or received)."""
    return _object(
        f"{ledger}PYMT",
        f"{ledger} Payment",
        _f("RECORDID", "Payment number"),
        _f("STATE", "State", ENUM, readonly=True, valid=PAYMENT_STATES),
        *_party_of(party),
        _f("FINANCIALENTITY", account),
        _f("PAYMENTMETHOD", "Payment method", ENUM, required=True, valid=PAYMENT_METHODS),
        *dates,
        _f("WHENPAID", "Date paid", DATE, readonly=True),
        *_totals(due=False),
        *_currencies(),
        _f("DOCNUMBER", reference, description="Check or reference number"),
        _f("DESCRIPTION", "Description"),
        *_audit(DATE),
    )


def _payment_detail(
    ledger: str, kind: str, credits: tuple[FieldDef, ...], *, cash_required: bool
) -> ObjectDef:
    """APPYMTDETAIL or ARPYMTDETAIL: what one payment settled of one document (or line)."""
    return _object(
        f"{ledger}PYMTDETAIL",
        f"{ledger} Payment Detail",
        _f("PAYMENTKEY", "Payment record number", INTEGER, readonly=True),
        _f("RECORDKEY", f"{kind} record number", INTEGER, required=True),
        _f("ENTRYKEY", f"{kind} line record number", INTEGER),
        _f("PAYMENTAMOUNT", "Base payment amount", DECIMAL, readonly=True),
        _f("TRX_PAYMENTAMOUNT", "Transaction payment amount", DECIMAL, required=cash_required),
        *credits,
        _f("CURRENCY", "Transaction currency", readonly=True),
        *_audit(DATE),
    )


def _amount(field_id: str, what: str) -> tuple[FieldDef, ...]:
    """A base amount (read-only) and its TRX_ variant in the transaction currency."""
    return (
        _f(field_id, f"Base {what}", DECIMAL, readonly=True),
        _f(f"TRX_{field_id}", f"Transaction {what}", DECIMAL),
    )


CUSTOMER = _party(
    "CUSTOMER",
    "CUSTTYPE",
    (
        _f(
            "REGION",
            "Sales region",
            ENUM,
            valid=("North America", "EMEA", "APAC", "LATAM"),
            custom=True,
        ),
        _f("MARKETING_OPT_IN", "Marketing opt-in", BOOLEAN, custom=True),
        _f("CUSTOMER_SINCE", "Customer since", DATE, custom=True),
    ),
)
VENDOR = _party(
    "VENDOR",
    "VENDTYPE",
    (
        _f(
            "VENDOR_TIER",
            "Vendor tier",
            ENUM,
            valid=("Preferred", "Standard", "Probation"),
            custom=True,
        ),
        _f("ONBOARDED_ON", "Onboarded on", DATE, custom=True),
    ),
)

_PAID_ON = _f("PAYMENTDATE", "Payment date", DATE, required=True)  # AP: the one date
_PAYMENT_DATE = _f("PAYMENTDATE", "Payment date", DATE)
_RECEIPT_DATE = _f("RECEIPTDATE", "Receipt date", DATE, required=True)
# Credits applied by an AP payment (reference section 6, APPYMTDETAIL: debit memo, negative
# bill applied inline, posted advance); base amounts are read-only.
_AP_CREDITS = (
    *_amount("ADJUSTMENTAMOUNT", "adjustment (debit memo) amount"),
    *_amount("INLINEAMOUNT", "inline credit amount"),
    *_amount("POSTEDADVANCEAMOUNT", "posted advance amount"),
)
# What settled an invoice besides cash, each with the record it came from (see above).
_AR_CREDITS = (
    _f("INLINEKEY", "Inline credit record number", INTEGER),
    *_amount("INLINEAMOUNT", "inline credit amount"),
    _f("ADJUSTMENTKEY", "Credit memo / adjustment record number", INTEGER),
    *_amount("ADJUSTMENTAMOUNT", "adjustment amount"),
    _f("ADVANCEKEY", "Advance record number", INTEGER),
    *_amount("POSTEDADVANCEAMOUNT", "advance amount applied"),
    *_amount("DISCOUNTAMOUNT", "discount amount"),
    _f("DISCOUNTDATE", "Discount date", DATE),
)

APBILL = _document("AP", "VENDOR", "Bill", BILL_STATES)
APBILLITEM = _document_lines("AP", "Bill", "Expense")
APPYMT = _payment("AP", "VENDOR", "Bank account or card", "Document number", (_PAID_ON,))
APPYMTDETAIL = _payment_detail("AP", "Bill", _AP_CREDITS, cash_required=True)

ARINVOICE = _document("AR", "CUSTOMER", "Invoice", INVOICE_STATES)
ARINVOICEITEM = _document_lines("AR", "Invoice", "Revenue")
ARPYMT = _payment(
    "AR", "CUSTOMER", "Deposit account", "Reference number", (_RECEIPT_DATE, _PAYMENT_DATE)
)
ARPYMTDETAIL = _payment_detail("AR", "Invoice", _AR_CREDITS, cash_required=False)

# The audit trail. Deleted records never show in a WHENMODIFIED query; the reference
# (intacct-xml-gateway.md, "Deleted records") says peers read AUDITHISTORY rows filtered by
# OBJECTTYPE (the lower-case object name), ACCESSMODE and an ACCESSTIME window. Assumed and
# unverified: ACCESSMODE 'D' marks a deletion ('C' create, 'M' modify), OBJECTKEY holds the
# deleted record's RECORDNO as text, ACCESSTIME is company wall time like WHENMODIFIED, and the
# object has no RECORDNO of its own (rows are ordered by ACCESSTIME then OBJECTKEY).
ACCESS_MODES = ("C", "M", "D", "V")

AUDITHISTORY = ObjectDef(
    name="AUDITHISTORY",
    label="Audit History",
    key="OBJECTKEY",
    fields=(
        _f("OBJECTTYPE", "Object type", readonly=True),
        _f("OBJECTKEY", "Object key", readonly=True),
        _f("OBJECTDESC", "Object description", readonly=True),
        _f("USERID", "User ID", readonly=True),
        _f("ACCESSTIME", "Access time", TIMESTAMP, readonly=True),
        _f("ACCESSMODE", "Access mode", ENUM, readonly=True, valid=ACCESS_MODES),
        _f("IPADDRESS", "IP address", readonly=True),
        _f("SOURCE", "Source", readonly=True),
        _f("WORKFLOWACTION", "Workflow action", readonly=True),
    ),
)

#: Objects whose records the sandbox stores and serves.
SERVED = (
    CUSTOMER,
    VENDOR,
    APBILL,
    APBILLITEM,
    APPYMT,
    APPYMTDETAIL,
    ARINVOICE,
    ARINVOICEITEM,
    ARPYMT,
    ARPYMTDETAIL,
    AUDITHISTORY,
)
#: The objects of the original sandbox (the generator's first random stream covers these).
AP_OBJECTS = ("CUSTOMER", "VENDOR", "APBILL", "APBILLITEM", "APPYMT", "APPYMTDETAIL")


def _standard_objects() -> tuple[ObjectDef, ...]:
    """Standard objects a peer tap's discovery asks `lookup` about. The sandbox holds no records
    of them (a query answers zero rows). Fields: the usual ones of Sage's object reference for
    each object, not every field a real company shows."""

    def adjustment(name: str, label: str, party: str) -> ObjectDef:
        return _object(
            name,
            label,
            _f("RECORDID", "Adjustment number"),
            _f("STATE", "State", ENUM, readonly=True, valid=BILL_STATES),
            *_party_of(party),
            _f("DESCRIPTION", "Description"),
            _f("WHENCREATED", "Date", DATE, required=True),
            _f("WHENPOSTED", "GL posting date", DATE),
            _f("TOTALENTERED", "Total amount", DECIMAL, readonly=True),
            _f("TRX_TOTALENTERED", "Transaction total amount", DECIMAL, readonly=True),
            _f("CURRENCY", "Transaction currency"),
            _f("BASECURR", "Base currency", readonly=True),
            *_audit(with_created=False),
        )

    def dimension(
        name: str, label: str, id_field: str, extra: tuple[FieldDef, ...] = ()
    ) -> ObjectDef:
        return _object(
            name,
            label,
            _f(id_field, f"{label} ID", required=True),
            _f("NAME", f"{label} name", required=True),
            _f("DESCRIPTION", "Description"),
            _STATUS,
            *extra,
            *_audit(),
        )

    return (
        adjustment("APADJUSTMENT", "AP Adjustment", "VENDOR"),
        adjustment("ARADJUSTMENT", "AR Adjustment", "CUSTOMER"),
        _object(
            "GLACCOUNT",
            "GL Account",
            _f("ACCOUNTNO", "Account number", required=True),
            _f("TITLE", "Title", required=True),
            _f(
                "ACCOUNTTYPE",
                "Account type",
                ENUM,
                valid=("balancesheet", "incomestatement"),
            ),
            _f("NORMALBALANCE", "Normal balance", ENUM, valid=("debit", "credit")),
            _f(
                "CLOSINGTYPE",
                "Closing type",
                ENUM,
                valid=("non-closing account", "closing account"),
            ),
            _STATUS,
            *_audit(),
        ),
        _object(
            "GLBATCH",
            "Journal Entry",
            _f("BATCHNO", "Transaction number", INTEGER, readonly=True),
            _f("BATCH_TITLE", "Description", required=True),
            _f("JOURNAL", "Journal", required=True),
            _f("BATCH_DATE", "Posting date", DATE, required=True),
            _f("MODULE", "Module", readonly=True),
            _f("STATE", "State", ENUM, valid=("Draft", "Submitted", "Posted", "Declined")),
            _f("REFERENCENO", "Reference number"),
            *_audit(),
        ),
        _object(
            "GLENTRY",
            "Journal Entry Line",
            _f("BATCHNO", "Journal entry record number", INTEGER, readonly=True),
            _f("LINE_NO", "Line number", INTEGER, readonly=True),
            _f("TR_TYPE", "Transaction type", INTEGER, valid=("1", "-1")),
            _f("ENTRY_DATE", "Entry date", DATE),
            _f("ACCOUNTNO", "Account number", required=True),
            _f("AMOUNT", "Amount", DECIMAL),
            _f("TRX_AMOUNT", "Transaction amount", DECIMAL),
            _f("CURRENCY", "Currency"),
            _f("DEPARTMENTID", "Department"),
            _f("LOCATIONID", "Location"),
            _f("CLASSID", "Class"),
            _f("PROJECTID", "Project"),
            _f("DESCRIPTION", "Memo"),
            *_audit(),
        ),
        _object(
            "CONTACT",
            "Contact",
            _f("CONTACTNAME", "Contact name", required=True),
            _f("COMPANYNAME", "Company name"),
            _f("FIRSTNAME", "First name"),
            _f("LASTNAME", "Last name"),
            _f("PRINTAS", "Print as", required=True),
            _f("EMAIL1", "Primary email address"),
            _f("EMAIL2", "Secondary email address"),
            _f("PHONE1", "Primary phone"),
            _f("MAILADDRESS.ADDRESS1", "Address line 1"),
            _f("MAILADDRESS.CITY", "City"),
            _f("MAILADDRESS.STATE", "State/Province"),
            _f("MAILADDRESS.ZIP", "Zip/Postal code"),
            _f("MAILADDRESS.COUNTRY", "Country"),
            _STATUS,
            *_audit(),
        ),
        _object(
            "ITEM",
            "Item",
            _f("ITEMID", "Item ID", required=True),
            _f("NAME", "Name", required=True),
            _f("ITEMTYPE", "Item type", ENUM, valid=("Inventory", "Non-Inventory", "Kit")),
            _f("PRODUCTLINEID", "Product line"),
            _f("BASEPRICE", "Base price", DECIMAL),
            _f("STANDARD_COST", "Standard cost", DECIMAL),
            _STATUS,
            *_audit(),
        ),
        dimension(
            "PROJECT",
            "Project",
            "PROJECTID",
            (
                _f("CUSTOMERID", "Customer ID"),
                _f("BEGINDATE", "Begin date", DATE),
                _f("ENDDATE", "End date", DATE),
            ),
        ),
        dimension("DEPARTMENT", "Department", "DEPARTMENTID", (_f("PARENTID", "Parent ID"),)),
        dimension("LOCATION", "Location", "LOCATIONID", (_f("PARENTID", "Parent ID"),)),
        dimension("CLASS", "Class", "CLASSID", (_f("PARENTID", "Parent ID"),)),
        _object(
            "EMPLOYEE",
            "Employee",
            _f("EMPLOYEEID", "Employee ID", required=True),
            _f("PERSONALINFO.CONTACTNAME", "Contact name", required=True),
            _f("PERSONALINFO.EMAIL1", "Primary email address"),
            _f("TITLE", "Title"),
            _f("DEPARTMENTID", "Department"),
            _f("LOCATIONID", "Location"),
            _f("STARTDATE", "Start date", DATE),
            _f("ENDDATE", "Termination date", DATE),
            _STATUS,
            *_audit(),
        ),
    )


OBJECTS: dict[str, ObjectDef] = {o.name: o for o in (*SERVED, *_standard_objects())}

# Relationships shown by `lookup` (data/Type/Relationships/Relationship).
RELATIONSHIPS: dict[str, tuple[tuple[str, str, str, str], ...]] = {
    # (OBJECTPATH, OBJECTNAME, RELATIONSHIPTYPE, RELATEDBY)
    "APBILL": (("VENDOR", "vendor", "MANY2ONE", "VENDORID"),),
    "APBILLITEM": (("APBILL", "apbill", "MANY2ONE", "RECORDKEY"),),
    "APPYMT": (("VENDOR", "vendor", "MANY2ONE", "VENDORID"),),
    "APPYMTDETAIL": (
        ("APPYMT", "appymt", "MANY2ONE", "PAYMENTKEY"),
        ("APBILL", "apbill", "MANY2ONE", "RECORDKEY"),
        ("APBILLITEM", "apbillitem", "MANY2ONE", "ENTRYKEY"),
    ),
    "ARINVOICE": (("CUSTOMER", "customer", "MANY2ONE", "CUSTOMERID"),),
    "ARINVOICEITEM": (("ARINVOICE", "arinvoice", "MANY2ONE", "RECORDKEY"),),
    "ARPYMT": (("CUSTOMER", "customer", "MANY2ONE", "CUSTOMERID"),),
    "ARPYMTDETAIL": (
        ("ARPYMT", "arpymt", "MANY2ONE", "PAYMENTKEY"),
        ("ARINVOICE", "arinvoice", "MANY2ONE", "RECORDKEY"),
        ("ARINVOICEITEM", "arinvoiceitem", "MANY2ONE", "ENTRYKEY"),
    ),
}
