"""meltano.yml declares every setting the plugins have, so each can be set from the environment.

Meltano passes TAP_INTACCT_* / TARGET_MAILCHIMP_* variables only for settings it knows about;
a setting missing from meltano.yml silently ignores its variable.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO_ROOT = Path(__file__).resolve().parents[1]
# SDK features the plugins inherit but this project does not document or rely on.
SDK_EXTRAS = {
    "batch_config",
    "faker_config",
    "flattening_enabled",
    "flattening_max_depth",
    "flattening_max_key_length",
    "flattening_separator",
    "stream_map_config",
    "stream_maps",
    "add_record_metadata",
    "batch_size_rows",
    "load_method",
    "validate_records",
}


@pytest.mark.parametrize(
    ("module", "kind"), [("tap_intacct", "extractors"), ("target_mailchimp", "loaders")]
)
def test_every_plugin_setting_is_declared(module: str, kind: str) -> None:
    about = subprocess.run(
        [sys.executable, "-m", module, "--about", "--format", "json"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    every = set(json.loads(about)["settings"]["properties"])
    settings = every - SDK_EXTRAS
    project = yaml.safe_load((REPO_ROOT / "meltano.yml").read_text(encoding="utf-8"))
    declared = {s["name"] for s in project["plugins"][kind][0]["settings"]}
    assert settings - declared == set(), "settings missing from meltano.yml"
    assert declared - every == set(), "meltano.yml declares settings the plugin does not have"
