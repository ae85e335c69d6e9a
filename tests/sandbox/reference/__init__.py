"""The vendored reference files (see PROVENANCE.md here): where the sandboxes and tests find them.

Everything lives in the repository; no environment variable or folder beside the clone is read.
"""

from __future__ import annotations

from pathlib import Path

REFERENCE_DIR = Path(__file__).resolve().parent
INTACCT_XSD = REFERENCE_DIR / "intacct-xsd" / "api.xsd"
INTACCT_FIXTURES = REFERENCE_DIR / "intacct-fixtures"
MAILCHIMP_SCHEMAS = REFERENCE_DIR / "mailchimp-schemas"
