"""ISO 4217 currency codes accepted for e-commerce orders.

`check_currency(value) -> (code, problem)`: the code must have the ISO 4217 shape (three
letters; surrounding spaces are trimmed and lower case is upper-cased) and be a currency code
that Babel knows from the Unicode CLDR: every current ISO 4217 code (fund codes included) and
the withdrawn ones, so a bill issued in a currency since replaced (BGN before Bulgaria's euro,
SLL before the redenominated SLE) still becomes an order in the currency it was issued in.
The codes ISO 4217 assigns to what is not money are refused: precious metals, bond market
units, the testing code and "no currency". Babel also knows each currency's minor units
(`babel.numbers.get_currency_precision`), should the mapping ever need them; today amounts
are sent with the digits Intacct gave.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from babel.numbers import list_currencies

#: ISO 4217 codes that are not currencies: gold, silver, palladium, platinum; the four bond
#: market units; the code reserved for testing; the code for "no currency involved".
NOT_MONEY: frozenset[str] = frozenset(
    {"XAU", "XAG", "XPD", "XPT", "XBA", "XBB", "XBC", "XBD", "XTS", "XXX"}
)

_SHAPE = re.compile(r"^[A-Z]{3}$")


@functools.cache
def currency_codes() -> frozenset[str]:
    """Every code `check_currency` accepts (loaded from Babel's data on first use)."""
    return frozenset(list_currencies()) - NOT_MONEY


def check_currency(value: Any) -> tuple[str | None, str | None]:
    """(code, None) for a known ISO 4217 code, else (None, problem)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, "is empty"
    if not isinstance(value, str):
        return None, f"{value!r} is not a currency code"
    code = value.strip().upper()
    if not _SHAPE.match(code):
        return None, f"{value!r} is not an ISO 4217 code (three letters, e.g. USD)"
    if code in NOT_MONEY:
        return None, f"{value!r} is an ISO 4217 code for something that is not money"
    if code not in currency_codes():
        return None, f"{value!r} is not a known ISO 4217 currency code"
    return code, None
