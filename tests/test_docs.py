"""The README and docs/ stay honest: what they name exists, and what exists is in them.

- docs/settings.md is what `make docs` generates from the plugins' `--about` (so it lists every
  setting with its default), and every setting meltano.yml declares is a setting of the plugin;
- `TAP_INTACCT_*` / `TARGET_MAILCHIMP_*` variables they name map to settings meltano.yml
  declares (Meltano ignores the others);
- every `make` target they name is in the Makefile, every `tap-*` / `target-*` command they run
  is a declared console script, the `meltano run` blocks and environments they use exist, the
  `target-mailchimp-report` options they pass exist;
- every error message the troubleshooting tables quote occurs in the source of the program
  that raises it (string literals read with `ast`, so messages split over several literals or
  around f-string values are still found);
- the `meltano schedule list` line docs/operations.md quotes is what Meltano prints;
- links between the pages and to their sections resolve, the README stays short, and the
  package READMEs name their distribution, commands and extras.
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import json
import os
import re
import shlex
import subprocess
import sys
import textwrap
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from singer_sdk.helpers import capabilities as sdk_capabilities

from tap_intacct.tap import TapIntacct
from target_mailchimp.report.cli import build_parser
from target_mailchimp.target import TargetMailchimp
from tests import docs_settings

REPO_ROOT = Path(__file__).resolve().parents[1]
README = REPO_ROOT / "README.md"
DOCS = REPO_ROOT / "docs"
#: The README and the pages of docs/, read together where a check is about all of them.
PAGES = (README, *sorted(DOCS.glob("*.md")))
README_MAX_BYTES = 15 * 1024
BIN = Path(sys.executable).parent

SDK_BUILTIN_SETTINGS = {
    name
    for value in vars(sdk_capabilities).values()
    if isinstance(value, dict) and isinstance(value.get("properties"), dict)
    for name in value["properties"]
}

PLUGINS = {
    "tap-intacct": TapIntacct,
    "target-mailchimp": TargetMailchimp,
}
ENV_PREFIXES = {"TAP_INTACCT_": "tap-intacct", "TARGET_MAILCHIMP_": "target-mailchimp"}
#: Variables the programs read themselves, not settings (debug output) -> the reading package.
PROGRAM_VARIABLES = {
    "TAP_INTACCT_DEBUG": "tap_intacct",
    "TAP_INTACCT_LOGLEVEL": "tap_intacct",
    "TARGET_MAILCHIMP_DEBUG": "target_mailchimp",
    "TARGET_MAILCHIMP_LOGLEVEL": "target_mailchimp",
}
#: "Raised by" column of the troubleshooting tables -> the package whose source raises it.
SOURCES = {
    "tap-intacct": "tap_intacct",
    "target-mailchimp": "target_mailchimp",
    "target-mailchimp-report": "target_mailchimp",
    "Singer SDK": "singer_sdk",
}
#: The package both plugins run besides their own (strict settings, one-line errors).
SHARED = "intacct_mailchimp_common"


# --------------------------------------------------------------------------- reading the pages


@dataclass(frozen=True)
class Section:
    title: str
    level: int
    body: str


def _sections(text: str) -> list[Section]:
    """Headings (outside fenced code) and the text up to the next heading of any level."""
    sections: list[Section] = []
    title, level = "", 0
    lines: list[str] = []
    fenced = False
    for line in text.splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        match = None if fenced else re.match(r"^(#{1,6}) (.+)$", line)
        if match:
            sections.append(Section(title, level, "\n".join(lines)))
            title, level, lines = match[2].strip(), len(match[1]), []
        else:
            lines.append(line)
    sections.append(Section(title, level, "\n".join(lines)))
    return sections


def all_text() -> str:
    """The README and every page of docs/, one after the other."""
    return "\n\n".join(page.read_text("utf-8") for page in PAGES)


def _section(title: str, page: Path = README) -> Section:
    found = [s for s in _sections(page.read_text("utf-8")) if s.title == title]
    assert len(found) == 1, f"{page.name} needs exactly one section titled {title!r}"
    return found[0]


def _subsections(title: str, page: Path) -> list[Section]:
    """The section `title` and every section below it, up to the next one of its level."""
    out: list[Section] = []
    inside: Section | None = None
    for section in _sections(page.read_text("utf-8")):
        if inside is None:
            if section.title == title:
                inside = section
                out.append(section)
        elif section.level <= inside.level:
            break
        else:
            out.append(section)
    assert out, f"{page.name} has no section titled {title!r}"
    return out


def _split_row(line: str) -> list[str]:
    cells = re.split(r"(?<!\\)\|", line.strip().strip("|"))
    return [c.strip() for c in cells]


def _tables(body: str) -> Iterator[tuple[list[str], list[list[str]]]]:
    """(header, rows) of every markdown table in `body`."""
    lines = body.splitlines()
    i = 0
    while i < len(lines):
        if (
            lines[i].startswith("|")
            and i + 1 < len(lines)
            and re.match(r"^\|[\s:|-]+\|$", lines[i + 1].strip())
        ):
            header = _split_row(lines[i])
            rows = []
            i += 2
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(_split_row(lines[i]))
                i += 1
            yield header, rows
        else:
            i += 1


def _code_literal(cell: str) -> str | None:
    """The text of a cell that is exactly one `code span`, else None."""
    match = re.fullmatch(r"`([^`]+)`", cell.strip())
    return match[1] if match else None


FENCE = re.compile(r"^([ \t]*)```(\w*)\n(.*?)^[ \t]*```", re.M | re.S)


def fenced_blocks(text: str) -> list[tuple[str, str]]:
    """(language, content) of every fenced code block (also those indented in a list)."""
    return [(m[2], textwrap.dedent(m[3])) for m in FENCE.finditer(text)]


def inline_code(text: str) -> list[str]:
    without_fences = FENCE.sub("", text)
    return re.findall(r"`([^`\n]+)`", without_fences)


def shell_lines(text: str) -> list[str]:
    """Command lines: sh blocks line by line, plus inline code spans of several words (a
    lone word such as `tap-intacct-xmlgw` is a name, not a command)."""
    lines = []
    for lang, content in fenced_blocks(text):
        if lang in ("sh", "bash", "shell", "console"):
            for raw in content.splitlines():
                line = re.sub(r"\s+#.*$", "", raw).strip()
                if line and not line.startswith("#"):
                    lines.append(line)
    lines.extend(span for span in inline_code(text) if " " in span.strip())
    return lines


def commands(line: str) -> Iterator[list[str]]:
    """The simple commands of a shell line (split at |, &&, ;), env assignments dropped."""
    for part in re.split(r"\|\||&&|[|;]", line):
        try:
            words = shlex.split(part)
        except ValueError:
            continue
        while words and re.match(r"^[A-Za-z_][A-Za-z0-9_]*=", words[0]):
            words.pop(0)
        if words:
            yield words


# --------------------------------------------------------------------------- the project


@functools.cache
def about(plugin: str) -> dict[str, Any]:
    out = subprocess.run(
        [str(BIN / plugin), "--about", "--format", "json"],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    settings: dict[str, Any] = json.loads(out)["settings"]
    return settings


@functools.cache
def meltano_project() -> dict[str, Any]:
    project: dict[str, Any] = yaml.safe_load((REPO_ROOT / "meltano.yml").read_text("utf-8"))
    return project


def meltano_plugin(plugin: str) -> dict[str, Any]:
    plugins = meltano_project()["plugins"]
    for entry in (*plugins.get("extractors", []), *plugins.get("loaders", [])):
        if entry["name"] == plugin:
            return dict(entry)
    raise AssertionError(f"meltano.yml does not declare {plugin}")


def meltano_settings(plugin: str) -> set[str]:
    return {s["name"] for s in meltano_plugin(plugin).get("settings", [])}


def makefile_targets() -> set[str]:
    """Rule names of the Makefile, file targets with their variables expanded."""
    text = (REPO_ROOT / "Makefile").read_text("utf-8")
    variables: dict[str, str] = dict(re.findall(r"^([A-Z_]+)\s*:=\s*(\S+)", text, re.M))

    def expand(value: str) -> str:
        for _ in range(3):  # variables defined through other variables
            value = re.sub(r"\$\((\w+)\)", lambda m: variables.get(m[1], m[0]), value)
        return value

    names = {
        name
        for m in re.finditer(r"^([A-Za-z0-9_.$() /-]+?)\s*::?(?!=)", text, re.M)
        for name in m[1].split()
    }
    return {expand(n) for n in names}


def console_scripts() -> set[str]:
    scripts: set[str] = set()
    for folder in ("tap-intacct", "target-mailchimp"):
        data = tomllib.loads((REPO_ROOT / folder / "pyproject.toml").read_text("utf-8"))
        scripts.update(data["project"].get("scripts", {}))
    return scripts


@functools.cache
def source_strings(package: str) -> tuple[str, ...]:
    """Every string literal of a package's source; f-string values become NUL."""
    spec = importlib.util.find_spec(package)
    assert spec is not None and spec.submodule_search_locations, package
    root = Path(next(iter(spec.submodule_search_locations)))
    found: list[str] = []
    for path in sorted(root.rglob("*.py")):
        tree = ast.parse(path.read_text("utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found.append(node.value)
            elif isinstance(node, ast.JoinedStr):
                found.append(
                    "".join(
                        str(v.value) if isinstance(v, ast.Constant) else "\0" for v in node.values
                    )
                )
    return tuple(found)


def in_source(package: str, message: str) -> bool:
    return any(message in text for text in source_strings(package))


# --------------------------------------------------------------------------- settings


def test_settings_page_is_what_make_docs_generates() -> None:
    committed = (DOCS / "settings.md").read_text("utf-8")
    assert committed == docs_settings.render(), (
        "docs/settings.md is not what the plugins' --about says: run `make docs` and commit it"
    )


@pytest.mark.parametrize("plugin", sorted(PLUGINS))
def test_the_settings_page_lists_every_setting_of_the_plugin(plugin: str) -> None:
    page = _section(plugin, DOCS / "settings.md").body
    listed = {row[0] for header, rows in _tables(page) if header[:1] == ["Setting"] for row in rows}
    own = set(PLUGINS[plugin].config_jsonschema["properties"]) - SDK_BUILTIN_SETTINGS
    assert own, plugin
    assert own <= listed, f"{plugin} settings missing from docs/settings.md: {own - listed}"
    for name in own:
        assert _about_row(plugin, name) is not None


def _about_row(plugin: str, name: str) -> dict[str, Any] | None:
    spec: dict[str, Any] | None = about(plugin)["properties"].get(name)
    return spec


@pytest.mark.parametrize("plugin", sorted(PLUGINS))
def test_meltano_settings_are_settings_of_the_plugin(plugin: str) -> None:
    declared = meltano_settings(plugin)
    assert declared, f"meltano.yml declares no settings for {plugin}"
    unknown = sorted(n for n in declared if _about_row(plugin, n) is None)
    assert not unknown, f"meltano.yml declares {plugin} settings the plugin does not: {unknown}"
    page = (DOCS / "settings.md").read_text("utf-8")
    missing = sorted(n for n in declared if f"| {n} |" not in page)
    assert not missing, f"meltano.yml settings of {plugin} missing from docs/settings.md: {missing}"


def test_readme_stays_short() -> None:
    size = len(README.read_bytes())
    assert size <= README_MAX_BYTES, (
        f"README.md is {size} bytes; keep it under {README_MAX_BYTES} and move detail to docs/"
    )


def test_environment_variables_name_settings_meltano_declares() -> None:
    text = all_text()
    names = set(re.findall(r"\b((?:TAP_INTACCT|TARGET_MAILCHIMP)_[A-Z0-9_]*[A-Z0-9])\b", text))
    assert names, "the docs show no TAP_INTACCT_* / TARGET_MAILCHIMP_* variable"
    for name in sorted(names):
        prefix = next(p for p in ENV_PREFIXES if name.startswith(p))
        if name in PROGRAM_VARIABLES:
            # Not a setting: the program reads it itself (its name is in its source).
            assert in_source(PROGRAM_VARIABLES[name], name), f"{name} is read by nothing"
            continue
        plugin = ENV_PREFIXES[prefix]
        setting = name.removeprefix(prefix).lower()
        assert setting in meltano_settings(plugin), (
            f"the docs use {name}, but meltano.yml declares no {plugin} setting {setting!r}, "
            "so Meltano would ignore the variable"
        )


# --------------------------------------------------------------------------- commands


def test_make_targets_exist() -> None:
    text = all_text()
    code = "\n".join([c for _, c in fenced_blocks(text)] + inline_code(text))
    named = set(re.findall(r"(?<![\w-])make ([a-z.][\w./-]*[\w])", code))
    assert {"demo", "test"} <= named
    missing = sorted(named - makefile_targets())
    assert not missing, f"the docs name make targets the Makefile lacks: {missing}"


def test_demo_and_test_come_first() -> None:
    text = README.read_text("utf-8")
    first_block = fenced_blocks(text)[0][1]
    assert re.findall(r"^make (\w+)", first_block, re.M) == ["demo", "test"]
    assert text.index(first_block) < text.index("## Contents")


def test_console_commands_are_declared_scripts() -> None:
    scripts = console_scripts()
    used = set()
    for line in shell_lines(all_text()):
        for words in commands(line):
            program = Path(words[0]).name
            if re.match(r"^(tap|target)-", program):
                used.add(program)
    assert {"tap-intacct", "target-mailchimp", "target-mailchimp-report"} <= used
    undeclared = sorted(used - scripts)
    assert not undeclared, f"the docs run commands no package declares: {undeclared}"
    for script in used:
        assert (BIN / script).exists(), f"{script} is declared but not installed in {BIN}"


def _readme_environments(text: str) -> set[str]:
    names: set[str] = set()
    for lang, content in fenced_blocks(text):
        if lang == "yaml" and "environments:" in content:
            data = yaml.safe_load(content)
            names.update(e["name"] for e in data.get("environments", []))
    return names


def _documented_plugins(text: str) -> set[str]:
    """Plugins the docs themselves tell the reader to add (`plugins:` YAML blocks)."""
    names: set[str] = set()
    for lang, content in fenced_blocks(text):
        if lang == "yaml" and content.lstrip().startswith("plugins:"):
            data = yaml.safe_load(content)
            for kind in (data.get("plugins") or {}).values():
                names.update(p["name"] for p in kind or [])
    return names


def test_meltano_invocations_name_existing_blocks_and_environments() -> None:
    text = all_text()
    project = meltano_project()
    blocks = {p["name"] for kind in project["plugins"].values() for p in kind}
    blocks |= {j["name"] for j in project.get("jobs", [])} | _documented_plugins(text)
    environments = {e["name"] for e in project["environments"]} | _readme_environments(text)
    with_value = {"--environment", "--state-id-suffix", "--run-id", "--timeout", "--cwd"}
    seen_run = False
    for line in shell_lines(text):
        for words in commands(line):
            if Path(words[0]).name != "meltano":
                continue
            for i, word in enumerate(words):
                if word.startswith("--environment="):
                    assert word.split("=", 1)[1] in environments, line
                elif word == "--environment":
                    assert words[i + 1] in environments, line
            if "run" not in words:
                continue
            seen_run = True
            args = words[words.index("run") + 1 :]
            skip = False
            for word in args:
                if skip:
                    skip = False
                elif word in with_value:
                    skip = True
                elif word.startswith(">") or word[:1].isdigit():
                    break
                elif not word.startswith("-"):
                    assert word in blocks, f"`{line}`: meltano.yml has no plugin or job {word!r}"
    assert seen_run
    for match in re.finditer(r"MELTANO_ENVIRONMENT=(\w+)", text):
        assert match[1] in environments


def test_report_options_exist() -> None:
    options = {opt for action in build_parser()._actions for opt in action.option_strings if opt}
    text = all_text()
    used: set[str] = set()
    for line in shell_lines(text):
        for words in commands(line):
            if Path(words[0]).name == "target-mailchimp-report":
                used.update(w.split("=", 1)[0] for w in words[1:] if w.startswith("--"))
    used |= set(
        re.findall(
            r"`(--[a-z-]+)[ `]",
            _section(
                "The audit trail, the run summary and the report", DOCS / "how-it-works.md"
            ).body,
        )
    )
    assert used, "the docs show no target-mailchimp-report option"
    unknown = sorted(used - options)
    assert not unknown, f"target-mailchimp-report has no options {unknown}"


def test_schedule_list_output_is_quoted_as_meltano_prints_it(tmp_path: Path) -> None:
    body = _section("Meltano project", DOCS / "operations.md").body
    quoted = re.search(r"^# (\[@\w+\] job .+)$", body, re.M)
    assert quoted, "docs/operations.md quotes no `meltano schedule list` output"
    env = {
        **os.environ,
        "MELTANO_DATABASE_URI": f"sqlite:///{tmp_path / 'meltano.db'}",
        "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    out = subprocess.run(
        [str(BIN / "meltano"), "schedule", "list"],
        cwd=REPO_ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    assert quoted[1] in out.splitlines()
    for schedule in meltano_project()["schedules"]:
        assert f"`{schedule['name']}`" in all_text()


# --------------------------------------------------------------------------- troubleshooting


def troubleshooting_messages() -> list[tuple[str, str]]:
    """(message, package) of every row of the troubleshooting tables."""
    out = []
    for section in _subsections("Troubleshooting", DOCS / "troubleshooting.md"):
        for header, rows in _tables(section.body):
            by = header.index("Raised by") if "Raised by" in header else None
            for row in rows:
                message = _code_literal(row[0])
                assert message, f"troubleshooting row without a `quoted message`: {row}"
                raised_by = row[by] if by is not None else "target-mailchimp"
                assert raised_by in SOURCES, f"unknown 'Raised by' {raised_by!r} in {row}"
                out.append((message, SOURCES[raised_by]))
    return out


def test_troubleshooting_covers_both_plugins() -> None:
    packages = {package for _, package in troubleshooting_messages()}
    assert {"tap_intacct", "target_mailchimp"} <= packages


@pytest.mark.parametrize(("message", "package"), troubleshooting_messages())
def test_troubleshooting_message_occurs_in_source(message: str, package: str) -> None:
    packages = [package] if package == "singer_sdk" else [package, SHARED]
    assert any(in_source(p, message) for p in packages), (
        f"docs/troubleshooting.md quotes {message!r} as raised by {package}, but no string in "
        "its source holds it"
    )


def test_source_scan_finds_split_literals_and_not_made_up_text() -> None:
    # The message below is two literals and an f-string value in ledger/lock.py.
    assert in_source("target_mailchimp", "Two runs must not write to one ledger at the same time")
    assert not in_source("target_mailchimp", "this sentence is in no source file")


@pytest.mark.parametrize("folder", ["intacct-mailchimp-common", "tap-intacct", "target-mailchimp"])
def test_package_readmes_name_the_distribution_and_extras(folder: str) -> None:
    project = tomllib.loads((REPO_ROOT / folder / "pyproject.toml").read_text("utf-8"))["project"]
    text = (REPO_ROOT / folder / "README.md").read_text("utf-8")
    assert project["readme"] == "README.md"
    assert f"`{project['name']}`" in text
    for script in project.get("scripts", {}):
        assert f"`{script}`" in text, f"{folder}/README.md does not name the command {script}"
    for extra in project.get("optional-dependencies", {}):
        assert f"[{extra}]" in text, f"{folder}/README.md does not mention the [{extra}] extra"
    assert "README.md" in text  # points to the project README


def _slug(title: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", title.lower().replace("`", ""))
    return text.replace(" ", "-")


LINK = re.compile(r"\]\(([^)\s]*)\)")


def _anchors(page: Path) -> set[str]:
    return {_slug(s.title) for s in _sections(page.read_text("utf-8")) if s.title}


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_links_between_pages_and_to_sections_resolve(page: Path) -> None:
    broken = []
    for target in LINK.findall(page.read_text("utf-8")):
        if re.match(r"^[a-z]+:", target):
            continue  # an outside address, not checked
        path_part, _, anchor = target.partition("#")
        linked = (page.parent / path_part).resolve() if path_part else page
        if not linked.exists() or (
            anchor and linked.suffix == ".md" and anchor not in _anchors(linked)
        ):
            broken.append(target)
    assert not broken, f"{page.name} links to what does not exist: {broken}"


def test_readme_contents_list_every_section_and_docs_every_page() -> None:
    text = README.read_text("utf-8")
    contents = re.findall(r"\]\(#([^)]+)\)", _section("Contents").body)
    listed = {_slug(s.title) for s in _sections(text) if s.level == 2 and s.title != "Contents"}
    assert listed <= set(contents), f"sections missing from Contents: {listed - set(contents)}"
    index = _section("Documentation").body
    unlisted = sorted(p.name for p in DOCS.glob("*.md") if f"(docs/{p.name})" not in index)
    assert not unlisted, f"docs pages missing from the README's Documentation list: {unlisted}"
