"""Strict settings for the tap and the target, checked for every setting each declares.

For every key of each plugin's config schema (its own settings and the SDK's built-ins it
declares): a valid value is accepted; the key with a typo is refused with "did you mean"
naming it; a value outside its declared range (or not one of its allowed values) is refused
with the range. And the plugins themselves stop before any request: the target with one line
and exit code 1, the tap with the SDK's config error.
"""

from __future__ import annotations

import copy
import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any, ClassVar

import pytest
from singer_sdk.exceptions import ConfigValidationError

from intacct_mailchimp_common.strict import plugin_settings_problems, settings_problems
from tap_intacct.tap import TapIntacct
from target_mailchimp.sinks import ConfigurationError
from target_mailchimp.target import TargetMailchimp

PLUGINS = {"tap-intacct": TapIntacct, "target-mailchimp": TargetMailchimp}


def _schema(plugin: str) -> dict[str, Any]:
    cls = PLUGINS[plugin]
    schema = copy.deepcopy(cls.config_jsonschema)
    cls.append_builtin_config(schema)
    return schema


def _settings() -> list[tuple[str, str]]:
    return [(plugin, key) for plugin in PLUGINS for key in sorted(_schema(plugin)["properties"])]


def _types(prop: dict[str, Any]) -> list[str]:
    kinds = prop.get("type", [])
    names = [kinds] if isinstance(kinds, str) else list(kinds)
    if not names and "anyOf" in prop:
        names = [t for sub in prop["anyOf"] for t in _types(sub)]
    return [n for n in names if n != "null"]


def _valid(prop: dict[str, Any]) -> Any:
    if prop.get("default") is not None:
        return prop["default"]
    if "enum" in prop:
        return next(v for v in prop["enum"] if v is not None)
    kind = (_types(prop) or ["string"])[0]
    if kind in ("integer", "number"):
        low = prop.get("minimum", prop.get("exclusiveMinimum", 0))
        return low + 1
    if prop.get("format") == "date-time":
        return "2024-01-01T00:00:00Z"
    return {"string": "x", "boolean": True, "object": {}, "array": []}[kind]


def _out_of_range(prop: dict[str, Any]) -> list[Any]:
    bad: list[Any] = []
    if "minimum" in prop:
        bad.append(prop["minimum"] - 1)
    if "exclusiveMinimum" in prop:
        bad.append(prop["exclusiveMinimum"])
    if "maximum" in prop:
        bad.append(prop["maximum"] + 1)
    if "exclusiveMaximum" in prop:
        bad.append(prop["exclusiveMaximum"])
    if "enum" in prop:
        bad.append("not-one-of-them")
    return bad


@pytest.mark.parametrize(("plugin", "key"), _settings())
def test_every_setting_is_accepted_with_a_valid_value(plugin: str, key: str) -> None:
    prop = _schema(plugin)["properties"][key]
    assert settings_problems({key: _valid(prop)}, _schema(plugin)) == []


@pytest.mark.parametrize(("plugin", "key"), _settings())
def test_every_setting_with_a_typo_is_refused_naming_it(plugin: str, key: str) -> None:
    typo = key + "s" if not key.endswith("s") else key[:-1] + "z"
    [problem] = settings_problems({typo: 1}, _schema(plugin))
    assert f"unknown setting {typo!r}" in problem
    assert f"did you mean {key!r}?" in problem


@pytest.mark.parametrize(("plugin", "key"), _settings())
def test_every_bounded_setting_refuses_values_out_of_range(plugin: str, key: str) -> None:
    prop = _schema(plugin)["properties"][key]
    for value in _out_of_range(prop):
        [problem] = settings_problems({key: value}, _schema(plugin))
        assert f"setting {key!r} must be" in problem, problem
        assert repr(value) in problem


def test_the_ranges_the_issue_names_are_declared() -> None:
    target = _schema("target-mailchimp")["properties"]
    assert target["max_concurrency"]["minimum"] == 1
    assert target["max_concurrency"]["maximum"] == 10
    for key in ("request_timeout", "batch_poll_interval", "batch_timeout"):
        assert target[key]["exclusiveMinimum"] == 0
    tap = _schema("tap-intacct")["properties"]
    for key in ("request_timeout", "session_refresh_minutes"):
        assert tap[key]["exclusiveMinimum"] == 0


def test_an_unknown_key_far_from_every_setting_gets_no_guess() -> None:
    [problem] = settings_problems({"zzqqxx": 1}, _schema("target-mailchimp"))
    assert "unknown setting 'zzqqxx'" in problem and "did you mean" not in problem


@pytest.mark.parametrize("value", ["refunded-ish", "Paid", ""])
def test_financial_status_map_values_must_be_mailchimp_statuses(value: str) -> None:
    [problem] = settings_problems(
        {"financial_status_map": {"Paid": value}}, _schema("target-mailchimp")
    )
    assert "financial_status_map['Paid']" in problem
    assert "'paid', 'pending', 'refunded', 'cancelled'" in problem
    assert (
        settings_problems(
            {"financial_status_map": {"Paid": "paid", "Voided": "cancelled"}},
            _schema("target-mailchimp"),
        )
        == []
    )


