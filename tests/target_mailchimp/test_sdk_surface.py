"""The target uses the Singer SDK through its public surface, but for one documented override.

`TargetMailchimp._write_state_message` is the only private SDK method the target overrides
(no public hook sees the STATE `drain_all` emits; see `target_mailchimp.target`). These tests
fail loudly when the SDK changes that method (its signature, or `drain_all` no longer
emitting through it), and when any other private SDK name appears in `target_mailchimp`: an
override or use of an SDK method or attribute whose name starts with one underscore, or an
import from a private SDK module or of a private SDK name.
"""

from __future__ import annotations

import ast
import inspect
from collections.abc import Iterable, Iterator
from pathlib import Path

import singer_sdk
from singer_sdk import Target

import target_mailchimp
from target_mailchimp.target import TargetMailchimp

PACKAGE = Path(target_mailchimp.__file__).parent
SDK = Path(singer_sdk.__file__).parent

#: The one override: (class, method) and the SDK's signature it was written against.
OVERRIDE = ("TargetMailchimp", "_write_state_message")
EXPECTED_SIGNATURE = "(self, state: 'dict') -> 'None'"


def _private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def sdk_private_names() -> set[str]:
    """Every private method, attribute and class attribute the SDK's source defines."""
    names: set[str] = set()
    for path in SDK.rglob("*.py"):
        tree = ast.parse(path.read_text("utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and _private(node.name):
                names.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                if _private(node.attr):
                    names.add(node.attr)
            elif isinstance(node, ast.ClassDef):
                for item in node.body:
                    targets = item.targets if isinstance(item, ast.Assign) else []
                    if isinstance(item, ast.AnnAssign):
                        targets = [item.target]
                    names.update(
                        t.id for t in targets if isinstance(t, ast.Name) and _private(t.id)
                    )
    return names


def _base_name(node: ast.expr) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def violations(sources: dict[str, str], sdk_names: set[str]) -> list[str]:
    """Private SDK names used in `sources` ({file name: source}), outside `OVERRIDE`."""
    trees = {name: ast.parse(text) for name, text in sources.items()}
    found: list[str] = []
    sdk_classes: set[str] = set()
    for file, tree in trees.items():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("singer_sdk"):
                module = node.module or ""
                if any(_private(part) for part in module.split(".")):
                    found.append(f"{file}:{node.lineno}: import from private module {module}")
                for alias in node.names:
                    if _private(alias.name):
                        found.append(f"{file}:{node.lineno}: import of private {alias.name}")
                    sdk_classes.add(alias.asname or alias.name)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.startswith("singer_sdk") and any(
                        _private(part) for part in alias.name.split(".")
                    ):
                        found.append(f"{file}:{node.lineno}: import of private {alias.name}")
    classes = [
        (file, node)
        for file, tree in trees.items()
        for node in ast.walk(tree)
        if isinstance(node, ast.ClassDef)
    ]
    # Classes of this package that derive from an SDK class, directly or through another.
    changed = True
    while changed:
        changed = False
        for _file, cls in classes:
            if cls.name not in sdk_classes and any(_base_name(b) in sdk_classes for b in cls.bases):
                sdk_classes.add(cls.name)
                changed = True
    own_names: set[str] = set()
    for _file, cls in classes:
        if cls.name in sdk_classes:
            continue
        for node in ast.walk(cls):
            if isinstance(node, ast.FunctionDef) and _private(node.name):
                own_names.add(node.name)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                own_names.add(node.attr)
    allowed: set[int] = set()
    for file, cls in classes:
        if cls.name not in sdk_classes:
            continue
        for item in cls.body:
            if not isinstance(item, ast.FunctionDef) or item.name not in sdk_names:
                continue
            if (cls.name, item.name) == OVERRIDE:
                allowed.update(id(n) for n in ast.walk(item))
            else:
                found.append(f"{file}:{item.lineno}: {cls.name} overrides SDK's {item.name}")
    for file, cls in classes:
        if cls.name not in sdk_classes:
            continue
        for node in ast.walk(cls):
            if (
                isinstance(node, ast.Attribute)
                and node.attr in sdk_names
                and id(node) not in allowed
            ):
                found.append(f"{file}:{node.lineno}: {cls.name} uses SDK's {node.attr}")
    in_sdk_classes = {
        id(n) for _file, cls in classes if cls.name in sdk_classes for n in ast.walk(cls)
    }
    for file, tree in trees.items():
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and node.attr in sdk_names
                and node.attr not in own_names
                and id(node) not in in_sdk_classes
            ):
                found.append(f"{file}:{node.lineno}: uses SDK's {node.attr}")
    return found


def package_sources(files: Iterable[Path]) -> Iterator[tuple[str, str]]:
    for path in files:
        yield str(path.relative_to(PACKAGE.parent)), path.read_text("utf-8")


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
    sources = dict(package_sources(sorted(PACKAGE.rglob("*.py"))))
    assert violations(sources, sdk_private_names()) == []


def test_the_scan_finds_private_names() -> None:
    names = sdk_private_names()
    assert {"_process_record_message", "_sinks_active", "_MAX_RECORD_AGE_IN_MINUTES"} <= names
    planted = {
        "a.py": (
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
        ),
        "b.py": "def f(sink):\n    sink._validate_and_parse({})\n",
    }
    found = violations(planted, names)
    assert any("import of private _ConfigInput" in v for v in found)
    assert any("private module singer_sdk.helpers._util" in v for v in found)
    assert any("overrides SDK's _process_record_message" in v for v in found)
    assert any("uses SDK's _sinks_active" in v for v in found)
    assert any("T overrides SDK's _write_state_message" in v for v in found)
    assert not any("TargetMailchimp" in v for v in found)
    assert any(v.startswith("b.py:2: uses SDK's _validate_and_parse") for v in found)
