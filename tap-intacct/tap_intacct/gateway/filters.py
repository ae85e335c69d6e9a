"""Filters and sort orders of the ``query`` function, as small immutable trees.

::

    Filter.and_(
        Filter.ge("WHENMODIFIED", "01/02/2024 10:00:00"),
        Filter.or_(Filter.eq("STATE", "Posted"), Filter.in_("STATE", ["Paid", "Partially Paid"])),
    )

Values may be ``str``, ``int``, ``Decimal``, ``bool``, ``date`` or ``datetime``; they are
rendered with :func:`~tap_intacct.gateway.sanitize.format_value`. ``and``/``or`` need at least two
children in the schema, so :meth:`Filter.and_` with one child returns that child unwrapped.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from lxml import etree

from tap_intacct.gateway.sanitize import format_value, sanitize_text

__all__ = ["COMPARISON_OPERATORS", "Condition", "Filter", "Logical", "Order"]

#: Operators taking one field and one value.
_SINGLE_VALUE = frozenset(
    {
        "equalto",
        "notequalto",
        "lessthan",
        "lessthanorequalto",
        "greaterthan",
        "greaterthanorequalto",
        "like",
        "notlike",
    }
)
_LIST_VALUE = frozenset({"in", "notin"})
_NO_VALUE = frozenset({"isnull", "isnotnull"})
COMPARISON_OPERATORS = frozenset(_SINGLE_VALUE | _LIST_VALUE | _NO_VALUE | {"between"})
#: Schema limit on the values of one ``in``/``notin``.
MAX_IN_VALUES = 1000


class Filter:
    """A node of a query filter. Build nodes with the static constructors below."""

    __slots__ = ()

    def to_element(self) -> etree._Element:
        raise NotImplementedError

    # -- logic -----------------------------------------------------------------------------------
    @staticmethod
    def and_(*children: Filter) -> Filter:
        """All of ``children``. One child is returned as is (the schema needs >= 2 under and)."""
        return _logical("and", children)

    @staticmethod
    def or_(*children: Filter) -> Filter:
        """Any of ``children``. One child is returned as is."""
        return _logical("or", children)

    # -- comparisons ------------------------------------------------------------------------------
    @staticmethod
    def eq(field: str, value: object) -> Condition:
        return Condition("equalto", field, (format_value(value),))

    @staticmethod
    def ne(field: str, value: object) -> Condition:
        return Condition("notequalto", field, (format_value(value),))

    @staticmethod
    def lt(field: str, value: object) -> Condition:
        return Condition("lessthan", field, (format_value(value),))

    @staticmethod
    def le(field: str, value: object) -> Condition:
        return Condition("lessthanorequalto", field, (format_value(value),))

    @staticmethod
    def gt(field: str, value: object) -> Condition:
        return Condition("greaterthan", field, (format_value(value),))

    @staticmethod
    def ge(field: str, value: object) -> Condition:
        return Condition("greaterthanorequalto", field, (format_value(value),))

    @staticmethod
    def between(field: str, low: object, high: object) -> Condition:
        return Condition("between", field, (format_value(low), format_value(high)))

    @staticmethod
    def in_(field: str, values: Iterable[object]) -> Condition:
        return Condition("in", field, tuple(format_value(v) for v in values))

    @staticmethod
    def notin(field: str, values: Iterable[object]) -> Condition:
        return Condition("notin", field, tuple(format_value(v) for v in values))

    @staticmethod
    def like(field: str, pattern: str) -> Condition:
        return Condition("like", field, (format_value(pattern),))

    @staticmethod
    def notlike(field: str, pattern: str) -> Condition:
        return Condition("notlike", field, (format_value(pattern),))

    @staticmethod
    def isnull(field: str) -> Condition:
        return Condition("isnull", field, ())

    @staticmethod
    def isnotnull(field: str) -> Condition:
        return Condition("isnotnull", field, ())

    # Long names matching the gateway's element names.
    equalto = eq
    notequalto = ne
    lessthan = lt
    lessthanorequalto = le
    greaterthan = gt
    greaterthanorequalto = ge


@dataclass(frozen=True, slots=True)
class Condition(Filter):
    """One comparison: ``<operator><field/><value/>...</operator>``."""

    operator: str
    field: str
    values: tuple[str, ...]

    def __post_init__(self) -> None:
        if self.operator not in COMPARISON_OPERATORS:
            raise ValueError(f"unknown filter operator {self.operator!r}")
        if not self.field or not sanitize_text(self.field).strip():
            raise ValueError(f"{self.operator} filter needs a field name")
        count = len(self.values)
        if self.operator in _SINGLE_VALUE and count != 1:
            raise ValueError(f"{self.operator} takes exactly one value, got {count}")
        if self.operator == "between" and count != 2:
            raise ValueError(f"between takes exactly two values, got {count}")
        if self.operator in _LIST_VALUE and not 1 <= count <= MAX_IN_VALUES:
            raise ValueError(
                f"{self.operator} on {self.field} takes 1 to {MAX_IN_VALUES} values, got {count}; "
                "split the list into several queries"
            )
        if self.operator in _NO_VALUE and count:
            raise ValueError(f"{self.operator} takes no value")

    def to_element(self) -> etree._Element:
        node = etree.Element(self.operator)
        etree.SubElement(node, "field").text = sanitize_text(self.field)
        for value in self.values:
            etree.SubElement(node, "value").text = value
        return node


@dataclass(frozen=True, slots=True)
class Logical(Filter):
    """``<and>``/``<or>`` over two or more children."""

    operator: Literal["and", "or"]
    children: tuple[Filter, ...]

    def __post_init__(self) -> None:
        if self.operator not in ("and", "or"):
            raise ValueError(f"unknown logical operator {self.operator!r}")
        if len(self.children) < 2:
            raise ValueError(f"<{self.operator}> needs at least two children")

    def to_element(self) -> etree._Element:
        node = etree.Element(self.operator)
        for child in self.children:
            node.append(child.to_element())
        return node


def _logical(operator: Literal["and", "or"], children: tuple[Filter, ...]) -> Filter:
    for child in children:
        if not isinstance(child, Filter):
            raise TypeError(f"{operator}_ takes Filter nodes, got {type(child).__name__}")
    if not children:
        raise ValueError(f"{operator}_ needs at least one condition")
    if len(children) == 1:
        return children[0]
    return Logical(operator, children)


@dataclass(frozen=True, slots=True)
class Order:
    """One ``<order>`` of ``<orderby>``."""

    field: str
    descending: bool = False

    @classmethod
    def coerce(cls, value: Order | str | tuple[str, str]) -> Order:
        """Accept ``"FIELD"``, ``("FIELD", "asc"|"desc")`` or an :class:`Order`."""
        if isinstance(value, Order):
            return value
        if isinstance(value, str):
            return cls(value)
        field, direction = value
        direction = direction.lower()
        if direction not in ("asc", "ascending", "desc", "descending"):
            raise ValueError(f"sort direction for {field} must be asc or desc, not {direction!r}")
        return cls(field, descending=direction.startswith("desc"))

    def to_element(self) -> etree._Element:
        node = etree.Element("order")
        etree.SubElement(node, "field").text = sanitize_text(self.field)
        etree.SubElement(node, "descending" if self.descending else "ascending")
        return node
