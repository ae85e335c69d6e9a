"""One scan of a package's source for private Singer SDK names, for the tap's and the target's
`test_sdk_surface`.

A private name is one with a single leading underscore. The scan reports, in the sources of
one package (read with `ast`, never imported):

- an import from a private SDK module (`singer_sdk.helpers._util`), of a private SDK name
  (`from singer_sdk.streams import _state`) or of a private SDK module
  (`import singer_sdk._logging`);
- a private attribute reached through `super()`, wherever it is;
- in a class built on an SDK class (directly, through another class of the package, or as
  `singer_sdk.Stream`): a method whose name is a private SDK member (an override), and any
  `x._name` whose name is one (`self._tap_input_catalog`, `sink._validate_and_parse`);
- elsewhere: `x._name` whose name is a private SDK member (`stream._tap`), but for
  `self._name` in a class of ours when some class of ours that is not built on the SDK
  defines `_name` itself.

A plugin's documented override, `(class, member)`, is allowed: its definition in that class,
and the member reached from within it (`super()._write_state_message(state)`); a call of the
member from another method of the class is reported.

The private SDK members are read from the SDK's source (every private function, attribute
assigned anywhere and class attribute) and from the classes a plugin reaches (their private
members at run time, such as those a metaclass adds).
"""

from __future__ import annotations

import ast
from collections.abc import Collection, Iterable, Iterator, Mapping
from pathlib import Path

import singer_sdk

SDK = Path(singer_sdk.__file__).parent


def is_private(name: str) -> bool:
    return name.startswith("_") and not name.startswith("__")


def _is_sdk_module(module: str) -> bool:
    return module == "singer_sdk" or module.startswith("singer_sdk.")


def _in_sdk_source() -> Iterator[str]:
    for path in SDK.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                yield node.name
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                yield node.attr
            elif isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, ast.Assign):
                        yield from (t.id for t in item.targets if isinstance(t, ast.Name))
                    elif isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name):
                        yield item.target.id


def sdk_private_names(reached: Iterable[type] = ()) -> set[str]:
    """Every private name the SDK's source defines, and the private members of the SDK
    classes among the bases of `reached` (the classes of ours and of the SDK a plugin uses)."""
    names = {name for name in _in_sdk_source() if is_private(name)}
    for cls in reached:
        for base in cls.__mro__:
            if _is_sdk_module(base.__module__):
                names.update(name for name in vars(base) if is_private(name))
    return names


def package_sources(package_dir: Path) -> dict[str, str]:
    """{path relative to the package's parent: source} for each module of the package."""
    return {
        str(path.relative_to(package_dir.parent)): path.read_text("utf-8")
        for path in sorted(package_dir.rglob("*.py"))
    }


def _sdk_imports(trees: Iterable[ast.Module]) -> tuple[set[str], set[str]]:
    """The names bound to things imported from the SDK, and those bound to SDK modules."""
    names: set[str] = set()
    modules: set[str] = set()
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and _is_sdk_module(node.module or ""):
                names.update(alias.asname or alias.name for alias in node.names)
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if _is_sdk_module(alias.name):
                        modules.add(alias.asname or alias.name.split(".")[0])
    return names, modules


def _root(node: ast.expr) -> ast.expr:
    while isinstance(node, ast.Attribute | ast.Subscript):
        node = node.value
    return node


def _built_on(base: ast.expr, derived: set[str], sdk_modules: set[str]) -> bool:
    if isinstance(base, ast.Subscript):  # Generic-style bases: BatchSink[...]
        base = base.value
    if isinstance(base, ast.Name):
        return base.id in derived
    if isinstance(base, ast.Attribute):  # streams.IntacctStream, singer_sdk.Stream
        root = _root(base)
        return base.attr in derived or (isinstance(root, ast.Name) and root.id in sdk_modules)
    return False


def sdk_derived_classes(sources: Iterable[str]) -> set[str]:
    """Names of the classes in `sources` built on an SDK class (directly or through another of
    them), with the names imported from the SDK: those whose `self._x` may be the SDK's."""
    trees = [ast.parse(source) for source in sources]
    derived, sdk_modules = _sdk_imports(trees)
    classes = [n for tree in trees for n in ast.walk(tree) if isinstance(n, ast.ClassDef)]
    grew = True
    while grew:
        grew = False
        for node in classes:
            if node.name not in derived and any(
                _built_on(base, derived, sdk_modules) for base in node.bases
            ):
                derived.add(node.name)
                grew = True
    return derived


