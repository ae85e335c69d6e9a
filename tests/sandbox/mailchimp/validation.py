"""Request-body validation: the official per-operation schemas (patched) and the semantic checks.

Bodies are judged by the JSON Schemas in ``tests/sandbox/reference/mailchimp-schemas``
(generated from Mailchimp's Swagger, API 3.0.41). Only ``schema["properties"]["requestBody"]``
is a valid schema.
Known quirks of those 3.0.41 files are patched here, each with the reason (reference notes B.2):

* member PUT requires ``email_address`` + ``status_if_new``: too strict. Reality: both are needed
  only when the address is new; an existing member may be updated with just ``merge_fields`` or
  ``status``. The ``required`` list is dropped and the rule is enforced by the model.
* member POST types ``merge_fields`` values as strings: an ADDRESS merge field takes an object,
  so values are left untyped; the merge-field rules are coded in :func:`check_merge_fields`.
* batch subscribe items lack ``status_if_new``, ``tags`` and the ``transactional`` status, and the
  body lacks ``sync_tags``: added as in the 2026 spec.
* e-commerce customers require ``email_address`` + ``opt_in_status`` in 3.0.41; the 2026 spec
  requires only ``id``. An email is needed only to CREATE a customer, which the model enforces
  with Mailchimp's own message "An email address is required to create a customer.".
* ``POST /batches`` operations: ``DELETE`` added to the method enum (UNSURE in the reference).
* PATCH bodies reuse the POST/PUT schema without ``required``.
* ``format: date-time`` accepts the 2026 timestamp forms (ISO 8601, ``YYYY-MM-DD HH:MM[:SS]``,
  ``+hhmm`` offsets, zone abbreviations) and ``""``; a bare date is rejected.
* Money fields stay numbers (3.0.41); the 2026 spec would also take numeric strings.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator, FormatChecker
from jsonschema.exceptions import ValidationError

from tests.sandbox.reference import MAILCHIMP_SCHEMAS

MEMBER_STATUSES = ["subscribed", "unsubscribed", "cleaned", "pending", "transactional"]
TEXT_MAX_BYTES = 255


def default_schema_dir() -> Path:
    """The vendored schemas: ``tests/sandbox/reference/mailchimp-schemas`` (PROVENANCE.md)."""
    return MAILCHIMP_SCHEMAS


_TIMESTAMP = re.compile(
    r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?"
    r"\s?(Z|[+-]\d{2}:?\d{2}|[A-Z]{2,5})?$"
)


def _is_timestamp(value: object) -> bool:
    if not isinstance(value, str):
        return True
    return value == "" or bool(_TIMESTAMP.match(value))


def _strip_required(schema: Any) -> Any:
    """A deep copy of *schema* with every ``required`` list removed (for PATCH bodies)."""
    if isinstance(schema, dict):
        return {k: _strip_required(v) for k, v in schema.items() if k != "required"}
    if isinstance(schema, list):
        return [_strip_required(v) for v in schema]
    return schema


def _load(schema_dir: Path, operation: str) -> dict[str, Any]:
    path = schema_dir / f"{operation}.in.json"
    try:
        with path.open(encoding="utf-8") as fh:
            doc = json.load(fh)
    except FileNotFoundError as exc:
        raise FileNotFoundError(
            f"Mailchimp schema {path} not found; it is part of the repository "
            "(tests/sandbox/reference/mailchimp-schemas): restore it with git checkout."
        ) from exc
    body: dict[str, Any] = doc["properties"]["requestBody"]
    return copy.deepcopy(body)


def build_schemas(schema_dir: Path) -> dict[str, dict[str, Any]]:
    """Every request-body schema the sandbox uses, keyed by an internal name, quirks patched."""
    s: dict[str, dict[str, Any]] = {}

    member_put = _load(schema_dir, "putListsIdMembersId")
    member_put.pop("required", None)
    s["member_put"] = member_put
    s["member_patch"] = _strip_required(member_put)

    member_post = _load(schema_dir, "postListsIdMembers")
    member_post["properties"]["merge_fields"]["additionalProperties"] = {}
    s["member_post"] = member_post

    batch = _load(schema_dir, "postListsId")
    item = batch["properties"]["members"]["items"]
    item["properties"]["status"]["enum"] = list(MEMBER_STATUSES)
    item["properties"]["status_if_new"] = {"type": "string", "enum": list(MEMBER_STATUSES)}
    item["properties"]["tags"] = {"type": "array", "items": {"type": "string"}}
    batch["properties"]["sync_tags"] = {"type": "boolean"}
    s["batch_subscribe"] = batch

    s["member_tags"] = _load(schema_dir, "postListMemberTags")

    merge_field = _load(schema_dir, "postListsIdMergeFields")
    s["merge_field_post"] = merge_field
    s["merge_field_patch"] = _strip_required(merge_field)

    store = _load(schema_dir, "postEcommerceStores")
    s["store_post"] = store
    s["store_patch"] = _strip_required(store)

    customer_put = _load(schema_dir, "putEcommerceStoresIdCustomersId")
    customer_put["required"] = ["id"]
    s["customer_put"] = customer_put
    customer_post = _load(schema_dir, "postEcommerceStoresIdCustomers")
    customer_post["required"] = ["id"]
    s["customer_post"] = customer_post
    s["customer_patch"] = _strip_required(customer_put)

    product = _load(schema_dir, "postEcommerceStoresIdProducts")
    s["product_post"] = product
    s["product_put"] = product
    s["product_patch"] = _strip_required(product)
    variant = copy.deepcopy(product["properties"]["variants"]["items"])
    s["variant_put"] = variant
    s["variant_patch"] = _strip_required(variant)

    order = _load(schema_dir, "postEcommerceStoresIdOrders")
    s["order_post"] = order
    s["order_patch"] = _strip_required(_load(schema_dir, "patchEcommerceStoresIdOrdersId"))
    line = copy.deepcopy(order["properties"]["lines"]["items"])
    s["order_line_post"] = line
    s["order_line_patch"] = _strip_required(line)

    batches = _load(schema_dir, "postBatches")
    op = batches["properties"]["operations"]["items"]
    op["properties"]["method"]["enum"] = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    s["batches_post"] = batches
    return s


_JSON_TYPE_NAMES: dict[type, str] = {
    type(None): "NULL",
    bool: "boolean",
    int: "integer",
    float: "number",
    str: "string",
    list: "array",
    dict: "object",
}


def json_type_name(value: object) -> str:
    return _JSON_TYPE_NAMES.get(type(value), type(value).__name__)


def _field_path(parts: Iterable[str | int]) -> str:
    out: list[str] = []
    for part in parts:
        out.append(f"item:{part}" if isinstance(part, int) else str(part))
    return ".".join(out)


def _mailchimp_errors(errors: Iterable[ValidationError]) -> list[dict[str, str]]:
    """jsonschema errors in Mailchimp's ``errors[]`` shape ({field, message})."""
    missing: dict[str, list[str]] = {}
    out: list[dict[str, str]] = []
    for err in errors:
        parent = list(err.absolute_path)
        if err.validator == "required":
            name = err.message.split("'")[1] if "'" in err.message else err.message
            missing.setdefault(_field_path(parent), []).append(name)
        elif err.validator == "type":
            expected = err.validator_value
            if isinstance(expected, list):
                expected = " or ".join(expected)
            out.append(
                {
                    "field": _field_path(parent),
                    "message": (
                        f"Schema describes {expected}, {json_type_name(err.instance)} found instead"
                    ),
                }
            )
        elif err.validator == "enum":
            choices = ", ".join(str(v) for v in err.validator_value)
            out.append(
                {
                    "field": _field_path(parent),
                    "message": (
                        f"Data did not match any of the schema's enum values. "
                        f"Allowed: {choices}; got {json.dumps(err.instance)}."
                    ),
                }
            )
        elif err.validator == "format":
            out.append(
                {
                    "field": _field_path(parent),
                    "message": f"{json.dumps(err.instance)} is not a valid {err.validator_value}.",
                }
            )
        else:
            out.append({"field": _field_path(parent), "message": err.message})
    for field, names in missing.items():
        out.append(
            {"field": field, "message": f"Required fields were not provided: {', '.join(names)}"}
        )
    out.sort(key=lambda e: e["field"])
    return out


