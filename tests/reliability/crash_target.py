"""target-mailchimp that drains every sink (and so emits STATE) every N records.

The real target emits the tap's STATE only after draining every sink: at the end of its
input, or when records have waited longer than the SDK's max record age (5 minutes). A
crash-resume test cannot wait 5 minutes per trial, so this entry point keeps the target
exactly as it is and only makes that periodic full drain happen every `CRASH_DRAIN_EVERY`
records (environment variable; default 50). A SIGKILL then often lands after some STATE was
emitted, and the next run resumes mid-stream from it, as it would after a long real run.

    python -m tests.reliability.crash_target --config target.json < singer-messages
"""

from __future__ import annotations

import os

from target_mailchimp.target import TargetMailchimp


class FrequentStateTarget(TargetMailchimp):
    """TargetMailchimp whose periodic full drain comes every N records, not every 5 minutes."""

    drain_every = int(os.environ.get("CRASH_DRAIN_EVERY", "50"))
    _records_seen = 0

    def _handle_max_record_age(self) -> None:
        self._records_seen += 1
        if self.drain_every > 0 and self._records_seen % self.drain_every == 0:
            self.drain_all()


if __name__ == "__main__":
    FrequentStateTarget.cli()
