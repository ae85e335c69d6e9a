"""The sandboxes stand on their own: nothing under tests/sandbox imports the product.

A sandbox states its own assumptions about the real API (with their source), so a wrong
assumption of the product is caught by at least one side. Importing the product's constants
would make the two agree by construction. Checked with `ast` over every module: no `import`
of tap_intacct, target_mailchimp or the code they share (intacct_mailchimp_common), and no
string naming them as a module (which `importlib.import_module` could load).
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

SANDBOX = Path(__file__).resolve().parent / "sandbox"
PRODUCT = ("tap_intacct", "target_mailchimp", "intacct_mailchimp_common")
_MODULE_TEXT = re.compile(rf"^(?:{'|'.join(PRODUCT)})(?:\.[A-Za-z_][A-Za-z0-9_]*)*$")


def product_references(source: str, filename: str = "<text>") -> list[str]:
    """Where ``source`` imports the product or names one of its modules in a string."""
    found = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if _MODULE_TEXT.match(node.value):
                found.append(f"line {node.lineno}: the string {node.value!r}")
            continue
        found += [
            f"line {node.lineno}: import {name}" for name in names if name.split(".")[0] in PRODUCT
        ]
    return found


def test_the_sandboxes_import_nothing_from_the_product() -> None:
    files = sorted(SANDBOX.rglob("*.py"))
    assert len(files) > 10  # both sandboxes, the launcher, the demo, the data generator
    problems = {
        str(path.relative_to(SANDBOX)): refs
        for path in files
        if (refs := product_references(path.read_text("utf-8"), str(path)))
    }
    assert not problems, f"the sandboxes use product code: {problems}"


def test_the_check_finds_every_way_in() -> None:
    assert product_references("import tap_intacct.gateway") != []
    assert product_references("from target_mailchimp.api import x") != []
    assert product_references("from intacct_mailchimp_common.logsafe import mask_url") != []
    assert product_references("x = 'intacct_mailchimp_common.strict'") != []
    assert product_references("importlib.import_module('tap_intacct.gateway.errors')") != []
    assert product_references("import tests.sandbox.intacct\nx = 'tap intacct'") == []