class BodyValidator:
    """Compiled validators for every request body the sandbox accepts."""

    def __init__(self, schema_dir: Path | None = None) -> None:
        self.schema_dir = schema_dir or default_schema_dir()
        checker = FormatChecker(formats=())
        checker.checks("date-time")(_is_timestamp)
        self.schemas = build_schemas(self.schema_dir)
        self._validators = {
            name: Draft7Validator(schema, format_checker=checker)
            for name, schema in self.schemas.items()
        }

    def errors(self, name: str, body: object) -> list[dict[str, str]]:
        """Mailchimp-shaped field errors of *body* against schema *name* (empty when valid)."""
        validator = self._validators[name]
        return _mailchimp_errors(validator.iter_errors(body))


# --- email addresses ---------------------------------------------------------------------

DEFAULT_FAKE_PATTERNS = (
    r"@example\.invalid$",
    r"^fake[^@]*@",
    r"^test@test\.",
)
_BAD_CHARS = re.compile(r"[\s,;<>()\[\]\\\"]")


def email_syntax_ok(email: str) -> bool:
    """Basic syntax: one ``@``, a non-empty local part, a dotted domain without empty labels."""
    if email.count("@") != 1 or _BAD_CHARS.search(email):
        return False
    local, domain = email.split("@")
    if not local or local.startswith(".") or local.endswith(".") or ".." in local:
        return False
    labels = domain.split(".")
    return len(labels) >= 2 and all(labels) and len(labels[-1]) >= 2