def _import_uses(tree: ast.Module) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and _is_sdk_module(node.module or ""):
            module = node.module or ""
            if any(is_private(part) for part in module.split(".")):
                yield node.lineno, f"import from private SDK module {module}"
            for alias in node.names:
                if is_private(alias.name):
                    yield node.lineno, f"import of private SDK name {alias.name} from {module}"
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if _is_sdk_module(alias.name) and any(
                    is_private(part) for part in alias.name.split(".")
                ):
                    yield node.lineno, f"import of private SDK module {alias.name}"


def _enclosing_classes(tree: ast.Module) -> dict[ast.AST, list[str]]:
    """For each node inside a class, the classes around it, innermost last."""
    enclosing: dict[ast.AST, list[str]] = {}

    def visit(node: ast.AST, classes: list[str]) -> None:
        for child in ast.iter_child_nodes(node):
            inner = [*classes, child.name] if isinstance(child, ast.ClassDef) else classes
            if inner:
                enclosing[child] = inner
            visit(child, inner)

    visit(tree, [])
    return enclosing


def _own_private_names(trees: Iterable[ast.Module], derived: set[str]) -> set[str]:
    """Private names the classes of ours that are not built on the SDK define themselves."""
    names: set[str] = set()
    for tree in trees:
        for cls in ast.walk(tree):
            if not isinstance(cls, ast.ClassDef) or cls.name in derived:
                continue
            for node in ast.walk(cls):
                if isinstance(node, ast.FunctionDef):
                    names.add(node.name)
                elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                    names.add(node.attr)
    return {name for name in names if is_private(name)}


def _is_super_call(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "super"
    )


def _own_on_self(node: ast.Attribute, own: set[str]) -> bool:
    """`self._x` where `_x` is a private name a class of ours defines itself."""
    return isinstance(node.value, ast.Name) and node.value.id == "self" and node.attr in own


def _member_uses(
    tree: ast.Module,
    sdk_names: set[str],
    derived: set[str],
    own: set[str],
    allowed: Collection[tuple[str, str]],
) -> Iterator[tuple[int, str]]:
    enclosing = _enclosing_classes(tree)
    # Inside an allowed override, the member it overrides (for its `super()._member(...)`).
    in_override: dict[ast.AST, str] = {}
    for node in ast.walk(tree):
        classes = enclosing.get(node, [])
        if (
            isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
            and classes
            and (classes[-1], node.name) in allowed
        ):
            in_override.update((inner, node.name) for inner in ast.walk(node))
    for node in ast.walk(tree):
        classes = enclosing.get(node, [])
        owner = classes[-1] if classes else ""
        on_sdk_class = any(name in derived for name in classes)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            if on_sdk_class and node.name in sdk_names and (owner, node.name) not in allowed:
                yield node.lineno, f"{owner} overrides SDK's {node.name}"
        elif isinstance(node, ast.Attribute) and is_private(node.attr):
            if in_override.get(node) == node.attr:
                continue
            where = f"{owner} " if owner else ""
            if _is_super_call(node.value):
                yield node.lineno, f"{where}reaches super().{node.attr}"
            elif node.attr in sdk_names and (on_sdk_class or not _own_on_self(node, own)):
                yield node.lineno, f"{where}uses SDK's {node.attr}"


def private_sdk_uses(
    sources: Mapping[str, str],
    sdk_names: set[str],
    allowed: Collection[tuple[str, str]] = (),
) -> list[str]:
    """Each use of a private SDK name in `sources` ({file: source}, one package) but for the
    `allowed` overrides ((class, member)), as `file:line: what`, in file and line order."""
    trees = {file: ast.parse(source) for file, source in sources.items()}
    derived = sdk_derived_classes(sources.values())
    own = _own_private_names(trees.values(), derived)
    found: list[tuple[str, int, str]] = []
    for file, tree in trees.items():
        found.extend((file, line, what) for line, what in _import_uses(tree))
        found.extend(
            (file, line, what)
            for line, what in _member_uses(tree, sdk_names, derived, own, allowed)
        )
    return [f"{file}:{line}: {what}" for file, line, what in sorted(found)]
