# ruff: noqa: E501  (markdown table rows in the docstring)
"""E-commerce customers from Intacct customers and vendors.

`customer_payload(contact, settings) -> ObjectPayload | Rejected | Skipped`: the body of
PUT /ecommerce/stores/{store_id}/customers/{id} for one `ContactRecord`:

| field | value |
|---|---|
| id | `customer-<CUSTOMERID>` or `vendor-<VENDORID>` |
| email_address | the contact's email (EMAIL1, else EMAIL2) |
| opt_in_status | `false` (an e-commerce call never records marketing consent; an existing member's status is never changed by it) |
| company | DISPLAYCONTACT.COMPANYNAME, else NAME |
| first_name / last_name | DISPLAYCONTACT.FIRSTNAME / LASTNAME |
| address | MAILADDRESS ADDRESS1 -> address1, ADDRESS2 -> address2, CITY -> city, STATE -> province, ZIP -> postal_code, COUNTRY -> country, COUNTRYCODE -> country_code (present parts only) |

Empty values are left out. Rejected when the contact has no valid email (Mailchimp needs one
to create a customer); Skipped when inactive and `inactive_records="ignore"`. With "tag" or
"archive", inactive contacts keep their e-commerce customer (their orders stay linked).
A customer and a vendor sharing an address are two e-commerce customers of one member.
"""

from __future__ import annotations

from typing import Any

from target_mailchimp.mapping.contacts import ContactRecord, contact_outcome
from target_mailchimp.mapping.payloads import ObjectPayload
from target_mailchimp.mapping.results import Rejected, Skipped
from target_mailchimp.mapping.settings import MappingSettings


def customer_payload(
    contact: ContactRecord, settings: MappingSettings
) -> ObjectPayload | Rejected | Skipped:
    """The e-commerce customer of one contact (see module docstring)."""
    outcome = contact_outcome(contact, settings)
    if outcome is not None:
        return outcome
    assert contact.email is not None
    body: dict[str, Any] = {
        "id": contact.customer_id,
        "email_address": contact.email,
        "opt_in_status": False,
    }
    optional = {
        "company": contact.company_name or contact.name,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "address": contact.address.customer_address(),
    }
    body.update({k: v for k, v in optional.items() if v})
    return ObjectPayload(kind="customer", object_id=contact.customer_id, body=body)
