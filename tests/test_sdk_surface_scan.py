"""The private-SDK-name scan the tap's and the target's `test_sdk_surface` share
(`tests/sdk_surface_support.py`) reports each kind of use it is meant to: planted here, one of
each, next to uses it must leave alone (the plugins' documented overrides, a class's own
private names)."""

from __future__ import annotations

from tests.sdk_surface_support import private_sdk_uses, sdk_private_names

#: The plugins' documented overrides, as the planted sources name them.
ALLOWED = {
    ("IntacctStream", "_increment_stream_state"),
    ("TargetMailchimp", "_write_state_message"),
}

PLANTED = {
    "tap.py": (
        "from singer_sdk.helpers._util import utc_now\n"
        "from singer_sdk.streams import _state\n"
        "import singer_sdk._logging\n"
        "from singer_sdk import Stream\n"
        "class S(Stream):\n"
        "    def _write_record_message(self, record): super()._anything(record)\n"
        "    def metadata(self): return self._tap_input_catalog\n"
        "    def _increment_stream_state(self, latest_record, *, context=None): pass\n"
        "class IntacctStream(S):\n"
        "    def _increment_stream_state(self, latest_record, *, context=None): pass\n"
        "    def _own_helper(self): return self._own_attribute\n"
        "def read(stream): return stream._tap\n"
        "class Client:\n"
        "    def __init__(self, config): self._config = config\n"
        "    def _check_sorted(self): return self._config\n"
    ),
    "target.py": (
        "from singer_sdk import Target\n"
        "from singer_sdk.plugin_base import _ConfigInput\n"
        "from singer_sdk.helpers._util import utc_now\n"
        "class T(Target):\n"
        "    def _process_record_message(self, m):\n"
        "        return self._sinks_active\n"
        "    def _write_state_message(self, state):\n"
        "        super()._write_state_message(state)\n"
        "class TargetMailchimp(T):\n"
        "    def _write_state_message(self, state):\n"
        "        super()._write_state_message(state)\n"
        "    def drain_when_due(self):\n"
        "        self._write_state_message({})\n"
    ),
    "b.py": "def f(sink):\n    sink._validate_and_parse({})\n",
    "c.py": (
        "import singer_sdk\n"
        "class Mixin:\n"
        "    def due(self): return self._sinks_active\n"
        "class Sink(singer_sdk.sinks.BatchSink):\n"
        "    async def _singer_validate_message(self): pass\n"
    ),
}

#: Each planted use, and the kind it stands for.
EXPECTED = [
    # an SDK private member reached on any object outside our SDK classes
    "b.py:2: uses SDK's _validate_and_parse",
    # `self._x` in a class of ours not built on the SDK, that no such class defines (a mixin)
    "c.py:3: Mixin uses SDK's _sinks_active",
    # an (async) override in a class built on `singer_sdk.sinks.BatchSink` by its dotted name
    "c.py:5: Sink overrides SDK's _singer_validate_message",
    "tap.py:1: import from private SDK module singer_sdk.helpers._util",
    "tap.py:2: import of private SDK name _state from singer_sdk.streams",
    "tap.py:3: import of private SDK module singer_sdk._logging",
    "tap.py:6: S overrides SDK's _write_record_message",
    # anything through super(), even a name the SDK does not define
    "tap.py:6: S reaches super()._anything",
    "tap.py:7: S uses SDK's _tap_input_catalog",
    # an allowed override is allowed in its own class only
    "tap.py:8: S overrides SDK's _increment_stream_state",
    "tap.py:12: uses SDK's _tap",
    "target.py:2: import of private SDK name _ConfigInput from singer_sdk.plugin_base",
    "target.py:3: import from private SDK module singer_sdk.helpers._util",
    "target.py:5: T overrides SDK's _process_record_message",
    "target.py:6: T uses SDK's _sinks_active",
    "target.py:7: T overrides SDK's _write_state_message",
    "target.py:8: T reaches super()._write_state_message",
    # the overridden member called from elsewhere in the class the override allows
    "target.py:13: TargetMailchimp uses SDK's _write_state_message",
]


def test_the_scan_knows_the_sdk_private_names() -> None:
    names = sdk_private_names()
    assert {
        "_tap",
        "_write_state_message",
        "_generate_record_messages",
        "_process_record_message",
        "_sinks_active",
        "_MAX_RECORD_AGE_IN_MINUTES",
    } <= names


def test_the_scan_catches_each_kind_of_private_use() -> None:
    found = private_sdk_uses(PLANTED, sdk_private_names(), ALLOWED)
    # Left alone: the overrides in IntacctStream and TargetMailchimp with their super() call,
    # IntacctStream's own helper and attribute, Client's own _config.
    assert found == EXPECTED
