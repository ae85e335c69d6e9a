"""`python -m target_mailchimp.report`: the same as `target-mailchimp-report`."""

import sys

from target_mailchimp.report.cli import main

sys.exit(main())