def fake_detail(email: str) -> str:
    return f"{email} looks fake or invalid, please enter a real email address."


# --- merge fields ------------------------------------------------------------------------

ADDRESS_REQUIRED = ("addr1", "city", "state", "zip")
ADDRESS_OPTIONAL = ("addr2", "country")
MERGE_DETAIL = "Your merge fields were invalid."
_DATE_FORMATS = {
    "YYYY-MM-DD": re.compile(r"^\d{4}-\d{2}-\d{2}$"),
    "YYYY/MM/DD": re.compile(r"^\d{4}/\d{2}/\d{2}$"),
    "DD-MM-YYYY": re.compile(r"^\d{2}-\d{2}-\d{4}$"),
    "MM/DD/YYYY": re.compile(r"^\d{2}/\d{2}/\d{4}$"),
}
_BIRTHDAY = re.compile(r"^\d{2}/\d{2}$")
_ZIP = re.compile(r"^\d{5}$")
_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


def _text_problem(value: object) -> tuple[str | None, object]:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return f"Schema describes string, {json_type_name(value)} found instead", value
    text = value if isinstance(value, str) else str(value)
    size = len(text.encode("utf-8"))
    if size > TEXT_MAX_BYTES:
        return (
            f"Value must be at most {TEXT_MAX_BYTES} bytes (UTF-8); it is {size} bytes.",
            text,
        )
    return None, text


def _address_problem(value: object) -> tuple[str | None, object]:
    if value == "":
        return None, ""
    if not isinstance(value, dict):
        return (
            f"Schema describes object, {json_type_name(value)} found instead "
            f"(an address needs addr1, city, state and zip)",
            value,
        )
    clean: dict[str, str] = {}
    for key in (*ADDRESS_REQUIRED, *ADDRESS_OPTIONAL):
        if key not in value:
            continue
        part = value[key]
        if not isinstance(part, str):
            return (
                f"Address field {key} must be a string, {json_type_name(part)} found instead",
                value,
            )
        if len(part.encode("utf-8")) > TEXT_MAX_BYTES:
            return f"Address field {key} must be at most {TEXT_MAX_BYTES} bytes.", value
        clean[key] = part
    missing = [k for k in ADDRESS_REQUIRED if not clean.get(k, "").strip()]
    if missing:
        return (
            f"Please enter a complete address (missing: {', '.join(missing)})",
            value,
        )
    clean.setdefault("addr2", "")
    clean.setdefault("country", "US")
    return None, clean


