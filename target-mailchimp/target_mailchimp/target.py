"""The target: configuration and sink registry."""

from __future__ import annotations

from singer_sdk import Target
from singer_sdk import typing as th


class TargetMailchimp(Target):
    """Writes Intacct customers, vendors, bills and payments to Mailchimp."""

    name = "target-mailchimp"

    config_jsonschema = th.PropertiesList(
        th.Property(
            "api_key",
            th.StringType,
            required=True,
            secret=True,
            title="API key",
            description="Mailchimp API key; its suffix after the last '-' names the data center.",
        ),
        th.Property(
            "api_url",
            th.StringType,
            title="API base URL",
            description=(
                "Override of the base URL including /3.0, e.g. http://127.0.0.1:8080/3.0. "
                "Default: https://<dc>.api.mailchimp.com/3.0 from the key."
            ),
        ),
        th.Property(
            "list_id",
            th.StringType,
            required=True,
            title="Audience ID",
            description="The Mailchimp audience (list) that members are written to.",
        ),
        th.Property(
            "max_concurrency",
            th.IntegerType,
            default=8,
            title="Max concurrency",
            description="Requests in flight at once (Mailchimp allows 10 per account).",
        ),
        th.Property(
            "request_timeout",
            th.NumberType,
            default=120,
            title="Request timeout (seconds)",
            description="Seconds to wait for one Mailchimp response.",
        ),
        th.Property(
            "max_retries",
            th.IntegerType,
            default=5,
            title="Max retries",
            description="Retries of a request after a transient fault, with exponential backoff.",
        ),
    ).to_dict()
