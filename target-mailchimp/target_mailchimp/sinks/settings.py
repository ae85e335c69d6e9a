"""The run settings the sinks read (the mapping's own settings are `MappingSettings`).

`RunSettings.from_config(config)` checks every value and raises `ConfigurationError` naming
the setting, so a bad setting stops the run before any record is read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from target_mailchimp.ledger import DEFAULT_LEDGER_URL, LedgerScope
from target_mailchimp.mapping import MappingSettings, check_currency
from target_mailchimp.sinks.errors import ConfigurationError

BATCH_MODES = ("auto", "always", "never")
DEFAULT_BATCH_THRESHOLD = 2000
DEFAULT_STORE_NAME = "Sage Intacct"
DEFAULT_STORE_CURRENCY = "USD"


#: Days a record may wait for its vendor or bill before it is rejected (`max_park_days`).
DEFAULT_MAX_PARK_DAYS = 7


@dataclass(frozen=True)
class RunSettings:
    """What one target run does besides mapping (see the target's config schema)."""

    list_id: str
    store_id: str = "intacct"
    store_name: str = DEFAULT_STORE_NAME
    store_currency: str = DEFAULT_STORE_CURRENCY
    ledger_url: str = DEFAULT_LEDGER_URL
    full_refresh: bool = False
    dry_run: bool = False
    max_rejected_records: int | None = None
    batch_operations: str = "auto"
    batch_threshold: int = DEFAULT_BATCH_THRESHOLD
    batch_poll_interval: float = 5.0
    batch_timeout: float = 1800.0
    validate_records: bool = True
    intacct_company_id: str = ""
    intacct_entity_id: str = ""
    max_park_days: float = DEFAULT_MAX_PARK_DAYS

    @property
    def scope(self) -> LedgerScope:
        """This company's rows in the ledger (see `target_mailchimp.ledger.scope`)."""
        return LedgerScope(
            self.intacct_company_id, self.intacct_entity_id, self.list_id, self.store_id
        )

    def use_batches(self, count: int) -> bool:
        """Whether `count` writes of one kind go through /batches."""
        if count <= 0 or self.batch_operations == "never":
            return False
        return self.batch_operations == "always" or count > self.batch_threshold

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> RunSettings:
        def get(name: str, default: Any) -> Any:
            value = config.get(name)
            return default if value is None else value

        list_id = config.get("list_id")
        if not isinstance(list_id, str) or not list_id.strip():
            raise ConfigurationError("setting 'list_id' (the Mailchimp audience id) is required")
        mode = get("batch_operations", "auto")
        if mode not in BATCH_MODES:
            raise ConfigurationError(
                f"setting 'batch_operations' must be one of {', '.join(BATCH_MODES)}; got {mode!r}"
            )
        threshold = get("batch_threshold", DEFAULT_BATCH_THRESHOLD)
        if isinstance(threshold, bool) or not isinstance(threshold, int) or threshold < 0:
            raise ConfigurationError(
                f"setting 'batch_threshold' must be a whole number of 0 or more; got {threshold!r}"
            )
        max_rejected = config.get("max_rejected_records")
        if max_rejected is not None and (
            isinstance(max_rejected, bool) or not isinstance(max_rejected, int) or max_rejected < 0
        ):
            raise ConfigurationError(
                "setting 'max_rejected_records' must be a whole number of 0 or more "
                f"(or unset for no limit); got {max_rejected!r}"
            )
        park_days = get("max_park_days", DEFAULT_MAX_PARK_DAYS)
        if (
            isinstance(park_days, bool)
            or not isinstance(park_days, int | float | Decimal)
            or park_days <= 0
        ):
            raise ConfigurationError(
                f"setting 'max_park_days' must be a positive number of days; got {park_days!r}"
            )
        currency, problem = check_currency(get("store_currency", DEFAULT_STORE_CURRENCY))
        if currency is None:
            raise ConfigurationError(f"setting 'store_currency' {problem}")
        name = get("store_name", DEFAULT_STORE_NAME)
        if not isinstance(name, str) or not name.strip():
            raise ConfigurationError("setting 'store_name' must be a non-empty text")
        for key in ("batch_poll_interval", "batch_timeout"):
            value = config.get(key)
            if value is not None and (
                isinstance(value, bool)
                or not isinstance(value, int | float | Decimal)
                or value <= 0
            ):
                raise ConfigurationError(f"setting {key!r} must be a positive number of seconds")
        try:
            mapping = MappingSettings.from_config(config)
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from None
        scope_ids = {}
        for key in ("intacct_company_id", "intacct_entity_id"):
            value = get(key, "")
            if not isinstance(value, str) or len(value.strip()) > 255 or "/" in value:
                raise ConfigurationError(
                    f"setting {key!r} must be text of at most 255 characters without '/'"
                )
            scope_ids[key] = value.strip()
        return cls(
            list_id=list_id.strip(),
            store_id=mapping.store_id,
            store_name=name.strip(),
            store_currency=currency,
            ledger_url=str(get("ledger_url", DEFAULT_LEDGER_URL)),
            full_refresh=bool(get("full_refresh", False)),
            dry_run=bool(get("dry_run", False)),
            max_rejected_records=max_rejected,
            batch_operations=mode,
            batch_threshold=threshold,
            batch_poll_interval=float(get("batch_poll_interval", 5.0)),
            batch_timeout=float(get("batch_timeout", 1800.0)),
            validate_records=bool(get("validate_records", True)),
            **scope_ids,
            max_park_days=float(park_days),
        )
