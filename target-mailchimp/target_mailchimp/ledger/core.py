"""`Ledger`: the dedupe, source records, parking, audit trail and run lock in one object."""

from __future__ import annotations

from target_mailchimp.ledger.audit import AuditMixin
from target_mailchimp.ledger.base import DEFAULT_LEDGER_URL, LedgerBase, utcnow
from target_mailchimp.ledger.batches import BatchesMixin
from target_mailchimp.ledger.bulk import BulkMixin
from target_mailchimp.ledger.deletions import DeletionsMixin
from target_mailchimp.ledger.objects import ObjectsMixin
from target_mailchimp.ledger.parking import ParkingMixin
from target_mailchimp.ledger.receivables import ReceivablesMixin
from target_mailchimp.ledger.runs import RunsMixin
from target_mailchimp.ledger.sources import SourcesMixin

__all__ = ["DEFAULT_LEDGER_URL", "Ledger", "LedgerBase", "utcnow"]


class Ledger(
    RunsMixin,
    ObjectsMixin,
    SourcesMixin,
    ParkingMixin,
    AuditMixin,
    ReceivablesMixin,
    BulkMixin,
    BatchesMixin,
    DeletionsMixin,
):
    """Dedupe and audit trail of target-mailchimp, in any SQLAlchemy database.

    `Ledger(url, full_refresh=False, stale_after=timedelta(minutes=10),
    heartbeat_interval=60.0, clock=utcnow)`. One Engine per Ledger; every method runs in its
    own short transaction and is safe to call from several threads. Close with `close()` or
    use it as a context manager.
    """