def _typed_problem(field: dict[str, Any], value: object) -> tuple[str | None, object]:
    kind = field["type"]
    if value is None:
        expected = "object" if kind == "address" else "string"
        return f"Schema describes {expected}, NULL found instead", value
    if kind == "address":
        return _address_problem(value)
    if kind == "number":
        if isinstance(value, bool):
            return "Please enter a number", value
        if isinstance(value, int | float):
            return None, value
        if isinstance(value, str) and (value == "" or _NUMBER.match(value.strip())):
            return None, value
        return "Please enter a number", value
    problem, text = _text_problem(value)
    if problem or text == "":
        return problem, text
    assert isinstance(text, str)
    options = field.get("options") or {}
    if kind == "date":
        fmt = str(options.get("date_format") or "").upper()
        patterns = [_DATE_FORMATS[fmt]] if fmt in _DATE_FORMATS else _DATE_FORMATS.values()
        if not any(p.match(text) for p in patterns):
            return "Please enter a valid date", text
    elif kind == "birthday":
        if not _BIRTHDAY.match(text):
            return "Please enter a valid birthday (MM/DD)", text
    elif kind == "zip":
        if not _ZIP.match(text):
            return "Please enter a valid 5-digit zip code", text
    elif kind in ("url", "imageurl"):
        if not re.match(r"^https?://[^\s/]+\.[^\s]+", text):
            return "Please enter a valid URL", text
    elif kind in ("radio", "dropdown"):
        choices = options.get("choices") or []
        if text not in choices:
            return f"Please choose one of: {', '.join(choices)}", text
    return None, text


def check_merge_fields(
    values: dict[str, Any],
    definitions: dict[str, dict[str, Any]],
    *,
    existing: dict[str, Any],
    check_required: bool,
) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """Validate *values* (tag -> value) against the audience's merge-field *definitions*.

    Returns the cleaned values to store and Mailchimp-shaped errors ({field, message}). Tags
    are matched case-insensitively. Unknown tags are errors. When *check_required* is true
    (new members without ``skip_merge_validation``) required fields must be non-empty in the
    merged result of *existing* and *values*.
    """
    clean: dict[str, Any] = {}
    errors: list[dict[str, str]] = []
    for raw_tag, value in values.items():
        tag = str(raw_tag).upper()
        field = definitions.get(tag)
        if field is None:
            errors.append(
                {"field": str(raw_tag), "message": f"Merge field {raw_tag} does not exist."}
            )
            continue
        problem, cleaned = _typed_problem(field, value)
        if problem:
            errors.append({"field": tag, "message": problem})
        else:
            clean[tag] = cleaned
    if check_required:
        merged = {**existing, **clean}
        for tag, field in definitions.items():
            if field.get("required") and merged.get(tag) in (None, ""):
                errors.append({"field": tag, "message": "Please enter a value"})
    return clean, errors


def apply_fields(body: Any, fields: str | None, exclude: str | None) -> Any:
    """Apply Mailchimp's ``fields`` / ``exclude_fields`` (comma list, dot paths) to a body."""
    if fields:
        return _include(body, [f.strip().split(".") for f in fields.split(",") if f.strip()])
    if exclude:
        body = copy.deepcopy(body)
        for path in (f.strip().split(".") for f in exclude.split(",") if f.strip()):
            _exclude(body, path)
    return body


def _include(node: Any, paths: list[list[str]]) -> Any:
    if isinstance(node, list):
        return [_include(item, paths) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    heads: dict[str, list[list[str]]] = {}
    for path in paths:
        heads.setdefault(path[0], []).append(path[1:])
    for key, rests in heads.items():
        if key not in node:
            continue
        if any(not rest for rest in rests):
            out[key] = node[key]
        else:
            out[key] = _include(node[key], rests)
    return out


def _exclude(node: Any, path: list[str]) -> None:
    if isinstance(node, list):
        for item in node:
            _exclude(item, path)
        return
    if not isinstance(node, dict) or path[0] not in node:
        return
    if len(path) == 1:
        del node[path[0]]
    else:
        _exclude(node[path[0]], path[1:])
