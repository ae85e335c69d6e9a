"""Errors that stop a target run, each with a message an operator can act on.

The CLI prints these as one clear line (no traceback) and exits non-zero; tests and
embedding code catch them by class.
"""

from __future__ import annotations


class TargetError(Exception):
    """A run-stopping problem; ``str(exc)`` is the whole message."""


class ConfigurationError(TargetError, ValueError):
    """A setting is invalid, or Mailchimp refuses the account/audience/store they name."""


class UnknownStreamError(TargetError, ValueError):
    """A stream the target does not know how to write."""


class MailchimpUnavailableError(TargetError):
    """Mailchimp stayed unreachable (or kept failing) after every retry."""


class TooManyRejectedError(TargetError):
    """More records were rejected than ``max_rejected_records`` allows."""


class DryRunWriteError(TargetError):
    """A write was attempted during a dry run (a bug: dry runs never write)."""


class BatchMessageError(TargetError):
    """A Singer BATCH message the target cannot read (another format, missing files)."""
