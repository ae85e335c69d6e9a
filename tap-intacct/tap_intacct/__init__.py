"""Singer tap for Sage Intacct's XML Web Services gateway."""
