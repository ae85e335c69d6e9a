"""The tap uses the SDK through its public surface, but for one documented override.

- ``IntacctStream._increment_stream_state`` is the one private SDK method the tap overrides
  (the per-page bookmark with its RECORDNO tie-breaker: no public hook serves, see its
  docstring). If the SDK changes that method's signature, the override may silently stop
  being called, and the bookmark would move per record again: the first test fails loudly.
- Every other use of a private SDK name is refused: an import from a private ``singer_sdk``
  module (``singer_sdk.helpers._util``) or of a private name, an attribute reached through
  ``super()`` or an attribute or method definition whose name is a private member of an SDK
  class the tap builds on (``self._tap``, ``self._write_state_message``). The tap's source is
  read with ``ast``; the SDK's private members are read from the classes themselves and from
  the ``self._x = ...`` assignments of their source.
- Strict settings need no private hook either: the tap's constructor checks them after the
  SDK's own checks and before the streams are discovered (which may log in), and reports a
  setting both refuse with the strict reasons.
"""

from __future__ import annotations

import ast
import inspect
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from singer_sdk import Stream
from singer_sdk.contrib.msgspec import MsgSpecWriter
from singer_sdk.exceptions import ConfigValidationError

import tap_intacct
from tap_intacct.gateway.errors import GatewayConnectionError
from tap_intacct.streams import IntacctStream
from tap_intacct.tap import TapIntacct

PACKAGE = Path(tap_intacct.__file__).parent

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


def _is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _sdk_classes() -> Iterator[type]:
    """The SDK classes the tap builds on or reaches: its bases, the writer, and the stream's
    state manager (reached through the public ``Stream.state_manager``)."""
    state_manager = vars(sys.modules[Stream.__module__])["StreamStateManager"]
    for cls in (IntacctStream, TapIntacct, MsgSpecWriter, state_manager):
        for base in cls.__mro__:
            if base.__module__.startswith("singer_sdk"):
                yield base


def _self_assignments(cls: type) -> set[str]:
    """Names assigned as ``self._x = ...`` anywhere in the module that defines ``cls``."""
    tree = ast.parse(inspect.getsource(sys.modules[cls.__module__]))
    names = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.ctx, ast.Store)
            and isinstance(node.value, ast.Name)
            and node.value.id == "self"
        ):
            names.add(node.attr)
    return names


def sdk_private_members() -> set[str]:
    """Private members of the SDK classes the tap builds on (methods, properties, and the
    attributes their modules assign to ``self``)."""
    names: set[str] = set()
    for cls in set(_sdk_classes()):
        names.update(n for n in vars(cls) if _is_private(n))
        names.update(n for n in _self_assignments(cls) if _is_private(n))
    return names


def sdk_derived_classes(sources: list[str]) -> set[str]:
    """Names of the classes in ``sources`` built on an SDK class (directly or through another
    of them): those whose ``self._x`` may be the SDK's."""
    trees = [ast.parse(source) for source in sources]
    derived: set[str] = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("singer_sdk"):
                derived.update(alias.asname or alias.name for alias in node.names)
    classes = [n for tree in trees for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]
    grew = True
    while grew:
        grew = False
        for node in classes:
            bases = {b.id for b in node.bases if isinstance(b, ast.Name)}
            if node.name not in derived and bases & derived:
                derived.add(node.name)
                grew = True
    return derived


def private_sdk_uses(source: str, sdk_private: set[str], derived: set[str]) -> list[str]:
    """Each use of a private SDK name in ``source``, as ``line: what``: imports from private
    SDK modules or of private names; anything reached through ``super()`` of a class built
    on the SDK; ``self._x`` in such a class, or ``obj._x`` anywhere, where ``_x`` is an SDK
    class's private member; methods of such a class that override one."""
    tree = ast.parse(source)
    found: list[str] = []
    owners: dict[ast.AST, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef):
            for child in ast.walk(node):
                owners[child] = node.name  # the innermost class wins (walked last)
    for node in ast.walk(tree):
        owner = owners.get(node, "")
        on_sdk_class = owner in derived
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("singer_sdk"):
            module = node.module or ""
            if any(_is_private(part) for part in module.split(".")):
                found.append(f"{node.lineno}: from {module} import (a private SDK module)")
            found.extend(
                f"{node.lineno}: from {module} import {alias.name}"
                for alias in node.names
                if _is_private(alias.name)
            )
        elif isinstance(node, ast.Import):
            found.extend(
                f"{node.lineno}: import {alias.name} (a private SDK module)"
                for alias in node.names
                if alias.name.startswith("singer_sdk")
                and any(_is_private(part) for part in alias.name.split("."))
            )
        elif isinstance(node, ast.Attribute) and _is_private(node.attr):
            value = node.value
            via_super = (
                isinstance(value, ast.Call)
                and isinstance(value.func, ast.Name)
                and value.func.id == "super"
            )
            via_self = isinstance(value, ast.Name) and value.id == "self"
            sdk_member = node.attr in sdk_private and (on_sdk_class or not via_self)
            if (via_super or sdk_member) and (owner, node.attr) not in ALLOWED:
                found.append(f"{node.lineno}: .{node.attr}")
        elif (
            isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and on_sdk_class
            and node.name in sdk_private
            and (owner, node.name) not in ALLOWED
        ):
            found.append(f"{node.lineno}: def {node.name} (overrides a private SDK method)")
    return sorted(found, key=lambda use: int(use.split(":")[0]))


def test_no_other_private_sdk_name_is_used() -> None:
    sdk_private = sdk_private_members()
    # The scan knows the names it must catch (else it would pass on anything).
    assert {"_tap", "_write_state_message", "_generate_record_messages"} <= sdk_private
    paths = sorted(PACKAGE.rglob("*.py"))
    derived = sdk_derived_classes([path.read_text("utf-8") for path in paths])
    assert {"IntacctStream", "CustomersStream", "TapIntacct"} <= derived
    problems = []
    for path in paths:
        for use in private_sdk_uses(path.read_text("utf-8"), sdk_private, derived):
            problems.append(f"{path.relative_to(PACKAGE.parent)}:{use}")
    assert not problems, "private SDK names used outside the documented override:\n" + (
        "\n".join(problems)
    )


def test_the_scan_catches_each_kind_of_private_use() -> None:
    sdk_private = sdk_private_members()
    source = (
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
        "    def _check_sorted(self): return self._config\n"
    )
    found = private_sdk_uses(source, sdk_private, sdk_derived_classes([source]))
    assert [line.split(":")[0] for line in found] == ["1", "2", "3", "6", "6", "7", "8", "12"]


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
