"""Writes docs/settings.md from each plugin's own `--about` (run: `make docs`).

The plugins' declared settings are the one source: their names, defaults and descriptions come
from `--about --format=markdown`, and which of them are secret from `--about --format=json`.
tests/test_docs.py regenerates the page and fails when the committed one differs.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "settings.md"
BIN = Path(sys.executable).parent
PLUGINS = ("tap-intacct", "target-mailchimp")

PREFACE = """\
# Settings

Generated from each plugin's `--about` by `make docs`; do not edit by hand (a test compares).

Every setting can be given in a config JSON file (`--config`), or through Meltano
(`meltano config`, `meltano.yml`, or the `TAP_INTACCT_<SETTING>` / `TARGET_MAILCHIMP_<SETTING>`
variables of the settings meltano.yml declares). Secret settings are never logged and are
masked by Meltano. Below each plugin's own settings come the Singer SDK's standard ones (stream
maps, flattening, batch files): see the SDK's documentation. The target reads nested records
and flattened ones alike.
"""


def _about(plugin: str, fmt: str) -> str:
    return subprocess.run(
        [str(BIN / plugin), "--about", "--format", fmt],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout


def _settings_table(markdown: str) -> str:
    """The table under the `## Settings` heading of `--about --format=markdown`."""
    lines = markdown.splitlines()
    start = lines.index("## Settings") + 1
    table = []
    for line in lines[start:]:
        if line.startswith("|"):
            table.append(line)
        elif table:
            break
    if not table:
        raise ValueError("no settings table in the --about output")
    return "\n".join(table)


def render() -> str:
    parts = [PREFACE]
    for plugin in PLUGINS:
        settings = json.loads(_about(plugin, "json"))["settings"]
        secret = sorted(n for n, s in settings["properties"].items() if s.get("secret"))
        parts.append(f"## {plugin}\n")
        parts.append(_settings_table(_about(plugin, "markdown")) + "\n")
        if secret:
            names = ", ".join(f"`{n}`" for n in secret)
            parts.append(f"Secret: {names}.\n")
    return "\n".join(parts)


def main() -> None:
    PAGE.parent.mkdir(exist_ok=True)
    PAGE.write_text(render(), encoding="utf-8")
    print(f"wrote {PAGE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
