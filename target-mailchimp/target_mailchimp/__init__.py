"""Singer target for the Mailchimp Marketing API."""
