"""The tap uses the SDK through its public surface, but for one documented override.

- ``IntacctStream._increment_stream_state`` is the one private SDK method the tap overrides
  (the per-page bookmark with its RECORDNO tie-breaker: no public hook serves, see its
  docstring). If the SDK changes that method's signature, the override may silently stop
  being called, and the bookmark would move per record again: the first test fails loudly.
- Every other use of a private SDK name is refused: an import from a private ``singer_sdk``
  module (``singer_sdk.helpers._util``) or of a private name, an attribute reached through
  ``super()``, or an attribute or method definition whose name is a private SDK member
  (``self._tap``, ``self._write_state_message``). The scan is the target's too
  (``tests/sdk_surface_support.py`` says what it reports and where it reads the SDK's private
  members; ``tests/test_sdk_surface_scan.py`` plants one use of each kind).
- Strict settings need no private hook either: the tap's constructor checks them after the
  SDK's own checks and before the streams are discovered (which may log in), and reports a
  setting both refuse with the strict reasons.
"""

from __future__ import annotations

import inspect
import sys
from pathlib import Path

import pytest
from singer_sdk import Stream
from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.exceptions import ConfigValidationError

import tap_intacct
from tap_intacct.gateway.errors import GatewayConnectionError
from tap_intacct.streams import IntacctStream
from tap_intacct.tap import TapIntacct
from tests.sdk_surface_support import (
    package_sources,
    private_sdk_uses,
    sdk_derived_classes,
    sdk_private_names,
)

PACKAGE = Path(tap_intacct.__file__).parent

#: The SDK classes the tap builds on or reaches: its bases, the writer, and the stream's state
#: manager (reached through the public ``Stream.state_manager``).
REACHED = (
    IntacctStream,
    TapIntacct,
    MsgSpecWriter,
    vars(sys.modules[Stream.__module__])["StreamStateManager"],
)

#: The private SDK members the tap defines or calls, each with why no public one serves:
#: (class of ours, member) -> reason.
ALLOWED: dict[tuple[str, str], str] = {
    ("IntacctStream", "_increment_stream_state"): (
        "the per-page bookmark with its RECORDNO tie-breaker: the SDK moves the bookmark per "
        "record here, and has no public hook to move it per page"
    ),
}

#: The expected signature of each overridden private SDK method, as the SDK defines it.
EXPECTED_SIGNATURES = {
    (Stream, "_increment_stream_state"): (
        "(self, latest_record: 'types.Record', *, context: 'types.Context | None' = None) -> 'None'"
    ),
}


def test_the_overridden_private_sdk_method_keeps_its_signature() -> None:
    for (base, name), expected in EXPECTED_SIGNATURES.items():
        actual = str(inspect.signature(getattr(base, name)))
        assert actual == expected, (
            f"singer_sdk changed {base.__name__}.{name}{actual} (expected {expected}): check "
            f"that the SDK still calls it once per record written, and update "
            f"IntacctStream.{name} to match"
        )
    ours = inspect.signature(IntacctStream._increment_stream_state)
    theirs = inspect.signature(Stream._increment_stream_state)
    assert list(ours.parameters) == list(theirs.parameters)
    assert [p.kind for p in ours.parameters.values()] == [
        p.kind for p in theirs.parameters.values()
    ]


def test_the_sdk_still_calls_the_override_once_per_record() -> None:
    # The SDK's record loop is what makes the override matter: it calls the method by name.
    source = inspect.getsource(Stream._sync_records)
    assert "self._increment_stream_state(record" in source


def test_no_other_private_sdk_name_is_used() -> None:
    sdk_private = sdk_private_names(REACHED)
    # The scan knows the names it must catch (else it would pass on anything).
    assert {"_tap", "_write_state_message", "_generate_record_messages"} <= sdk_private
    sources = package_sources(PACKAGE)
    assert {"IntacctStream", "CustomersStream", "TapIntacct"} <= sdk_derived_classes(
        sources.values()
    )
    problems = private_sdk_uses(sources, sdk_private, ALLOWED)
    assert not problems, "private SDK names used outside the documented override:\n" + (
        "\n".join(problems)
    )


def test_the_documented_override_is_the_only_private_use() -> None:
    # Without its allowance the scan finds the override and nothing else: the allowance is
    # still needed, and covers no other use.
    found = private_sdk_uses(package_sources(PACKAGE), sdk_private_names(REACHED))
    assert {use.split(": ", 1)[1] for use in found} == {
        "IntacctStream overrides SDK's _increment_stream_state"
    }


# --- strict settings without the SDK's private _validate_config ----------------------------

SETTINGS = {
    "sender_id": "sender",
    "sender_password": "sender-secret",
    "user_id": "user",
    "user_password": "user-secret",
    "company_id": "company",
    # Nothing listens here: a login attempt would fail with a connection error instead.
    "api_url": "http://127.0.0.1:9/ia/xml/xmlgw.phtml",
    "max_retries": 0,
    "include_custom_fields": True,  # discovery logs in to look the custom fields up
}


def test_a_refused_setting_stops_the_tap_before_its_streams_are_discovered() -> None:
    with pytest.raises(ConfigValidationError) as info:
        TapIntacct(config={**SETTINGS, "page_sise": 5})
    assert "tap-intacct settings refused" in str(info.value)
    assert "did you mean 'page_size'?" in " ".join(info.value.errors)
    # With good settings the same constructor discovers the streams, so it tries to log in.
    with pytest.raises(GatewayConnectionError):
        TapIntacct(config=SETTINGS)


def test_a_setting_the_sdk_refuses_too_gets_the_strict_reason_alone() -> None:
    with pytest.raises(ConfigValidationError) as info:
        TapIntacct(config={**SETTINGS, "page_size": 5000})
    assert "tap-intacct settings refused" in str(info.value)
    assert "page_size" in " ".join(info.value.errors)
    assert info.value.__suppress_context__  # the SDK's error is not printed after ours


def test_without_validation_the_tap_builds_offline() -> None:
    tap = TapIntacct(config={"page_sise": 5}, validate_config=False, setup_mapper=False)
    assert tap.refused_settings() is not None  # still known, only not raised
