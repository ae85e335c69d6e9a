"""The tap: configuration and stream registry."""

from __future__ import annotations

from typing import TYPE_CHECKING

from singer_sdk import Tap
from singer_sdk import typing as th

if TYPE_CHECKING:
    from singer_sdk.streams import Stream

DEFAULT_API_URL = "https://api.intacct.com/ia/xml/xmlgw.phtml"


class TapIntacct(Tap):
    """Reads customers, vendors, AP bills and AP payments from Sage Intacct."""

    name = "tap-intacct"

    config_jsonschema = th.PropertiesList(
        th.Property(
            "sender_id",
            th.StringType,
            required=True,
            title="Sender ID",
            description="Web Services sender ID (the partner credential Sage issues).",
        ),
        th.Property(
            "sender_password",
            th.StringType,
            required=True,
            secret=True,
            title="Sender password",
            description="Web Services sender password.",
        ),
        th.Property(
            "user_id",
            th.StringType,
            required=True,
            title="User ID",
            description="Web Services user of the company.",
        ),
        th.Property(
            "user_password",
            th.StringType,
            required=True,
            secret=True,
            title="User password",
            description="Password of the Web Services user.",
        ),
        th.Property(
            "company_id",
            th.StringType,
            required=True,
            title="Company ID",
            description="Intacct company ID.",
        ),
        th.Property(
            "entity_id",
            th.StringType,
            title="Entity ID",
            description=(
                "Optional entity (location) ID of a multi-entity company. When set, the session is "
                "scoped to that entity; when empty, the tap reads at the top level and includes "
                "entity-private records."
            ),
        ),
        th.Property(
            "api_url",
            th.StringType,
            default=DEFAULT_API_URL,
            title="Gateway URL",
            description="XML gateway URL used to log in. Later calls go to the session's endpoint.",
        ),
        th.Property(
            "session_refresh_minutes",
            th.NumberType,
            default=45,
            title="Session refresh (minutes)",
            description="Renew the API session after this many minutes (sessions expire after 50).",
        ),
        th.Property(
            "request_timeout",
            th.NumberType,
            default=300,
            title="Request timeout (seconds)",
            description="Seconds to wait for one gateway response.",
        ),
        th.Property(
            "max_retries",
            th.IntegerType,
            default=5,
            title="Max retries",
            description="Retries of a request after a transient fault, with exponential backoff.",
        ),
    ).to_dict()

    def discover_streams(self) -> list[Stream]:
        """Return the tap's streams (they arrive with issue 3)."""
        return []
