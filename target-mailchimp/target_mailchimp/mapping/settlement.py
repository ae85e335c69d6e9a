"""THE financial_status rule: a document's status from its newest facts.

A pure function of facts, for any document that is owed and settled (an AP bill, an AR
invoice): `settlement_status(document, settlements, status_for_state)`.

Facts:

- `DocumentFacts`: `total` and `total_due` (both in the currency the settlements are compared
  in), the document `state`, and `when` (its last modification).
- `Settlement`: what one payment did to the document: `amount` settled by every means (cash,
  credits/debit memos, discounts or negative documents applied inline, advances), zero when the
  payment moved no money (draft, submitted, approved but unpaid, declined); `reversed` when it
  had moved money that was taken back (voided, reversed); `when` its last modification.

The rule (first that applies):

1. `cancelled` when `status_for_state(state)` is "cancelled" (reversed, declined documents);
2. the document's own facts say settled (`total_due` is 0 with a positive `total`, or
   `status_for_state(state)` is "paid"):
   - `pending` when a reversed settlement is newer than the document and the settlements that
     still count do not cover the total (a voided payment takes the order back to pending
     unless newer document facts say it is settled);
   - else `paid`;
3. the settlements that count (not reversed) cover a positive `total`, and either the document
   does not say what is due (`total_due` unknown) or one of them is newer than the document:
   `paid`;
4. else `status_for_state(state)`: "pending" by default (something is still due).

"Newer" compares `when` stamps; a settlement whose stamp or whose document's stamp is missing
counts as newer (a payment always follows the document it pays), an equal stamp does not
(Intacct updates the document in the same transaction that applies the payment). The
settlements are a set: one per payment (see `newest_settlements`), so the result never
depends on the order the facts arrived in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from target_mailchimp.mapping.common import to_datetime

PAID = "paid"
PENDING = "pending"
CANCELLED = "cancelled"

#: Payment states that moved no money: they settle nothing (compared case-insensitively).
#: "Approved" counts once the payment has a paid date (`payment_moved_money`).
NO_MONEY_STATES = frozenset(
    {
        "draft",
        "submitted",
        "unapproved",
        "partially approved",
        "approved",
        "declined",
        "analyzing",
    }
)
#: Payment states whose money was taken back.
REVERSED_STATES = frozenset({"voided", "reversed", "reversal"})


def payment_moved_money(state: str | None, paid_date: object = None) -> bool:
    """True when a payment in `state` settled something.

    Draft, submitted, unapproved, partially approved, declined and voided/reversed payments
    settle nothing; "Approved" settles once it has a paid date (approved but unpaid does not).
    A payment without a state (a record from another source) counts as moved.
    """
    if state is None:
        return True
    key = state.strip().casefold()
    if key in REVERSED_STATES:
        return False
    if key == "approved":
        return paid_date not in (None, "")
    return key not in NO_MONEY_STATES


def payment_reversed(state: str | None) -> bool:
    """True when a payment in `state` had its money taken back (voided, reversed)."""
    return state is not None and state.strip().casefold() in REVERSED_STATES


@dataclass(frozen=True)
class DocumentFacts:
    """What the rule needs about the document (bill, invoice) being settled."""

    total: Decimal | None
    total_due: Decimal | None
    state: str | None
    when: str | None


@dataclass(frozen=True)
class Settlement:
    """What one payment settled of the document, in the document's currency."""

    key: int
    amount: Decimal
    reversed: bool = False
    when: str | None = None


_OLDEST = datetime.min.replace(tzinfo=UTC)


def _stamp(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return to_datetime(value)
    except ValueError:
        return None


def _newer(settlement: Settlement, document_when: datetime | None) -> bool:
    mine = _stamp(settlement.when)
    if mine is None or document_when is None:
        return True
    return mine > document_when


def settlement_version(settlement: Settlement) -> tuple[bool, datetime, Decimal]:
    """Which of two versions of one payment is the newest: a reversed one (money taken back
    is never given back), then the latest stamp, then the larger amount (a tie-break that
    makes the choice independent of arrival order)."""
    stamp = _stamp(settlement.when) or _OLDEST
    return (settlement.reversed, stamp, settlement.amount)


def newest_settlements(settlements: Iterable[Settlement]) -> list[Settlement]:
    """One settlement per payment key: its newest version (`settlement_version`)."""
    chosen: dict[int, Settlement] = {}
    for item in settlements:
        other = chosen.get(item.key)
        if other is None or settlement_version(item) > settlement_version(other):
            chosen[item.key] = item
    return [chosen[k] for k in sorted(chosen)]


def settlement_status(
    document: DocumentFacts,
    settlements: Iterable[Settlement],
    status_for_state: Callable[[str | None], str],
) -> str:
    """The document's financial_status (rule in the module docstring)."""
    mapped = status_for_state(document.state)
    if mapped == CANCELLED:
        return CANCELLED
    items = newest_settlements(settlements)
    when = _stamp(document.when)
    total = document.total
    counted = [s for s in items if not s.reversed]
    covered = (
        total is not None and total > 0 and sum((s.amount for s in counted), Decimal(0)) >= total
    )
    settled_by_document = mapped == PAID or (
        document.total_due is not None
        and document.total_due == 0
        and total is not None
        and total > 0
    )
    if settled_by_document:
        taken_back = any(s.reversed and _newer(s, when) for s in items)
        return PENDING if taken_back and not covered else PAID
    if covered and (
        document.total_due is None or any(s.amount > 0 and _newer(s, when) for s in counted)
    ):
        return PAID
    return mapped


def older_version(incoming: tuple[bool, str | None], stored: tuple[bool, str | None]) -> bool:
    """True when the `incoming` version of a record is older than the `stored` one, so the
    ledger keeps what it has (the newest facts win, whatever order they arrive in).

    A version is (reversed, when): a reversed (voided) version is newer than any that is not
    (Intacct never un-voids), then the later stamp wins. A missing stamp on either side, or an
    equal one, is not older: the incoming version replaces the stored one.
    """
    if incoming[0] != stored[0]:
        return stored[0]
    mine, theirs = _stamp(incoming[1]), _stamp(stored[1])
    return mine is not None and theirs is not None and mine < theirs
