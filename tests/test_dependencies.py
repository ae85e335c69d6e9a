"""Each package (both plugins and the code they share) declares exactly what it imports.

The imports are read with `ast` from the package source (every `import x` and `from x import
y`, under `TYPE_CHECKING` too), mapped to the distributions that provide them with
`importlib.metadata.packages_distributions()`, and compared with the `[project]
dependencies` of the package's pyproject.toml:

- every third-party import is declared (else a clean install breaks on it);
- every declared dependency is imported (else it is dead weight, or a sign that the import
  moved and the declaration stayed);
- an SDK module that needs one of the SDK's extras (`singer_sdk.contrib.msgspec` needs
  msgspec) is only imported with that extra declared.

Optional extras (`[project.optional-dependencies]`) are drivers another library loads by name
(SQLAlchemy loads psycopg for a `postgresql+psycopg://` URL); they are listed below with
the reason, and must not be imported directly.

The tests' own third-party imports must be in requirements-dev.txt or in a plugin's
dependencies (tools run as commands, such as ruff or meltano, are not imported).
"""

from __future__ import annotations

import ast
import importlib.metadata
import re
import sys
import tomllib
from collections.abc import Iterable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: The project's distributions: folder -> package (the two plugins and the code they share).
PLUGINS = {
    "intacct-mailchimp-common": "intacct_mailchimp_common",
    "tap-intacct": "tap_intacct",
    "target-mailchimp": "target_mailchimp",
}
#: The project's own packages (intacct_fleet: the Dagster code location in orchestration/).
FIRST_PARTY = {"tap_intacct", "target_mailchimp", "tests", "intacct_fleet"}
#: Our packages that another of ours depends on, installed from the repository (editable
#: installs are not in `packages_distributions()`): package -> its distribution's name.
OWN_DISTRIBUTIONS = {"intacct_mailchimp_common": "intacct-mailchimp-common"}
#: Extras loaded by another library, never imported by our code: distribution -> why.
LOADED_BY_NAME = {"psycopg": "SQLAlchemy loads it for postgresql+psycopg:// ledger URLs"}
#: SDK modules that import an optional dependency of the SDK: module -> the extra.
SDK_EXTRAS = {"singer_sdk.contrib.msgspec": "msgspec"}


def normalize(name: str) -> str:
    """A distribution name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement(spec: str) -> tuple[str, set[str]]:
    """(normalized name, extras) of a requirement string such as `singer-sdk[msgspec]>=0.54`."""
    match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?", spec)
    assert match is not None, spec
    extras = {normalize(e) for e in (match[2] or "").split(",") if e.strip()}
    return normalize(match[1]), extras


def imported_modules(files: Iterable[Path]) -> set[str]:
    """Every absolute module name imported in ``files`` (``a.b`` for ``from a.b import c``)."""
    found: set[str] = set()
    for path in files:
        tree = ast.parse(path.read_text("utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module)
                found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def third_party(modules: Iterable[str]) -> set[str]:
    tops = {m.split(".")[0] for m in modules}
    return {t for t in tops if t not in sys.stdlib_module_names and t not in FIRST_PARTY}


_DISTRIBUTIONS = importlib.metadata.packages_distributions()


def distributions_of(tops: Iterable[str]) -> dict[str, str]:
    """Top-level module -> the (normalized) distribution that installs it."""
    out = {}
    for top in tops:
        if top in OWN_DISTRIBUTIONS:
            out[top] = OWN_DISTRIBUTIONS[top]
            continue
        dists = _DISTRIBUTIONS.get(top)
        assert dists, f"no installed distribution provides the module {top!r}"
        out[top] = normalize(dists[0])
    return out


def project(folder: str) -> dict[str, object]:
    data = tomllib.loads((ROOT / folder / "pyproject.toml").read_text("utf-8"))
    return dict(data["project"])


@pytest.mark.parametrize("folder", sorted(PLUGINS))
def test_declared_dependencies_are_exactly_the_imported_ones(folder: str) -> None:
    package = ROOT / folder / PLUGINS[folder]
    modules = imported_modules(package.rglob("*.py"))
    used = distributions_of(third_party(modules))
    meta = project(folder)
    declared = dict(requirement(spec) for spec in meta["dependencies"])  # type: ignore[attr-defined]

    undeclared = {top: dist for top, dist in used.items() if dist not in declared}
    assert not undeclared, f"{folder} imports {undeclared} without declaring them"
    unused = set(declared) - set(used.values())
    assert not unused, f"{folder} declares {sorted(unused)} but never imports them"

    for module, extra in SDK_EXTRAS.items():
        if module in modules:
            assert extra in declared["singer-sdk"], (
                f"{folder} imports {module}: declare singer-sdk[{extra}]"
            )

    optional = meta.get("optional-dependencies", {})
    for extra, specs in optional.items():  # type: ignore[attr-defined]
        for spec in specs:
            name, _ = requirement(spec)
            assert name in LOADED_BY_NAME, f"{folder}[{extra}] declares {name}: say why"
            assert name not in used.values(), f"{folder} imports its optional {name}"


def test_the_tests_imports_are_declared_for_development() -> None:
    lines = (ROOT / "requirements-dev.txt").read_text("utf-8").splitlines()
    dev = {requirement(line)[0] for line in lines if line.strip() and not line.startswith("#")}
    plugins = {
        requirement(spec)[0]
        for folder in PLUGINS
        for spec in project(folder)["dependencies"]  # type: ignore[attr-defined]
    }
    used = distributions_of(third_party(imported_modules((ROOT / "tests").rglob("*.py"))))
    missing = {top: dist for top, dist in used.items() if dist not in dev | plugins}
    assert not missing, f"the tests import {missing}: add them to requirements-dev.txt"


def test_the_check_sees_what_it_compares() -> None:
    # The comparison above could pass vacuously if the import scan found nothing.
    modules = imported_modules((ROOT / "target-mailchimp" / "target_mailchimp").rglob("*.py"))
    assert {"requests", "sqlalchemy", "singer_sdk"} <= third_party(modules)
    # The shared package counts as a dependency of each plugin, declared like any other.
    assert "intacct_mailchimp_common" in third_party(modules)
    assert requirement("singer-sdk[msgspec]>=0.54,<0.55") == ("singer-sdk", {"msgspec"})
    assert requirement("psycopg[binary]>=3.1,<4  # driver") == ("psycopg", {"binary"})
    assert distributions_of({"yaml"}) == {"yaml": "pyyaml"}


def test_the_shared_package_depends_on_neither_plugin() -> None:
    shared = ROOT / "intacct-mailchimp-common" / "intacct_mailchimp_common"
    tops = {m.split(".")[0] for m in imported_modules(shared.rglob("*.py"))}
    assert tops & {"singer_sdk", "jsonschema"}
    assert not tops & {"tap_intacct", "target_mailchimp"}
