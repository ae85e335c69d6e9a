"""No class of the three packages overrides a method the Singer SDK marks final.

The SDK marks the methods it keeps to itself with `typing.final` (the target's `drain_all`,
`drain_one`, `listen`, `process_lines`, the tap's `sync_all`, ...): overriding one works until
the SDK changes it. The packages act around them through public hooks instead (see
`target_mailchimp.target` and `tap_intacct.streams`). `typing.final` sets `__final__` on the
function (Python 3.11+), which is what this test reads, on every class of every module.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Iterator
from types import ModuleType

import intacct_mailchimp_common
import tap_intacct
import target_mailchimp

PACKAGES = (tap_intacct, target_mailchimp, intacct_mailchimp_common)


def modules(package: ModuleType) -> Iterator[ModuleType]:
    yield package
    for info in pkgutil.walk_packages(package.__path__, f"{package.__name__}."):
        if info.name.endswith("__main__"):
            continue
        yield importlib.import_module(info.name)


def _is_final(value: object) -> bool:
    for candidate in (value, getattr(value, "fget", None), getattr(value, "__func__", None)):
        if getattr(candidate, "__final__", False):
            return True
    return False


def final_overrides(cls: type) -> list[str]:
    """`Class.method` for each attribute of `cls` that overrides a final SDK attribute."""
    found = []
    for name in vars(cls):
        for base in cls.__mro__[1:]:
            if not base.__module__.startswith("singer_sdk") or name not in vars(base):
                continue
            if _is_final(vars(base)[name]):
                found.append(f"{cls.__module__}.{cls.__qualname__}.{name}")
            break
    return found


def package_classes() -> Iterator[type]:
    for package in PACKAGES:
        for module in modules(package):
            for _, cls in inspect.getmembers(module, inspect.isclass):
                if cls.__module__ == module.__name__:
                    yield cls


def test_no_method_the_sdk_marks_final_is_overridden() -> None:
    found = sorted({hit for cls in package_classes() for hit in final_overrides(cls)})
    assert not found, f"methods the SDK marks final are overridden: {found}"


def test_the_check_sees_a_final_override() -> None:
    from singer_sdk import Target

    assert _is_final(vars(Target)["drain_all"]), "the SDK no longer marks drain_all final"

    class Overrides(Target):
        name = "x"

        def drain_all(self, *, is_endofpipe: bool = False) -> None:  # type: ignore[misc]
            super().drain_all(is_endofpipe=is_endofpipe)

    assert final_overrides(Overrides) == [
        f"{__name__}.test_the_check_sees_a_final_override.<locals>.Overrides.drain_all"
    ]
