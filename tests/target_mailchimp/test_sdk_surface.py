"""The target uses the Singer SDK through its public surface, but for one documented override.

`TargetMailchimp._write_state_message` is the only private SDK method the target overrides
(no public hook sees the STATE `drain_all` emits; see `target_mailchimp.target`). These tests
fail loudly when the SDK changes that method (its signature, or `drain_all` no longer
emitting through it), and when any other private SDK name appears in `target_mailchimp`: an
override or use of an SDK method or attribute whose name starts with one underscore, or an
import from a private SDK module or of a private SDK name. The scan is the tap's too
(`tests/sdk_surface_support.py`; `tests/test_sdk_surface_scan.py` plants one use of each kind).
"""

from __future__ import annotations

import inspect
from pathlib import Path

from singer_sdk import Target

import target_mailchimp
from target_mailchimp.sinks.sink import MailchimpSink
from target_mailchimp.target import TargetMailchimp
from tests.sdk_surface_support import (
    package_sources,
    private_sdk_uses,
    sdk_derived_classes,
    sdk_private_names,
)

PACKAGE = Path(target_mailchimp.__file__).parent

#: The SDK classes the target builds on.
REACHED = (TargetMailchimp, MailchimpSink)

#: The one override: (class, method) and the SDK's signature it was written against.
OVERRIDE = ("TargetMailchimp", "_write_state_message")
EXPECTED_SIGNATURE = "(self, state: 'dict') -> 'None'"


def test_the_override_matches_the_sdk_method_it_replaces() -> None:
    assert str(inspect.signature(Target._write_state_message)) == EXPECTED_SIGNATURE, (
        "singer_sdk changed Target._write_state_message; review TargetMailchimp's override"
    )
    assert "self._write_state_message(" in inspect.getsource(Target.drain_all), (
        "singer_sdk's drain_all no longer emits STATE through _write_state_message: the "
        "target's dry run and duplicate-STATE rules would be skipped"
    )
    assert "_write_state_message" in vars(TargetMailchimp)
    assert getattr(TargetMailchimp._write_state_message, "__override__", False) is True


def test_no_other_private_sdk_name_is_used_in_the_package() -> None:
    names = sdk_private_names(REACHED)
    assert {"_process_record_message", "_sinks_active", "_MAX_RECORD_AGE_IN_MINUTES"} <= names
    sources = package_sources(PACKAGE)
    assert {"TargetMailchimp", "MailchimpSink"} <= sdk_derived_classes(sources.values())
    assert private_sdk_uses(sources, names, {OVERRIDE}) == []


def test_the_documented_override_is_the_only_private_use() -> None:
    # Without its allowance the scan finds the override (and its call of the SDK's method)
    # and nothing else: the allowance is still needed, and covers no other use.
    found = private_sdk_uses(package_sources(PACKAGE), sdk_private_names(REACHED))
    assert {use.split(": ", 1)[1] for use in found} == {
        "TargetMailchimp overrides SDK's _write_state_message",
        "TargetMailchimp reaches super()._write_state_message",
    }