def test_meltano_and_sdk_keys_stay_accepted() -> None:
    target = {
        "stream_maps": {},
        "stream_map_config": {},
        "faker_config": {},
        "flattening_enabled": False,
        "flattening_max_depth": 1,
        "add_record_metadata": False,
        "load_method": "append-only",
        "validate_records": True,
        "batch_size_rows": 100,
    }
    assert settings_problems(target, _schema("target-mailchimp")) == []
    tap = {"stream_maps": {}, "flattening_enabled": False, "batch_config": {}, "faker_config": {}}
    assert settings_problems(tap, _schema("tap-intacct")) == []


TARGET_BASE = {"api_key": "0123456789abcdef-us1", "list_id": "L1", "ledger_url": "sqlite://"}
TAP_BASE = {
    "sender_id": "s",
    "sender_password": "sp",
    "user_id": "u",
    "user_password": "up",
    "company_id": "c",
    "api_url": "http://127.0.0.1:9/ia/xml/xmlgw.phtml",  # nothing listens: no request is made
}


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ({"status_if_neww": "pending"}, ["status_if_neww", "did you mean 'status_if_new'?"]),
        ({"max_concurrency": 0}, ["max_concurrency", "from 1 to 10", "got 0"]),
        ({"request_timeout": 0}, ["request_timeout", "more than 0", "got 0"]),
        ({"batch_poll_interval": -1}, ["batch_poll_interval", "more than 0"]),
    ],
)
def test_the_target_stops_on_a_bad_setting_before_reading_input(
    extra: dict[str, Any], words: list[str]
) -> None:
    with pytest.raises(ConfigurationError) as info:
        TargetMailchimp(config={**TARGET_BASE, **extra})
    for word in words:
        assert word in str(info.value)


@pytest.mark.parametrize(
    ("extra", "words"),
    [
        ({"page_sise": 100}, ["page_sise", "did you mean 'page_size'?"]),
        ({"request_timeout": 0}, ["request_timeout", "more than 0"]),
        ({"max_retries": -1}, ["max_retries", "at least 0"]),
        ({"session_refresh_minutes": 0}, ["session_refresh_minutes", "more than 0"]),
    ],
)
def test_the_tap_stops_on_a_bad_setting_before_any_request(
    extra: dict[str, Any], words: list[str]
) -> None:
    with pytest.raises(ConfigValidationError) as info:
        TapIntacct(config={**TAP_BASE, **extra})
    text = str(info.value) + " ".join(info.value.errors)
    for word in words:
        assert word in text


def test_the_target_command_says_one_line_and_exits_1(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({**TARGET_BASE, "status_if_neww": "pending"}))
    proc = subprocess.run(
        [sys.executable, "-m", "target_mailchimp", "--config", str(config)],
        input="",
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 1
    lines = [line for line in proc.stderr.splitlines() if "status_if_neww" in line]
    assert len(lines) == 1 and "did you mean 'status_if_new'?" in lines[0]
    assert "Traceback" not in proc.stderr


def test_the_tap_command_refuses_an_unknown_setting(tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text(json.dumps({**TAP_BASE, "page_sise": 5}))
    proc = subprocess.run(
        [sys.executable, "-m", "tap_intacct", "--config", str(config)],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode != 0
    assert "did you mean 'page_size'?" in proc.stderr
    assert proc.stdout == ""
    assert io.StringIO(proc.stderr).read().count("Traceback") == 0


class _Plugin:
    """A plugin as `plugin_settings_problems` sees it: no SDK needed."""

    config_jsonschema: ClassVar[dict[str, Any]] = {
        "properties": {"page_size": {"type": "integer", "minimum": 1, "maximum": 1000}}
    }

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config

    def append_builtin_config(self, config_jsonschema: dict[str, Any]) -> None:
        config_jsonschema["properties"]["stream_maps"] = {"type": ["object", "null"]}


def test_a_plugins_settings_are_checked_against_its_schema_with_the_builtins() -> None:
    plugin = _Plugin({"page_sise": 5, "page_size": 5000, "stream_maps": {}})
    schema, problems = plugin_settings_problems(plugin)
    assert sorted(schema["properties"]) == ["page_size", "stream_maps"]
    assert problems == settings_problems(plugin.config, schema)
    assert len(problems) == 2  # stream_maps is accepted: the built-ins were appended
    assert "unknown setting 'page_sise'; did you mean 'page_size'?" in problems[0]
    assert problems[1].startswith("setting 'page_size' must be a whole number from 1 to 1000")
    # The plugin's own schema is copied, not extended in place.
    assert sorted(_Plugin.config_jsonschema["properties"]) == ["page_size"]
    assert plugin_settings_problems(_Plugin({"page_size": 5})) == (schema, [])


def test_a_plugins_full_schema_is_its_class_schema_with_the_sdk_builtins() -> None:
    tap = TapIntacct(config={"page_sise": 5}, validate_config=False, setup_mapper=False)
    schema, problems = plugin_settings_problems(tap)
    assert schema == _schema("tap-intacct")
    assert problems == settings_problems({"page_sise": 5}, schema)
