"""What tap-intacct and target-mailchimp share: safe log lines, strict settings, one-line errors.

- `logsafe`: secrets masked and control characters escaped in every log record;
- `strict`: every setting known and in its declared range, before any request;
- `cli`: a failed run ends with one line naming the program, and exit code 1.
"""
